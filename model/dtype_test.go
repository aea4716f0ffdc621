package model

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/tformer/tformer/kernels"
)

// dtypeConfigs are the decoder families the narrow-weight paths must run:
// GPT-2 style (tied, learned positions, LayerNorm, GELU, biases), untied
// with ALBERT sharing and a factorized embedding (its E -> d projection and
// dense head), Llama (GQA, RoPE, SwiGLU, RMSNorm, no biases) and Gemma
// (√d embedding scale, 1+w gains, GeGLU), Qwen2-style qkv biases.
func dtypeConfigs(t *testing.T) map[string]Config {
	t.Helper()
	base := Config{Vocab: 97, DModel: 48, Layers: 2, Heads: 4, DFF: 96, MaxSeq: 16, Tie: true, Share: ShareNone, Groups: 1}
	out := map[string]Config{"gpt2": base}
	f := base
	f.Tie, f.Share, f.Groups, f.Layers, f.EmbedDim = false, ShareAll, 1, 3, 16
	out["untied-shared-factorized"] = f
	for _, fam := range []string{"llama", "gemma", "qwen2"} {
		c, err := base.Family(fam)
		if err != nil {
			t.Fatal(err)
		}
		c.KVHeads = 2
		if fam == "llama" {
			c.Tie = false
		}
		out[fam] = c
	}
	return out
}

// roundedTwin returns a float32 model with m's weights as dt stores them
// (each narrowed tensor rounded to bf16, or quantized to int8 and scaled
// back): the reference a converted model must reproduce up to the order of
// its float32 sums.
func roundedTwin(t *testing.T, m *Model, dt DType) *Model {
	t.Helper()
	r, err := New(m.Config)
	if err != nil {
		t.Fatal(err)
	}
	copy(r.Params, m.Params)
	for _, ti := range r.Layout.Tensors {
		if !Narrowed(ti) {
			continue
		}
		x := r.Params[ti.Offset : ti.Offset+ti.Size]
		switch dt {
		case BF16:
			h := make([]uint16, len(x))
			kernels.ToBF16(h, x)
			kernels.FromBF16(x, h)
		case Int8:
			rows, cols := ti.Shape[0], ti.Shape[1]
			q, s := make([]int8, len(x)), make([]float32, rows)
			if err := kernels.QuantizeInt8Rows(q, s, x, rows, cols); err != nil {
				t.Fatal(err)
			}
			kernels.DequantizeInt8Rows(x, q, s, rows, cols)
		}
	}
	return r
}

// closeLogits compares two logit rows within tol of their largest
// magnitude, returning the largest difference.
func closeLogits(t *testing.T, what string, got, want []float32, tol float64) float64 {
	t.Helper()
	var scale, worst float64
	for _, v := range want {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		worst = math.Max(worst, d)
		if !(d <= tol*(1+scale)) {
			t.Fatalf("%s: logit %d = %g, want %g", what, i, got[i], want[i])
		}
	}
	return worst
}

// TestQuantizeMatchesRoundedWeights: a model converted to bf16 or int8 gives
// the logits of the float32 model holding the rounded weights, through
// Forward (the widening GEMM path) and the Decoder (the matrix-vector
// path), for every family; the loss too; and it differs from the unrounded
// model (the weights really are narrow).
func TestQuantizeMatchesRoundedWeights(t *testing.T) {
	for name, c := range dtypeConfigs(t) {
		for _, dt := range []DType{BF16, Int8} {
			what := fmt.Sprintf("%s/%s", name, dt)
			orig, err := New(c)
			if err != nil {
				t.Fatal(err)
			}
			orig.Init(7)
			ref := roundedTwin(t, orig, dt)
			m, err := New(c)
			if err != nil {
				t.Fatal(err)
			}
			copy(m.Params, orig.Params)
			if err := m.Quantize(dt); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if m.Params != nil || m.Grads != nil || m.DType() != dt {
				t.Fatalf("%s: after Quantize Params %d, Grads %d, dtype %s", what, len(m.Params), len(m.Grads), m.DType())
			}
			if got, want := m.WeightBytes(), WeightBytes(c, dt); got != want {
				t.Errorf("%s: holds %d weight bytes, WeightBytes says %d", what, got, want)
			}
			b, T := 2, 8
			toks, tgts := make([]int32, b*T), make([]int32, b*T)
			for i := range toks {
				toks[i], tgts[i] = int32((i*37+5)%c.Vocab), int32((i*11+3)%c.Vocab)
			}
			lossM, err := m.Forward(toks, tgts, b, T)
			if err != nil {
				t.Fatal(err)
			}
			lossR, _ := ref.Forward(toks, tgts, b, T)
			lossO, _ := orig.Forward(toks, tgts, b, T)
			if d := math.Abs(float64(lossM - lossR)); d > 1e-5 {
				t.Errorf("%s: loss %g, rounded-weights model %g", what, lossM, lossR)
			}
			closeLogits(t, what+" forward", m.Logits(), ref.Logits(), 1e-5)
			diff := closeLogits(t, what+" forward vs unrounded", m.Logits(), orig.Logits(), 1)
			if diff == 0 || lossM == lossO {
				t.Errorf("%s: same logits as the unrounded model", what)
			}
			fwd := append([]float32(nil), m.Logits()[:T*c.Vocab]...)
			dm, dr := m.NewDecoder(), ref.NewDecoder()
			for p := 0; p < T; p++ {
				lm, err := dm.Step(toks[p])
				if err != nil {
					t.Fatal(err)
				}
				lr, _ := dr.Step(toks[p])
				closeLogits(t, fmt.Sprintf("%s decode pos %d", what, p), lm, lr, 1e-5)
				closeLogits(t, fmt.Sprintf("%s decode vs forward pos %d", what, p), lm, fwd[p*c.Vocab:(p+1)*c.Vocab], 1e-5)
			}
		}
	}
}

// TestQuantizeDecodeThreads: a converted model's decoding is bitwise the
// same on 1, 2 and 3 threads, and so is its batched forward.
func TestQuantizeDecodeThreads(t *testing.T) {
	c := Config{Vocab: 512, DModel: 128, Layers: 2, Heads: 4, DFF: 512, MaxSeq: 16, Tie: true, Share: ShareNone, Groups: 1}
	old := kernels.Threads()
	defer kernels.SetThreads(old)
	for _, dt := range []DType{BF16, Int8} {
		m, _ := New(c)
		m.Init(3)
		if err := m.Quantize(dt); err != nil {
			t.Fatal(err)
		}
		var first, firstFwd []float32
		toks := []int32{5, 300, 7, 511, 0, 42, 99, 1}
		for _, th := range []int{1, 2, 3} {
			kernels.SetThreads(th)
			dec := m.NewDecoder()
			var all []float32
			for _, tok := range toks {
				l, err := dec.Step(tok)
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, l...)
			}
			if _, err := m.Forward(toks, nil, 1, len(toks)); err != nil {
				t.Fatal(err)
			}
			fwd := append([]float32(nil), m.Logits()...)
			if first == nil {
				first, firstFwd = all, fwd
				continue
			}
			for i := range all {
				if math.Float32bits(all[i]) != math.Float32bits(first[i]) {
					t.Fatalf("%s threads %d: decode logit %d = %g, on 1 thread %g", dt, th, i, all[i], first[i])
				}
			}
			for i := range fwd {
				if math.Float32bits(fwd[i]) != math.Float32bits(firstFwd[i]) {
					t.Fatalf("%s threads %d: forward logit %d = %g, on 1 thread %g", dt, th, i, fwd[i], firstFwd[i])
				}
			}
		}
	}
}

// TestQuantizeRefuses: bad conversions give an error and change nothing;
// a converted model cannot be trained.
func TestQuantizeRefuses(t *testing.T) {
	c := Tiny()
	m, _ := New(c)
	m.Init(1)
	m.Param("attn.1.qkv.w")[5] = float32(math.Inf(1))
	if err := m.Quantize(Int8); err == nil || !strings.Contains(err.Error(), "Inf") {
		t.Errorf("Inf weight: %v", err)
	}
	if m.Params == nil || m.Grads == nil || m.DType() != F32 {
		t.Error("a failed Quantize changed the model")
	}
	if err := m.Quantize(DType(9)); err == nil {
		t.Error("unknown dtype: no error")
	}
	m.Init(1)
	if err := m.Quantize(BF16); err != nil {
		t.Fatal(err)
	}
	if err := m.Quantize(Int8); err == nil {
		t.Error("second Quantize: no error")
	}
	toks := []int32{1, 2, 3, 4}
	if _, err := m.Forward(toks, toks, 1, 4); err != nil {
		t.Fatal(err)
	}
	if err := m.Backward(); err == nil || !strings.Contains(err.Error(), "inference") {
		t.Errorf("Backward after Quantize: %v", err)
	}
	if m.Param("wte") != nil || m.Grad("wte") != nil {
		t.Error("Param/Grad of a converted model are not nil")
	}
	enc := Tiny()
	enc.Arch = ArchEncoder
	e, err := New(enc)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Quantize(BF16); err == nil {
		t.Error("bf16 encoder: no error")
	}
	if err := e.Quantize(F32); err != nil || e.Grads != nil || e.Params == nil {
		t.Errorf("f32 encoder: %v (grads %d, params %d)", err, len(e.Grads), len(e.Params))
	}
}

// TestWeightBytes counts by hand for GPT-2 small: the 124,439,808 tied
// parameters, of which the position table (1024·768) and the 12·(4·768 +
// 768·3 + 768 + 3072 + 768) + 2·768 vector values stay float32; int8 adds a
// scale per matrix row (50257 + 12·(3·768 + 768 + 3072 + 768)).
func TestWeightBytes(t *testing.T) {
	c := GPT2Small()
	const total = 124_439_808
	vec := int64(1024*768 + 12*(4*768+3*768+768+3072+768) + 2*768)
	mat := total - vec
	rows := int64(50257 + 12*(3*768+768+3072+768))
	for _, tc := range []struct {
		dt   DType
		want int64
	}{{F32, 4 * total}, {BF16, 2*mat + 4*vec}, {Int8, mat + 4*rows + 4*vec}} {
		if got := WeightBytes(c, tc.dt); got != tc.want {
			t.Errorf("%s: %d bytes, want %d", tc.dt, got, tc.want)
		}
	}
	for _, s := range []string{"f32", "FP32", "bf16", "bfloat16", "int8"} {
		if _, err := ParseDType(s); err != nil {
			t.Errorf("ParseDType(%q): %v", s, err)
		}
	}
	if _, err := ParseDType("fp16"); err == nil || !strings.Contains(err.Error(), "want f32, bf16 or int8") {
		t.Errorf("ParseDType(fp16): %v", err)
	}
}

package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tformer/tformer/kernels"
)

// prefillTol is the largest relative difference, max|a − b| / max|b| over
// a logits row or a cached layer, allowed between Prefill and the same
// tokens fed through Step. It is not zero because Prefill's products are
// GEMMs over the chunk's rows while Step's are matrix-vector products: each
// sums the same d (or d_ff) products in another order (k-blocked FMAs
// against a dot product's lanes), so every projection differs by a few
// float32 roundings (~1e-7 relative) that the layers carry forward. The
// widest difference measured over these configs is printed with -v.
const prefillTol = 1e-5

// prefillConfigs are the decoder families and sharing modes Prefill must
// serve, each small and with a context past two chunks.
func prefillConfigs() map[string]Config {
	base := Config{Vocab: 61, DModel: 32, Layers: 3, Heads: 4, DFF: 48, MaxSeq: PrefillChunk + 24, Tie: true, Share: ShareNone, Groups: 1}
	fam := func(family string, edit func(*Config)) Config {
		c, err := base.Family(family)
		if err != nil {
			panic(err)
		}
		edit(&c)
		return c
	}
	return map[string]Config{
		"gpt2/tied":                      base,
		"gpt2/untied/share-all":          fam("gpt2", func(c *Config) { c.Tie, c.Share, c.Groups = false, ShareAll, 1 }),
		"gpt2/factorized-e16/share-ffn":  fam("gpt2", func(c *Config) { c.EmbedDim, c.Share, c.Groups, c.Layers = 16, ShareFFN, 2, 4 }),
		"llama/gqa/hd12/untied":          fam("llama", func(c *Config) { c.KVHeads, c.DHead, c.Tie = 2, 12, false }),
		"llama/mqa/share-attention-g2":   fam("llama", func(c *Config) { c.KVHeads, c.Share, c.Groups, c.Layers = 1, ShareAttention, 2, 4 }),
		"qwen2/qkv-bias/gqa/share-all-3": fam("qwen2", func(c *Config) { c.KVHeads, c.Share, c.Groups = 2, ShareAll, 3 }),
		"gemma/embed-scale/mqa/hd16":     fam("gemma", func(c *Config) { c.KVHeads, c.DHead = 1, 16 }),
		"mistral/window40/gqa":           fam("mistral", func(c *Config) { c.KVHeads, c.SlidingWindow = 2, 40 }),
		"gemma/window100/every2/share-all": fam("gemma", func(c *Config) {
			c.SlidingWindow, c.SlidingEvery, c.Share, c.Groups, c.Layers = 100, 2, ShareAll, 2, 4
		}),
		"gemma/softcaps/window60/every2": fam("gemma", func(c *Config) {
			c.SlidingWindow, c.SlidingEvery, c.AttnSoftcap, c.FinalSoftcap, c.QueryScalar, c.PostNorms = 60, 2, 5, 3, 12, true
		}),
	}
}

// prefillModel is testModel with norm gains near 1 for a 1 + w gain too
// (testModel's w ≈ 1 would double every norm's output, and Gemma's three
// doubled norms per layer make a model whose rounding differences grow
// far faster than a trained one's).
func prefillModel(t *testing.T, c Config, seed uint64) *Model {
	m := testModel(t, c, seed)
	if c.NormOffset {
		for _, ti := range m.Layout.Tensors {
			if strings.HasSuffix(ti.Name, "ln.w") || ti.Name == "lnf.w" {
				for i := range ti.Size {
					m.Params[ti.Offset+i]--
				}
			}
		}
	}
	return m
}

// relDiff is max|a − b| / max|b|.
func relDiff(a, b []float32) float64 {
	var num, den float64
	for i := range b {
		num = math.Max(num, math.Abs(float64(a[i])-float64(b[i])))
		den = math.Max(den, math.Abs(float64(b[i])))
	}
	if den == 0 {
		return num
	}
	return num / den
}

// TestPrefillMatchesStep: Prefill followed by Steps gives the logits and
// the cached keys and values that feeding the same tokens through Step
// gives, for every family, sharing mode and dtype, prompt lengths 1, 7 and
// around the chunk size, from position 0 and after some Steps.
func TestPrefillMatchesStep(t *testing.T) {
	worst := 0.0
	for name, c := range prefillConfigs() {
		for _, dt := range []DType{F32, BF16, Int8} {
			m := prefillModel(t, c, 31)
			if err := m.Quantize(dt); err != nil {
				t.Fatal(err)
			}
			ref, dec := m.NewDecoder(), m.NewDecoder()
			for _, run := range []struct{ before, n int }{
				{0, 1}, {0, 7}, {0, PrefillChunk - 1}, {0, PrefillChunk}, {0, PrefillChunk + 3}, {5, 7}, {3, PrefillChunk + 3}, {2, 1}, {20, PrefillChunk},
			} {
				what := fmt.Sprintf("%s/%s/steps %d then prefill %d", name, dt, run.before, run.n)
				rng := rand.New(rand.NewPCG(uint64(run.before), uint64(run.n)))
				toks := randTokens(rng, run.before+run.n+2, c.Vocab)
				ref.Reset()
				dec.Reset()
				var want []float32
				for _, tok := range toks[:run.before+run.n] {
					var err error
					if want, err = ref.Step(tok); err != nil {
						t.Fatal(err)
					}
				}
				for _, tok := range toks[:run.before] {
					if _, err := dec.Step(tok); err != nil {
						t.Fatal(err)
					}
				}
				got, err := dec.Prefill(toks[run.before : run.before+run.n])
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				if dec.Pos() != run.before+run.n {
					t.Fatalf("%s: position %d after prefill, want %d", what, dec.Pos(), run.before+run.n)
				}
				check := func(stage string, got, want []float32) {
					t.Helper()
					r := relDiff(got, want)
					worst = max(worst, r)
					if !(r <= prefillTol) {
						t.Errorf("%s: %s differ by %.3g relative (tolerance %g)", what, stage, r, prefillTol)
					}
				}
				check("logits after prefill", got, want)
				kd := c.KVDim()
				for l := range c.Layers {
					check(fmt.Sprintf("layer %d cached keys", l), dec.kc[l][:dec.pos*kd], ref.kc[l][:ref.pos*kd])
					check(fmt.Sprintf("layer %d cached values", l), dec.vc[l][:dec.pos*kd], ref.vc[l][:ref.pos*kd])
				}
				for i, tok := range toks[run.before+run.n:] {
					want, _ := ref.Step(tok)
					got, err := dec.Step(tok)
					if err != nil {
						t.Fatal(err)
					}
					check(fmt.Sprintf("logits of step %d after prefill", i+1), got, want)
				}
			}
			if ref.PrefillFloats() != 0 {
				t.Errorf("%s: a decoder that never prefilled holds prefill buffers", name)
			}
			r, d := min(PrefillChunk, c.MaxSeq), int64(c.DModel)
			want := int64(r) * (4*d + int64(c.QDim()+c.QKVDim()) + 2*int64(c.DFF) + 2 + int64(c.Heads))
			if c.Gated() {
				want += int64(r * c.DFF)
			}
			if c.Factorized() {
				want += int64(r * c.E())
			}
			if got := dec.PrefillFloats(); got != want-int64(r)*d {
				t.Errorf("%s: %d prefill floats, want %d", name, got, want-int64(r)*d)
			}
		}
	}
	t.Logf("widest relative difference from Step: %.3g", worst)
}

// TestPrefillThreadsBitwise: Prefill's logits and cache are bitwise the
// same on one thread and two, with products big enough for the parallel
// GEMM and attention paths, for each dtype.
func TestPrefillThreadsBitwise(t *testing.T) {
	old := kernels.Threads()
	defer kernels.SetThreads(old)
	c, _ := Config{Vocab: 300, DModel: 128, Layers: 2, Heads: 4, DFF: 512, MaxSeq: 320, Tie: true, Share: ShareNone, Groups: 1}.Family("llama")
	c.KVHeads = 2
	for _, dt := range []DType{F32, BF16, Int8} {
		m := testModel(t, c, 5)
		if err := m.Quantize(dt); err != nil {
			t.Fatal(err)
		}
		toks := randTokens(rand.New(rand.NewPCG(1, 2)), 300, c.Vocab)
		var logits [][]float32
		var caches [][]float32
		for _, th := range []int{1, 2} {
			kernels.SetThreads(th)
			dec := m.NewDecoder()
			if _, err := dec.Step(toks[0]); err != nil {
				t.Fatal(err)
			}
			lg, err := dec.Prefill(toks[1:])
			if err != nil {
				t.Fatal(err)
			}
			logits = append(logits, append([]float32(nil), lg...))
			var all []float32
			for l := range c.Layers {
				all = append(all, dec.kc[l][:dec.pos*c.KVDim()]...)
				all = append(all, dec.vc[l][:dec.pos*c.KVDim()]...)
			}
			caches = append(caches, all)
		}
		for i := range logits[0] {
			if math.Float32bits(logits[0][i]) != math.Float32bits(logits[1][i]) {
				t.Fatalf("%s: logit %d: %g on 1 thread, %g on 2", dt, i, logits[0][i], logits[1][i])
			}
		}
		for i := range caches[0] {
			if math.Float32bits(caches[0][i]) != math.Float32bits(caches[1][i]) {
				t.Fatalf("%s: cache value %d: %g on 1 thread, %g on 2", dt, i, caches[0][i], caches[1][i])
			}
		}
	}
}

// TestPrefillFlops: Prefill counts the FLOPs its kernels execute; for one
// token they are Step's but for the attention of the layers before the
// last, which the fused kernel counts by its own softmax convention.
func TestPrefillFlops(t *testing.T) {
	c := prefillConfigs()["llama/gqa/hd12/untied"]
	m := testModel(t, c, 3)
	var step, pre kernels.Counter
	m.Flops = &step
	if _, err := m.NewDecoder().Step(4); err != nil {
		t.Fatal(err)
	}
	m.Flops = &pre
	if _, err := m.NewDecoder().Prefill([]int32{4}); err != nil {
		t.Fatal(err)
	}
	for _, comp := range kernels.AllComponents() {
		s, p := step.Get(kernels.Forward, comp), pre.Get(kernels.Forward, comp)
		if comp == kernels.Softmax {
			// One (query, key) pair per head and layer: the decode kernel
			// counts FlopsSoftmaxFwd, the fused kernel
			// FlopsAttnSoftmaxFwd plus the output's division by l (dh).
			h, l := int64(c.Heads), int64(c.Layers-1)
			s += h * l * (kernels.FlopsAttnSoftmaxFwd + int64(c.HeadDim()) - kernels.FlopsSoftmaxFwd)
		}
		if s != p {
			t.Errorf("%v: prefill counts %d FLOPs, step %d", comp, p, s)
		}
	}
	// A longer prompt: the projections scale with the rows but for the
	// last layer's attention output, FFN and the logits (one row).
	pre.Reset()
	n := int64(40)
	if _, err := m.NewDecoder().Prefill(randTokens(rand.New(rand.NewPCG(1, 1)), int(n), c.Vocab)); err != nil {
		t.Fatal(err)
	}
	L := int64(c.Layers)
	if got, want := pre.Get(kernels.Forward, kernels.QKV), n*L*step.Get(kernels.Forward, kernels.QKV)/L; got != want {
		t.Errorf("QKV FLOPs %d, want %d", got, want)
	}
	if got, want := pre.Get(kernels.Forward, kernels.FFNUp), ((n*(L-1))+1)*step.Get(kernels.Forward, kernels.FFNUp)/L; got != want {
		t.Errorf("FFN up FLOPs %d, want %d", got, want)
	}
	if got, want := pre.Get(kernels.Forward, kernels.Logits), step.Get(kernels.Forward, kernels.Logits); got != want {
		t.Errorf("logits FLOPs %d, want one row's %d", got, want)
	}
}

// TestPrefillErrors: bad input gives one clear error and changes nothing
// (no buffers allocated, the position kept).
func TestPrefillErrors(t *testing.T) {
	c := Config{Vocab: 20, DModel: 16, Layers: 1, Heads: 2, DFF: 32, MaxSeq: 10, Tie: true, Share: ShareNone, Groups: 1}
	m := testModel(t, c, 1)
	dec := m.NewDecoder()
	if _, err := dec.Step(3); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		toks []int32
		want string
	}{
		{nil, "prompt is empty"},
		{[]int32{}, "prompt is empty"},
		{make([]int32, 10), "10 tokens after the 1 already fed exceed the model's context of 10"},
		{[]int32{1, 2, 20}, "prompt token 20 (at 2) is outside the vocabulary [0, 20)"},
		{[]int32{-1}, "prompt token -1 (at 0) is outside the vocabulary"},
	} {
		_, err := dec.Prefill(tc.toks)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Prefill(%v) = %v, want one line with %q", tc.toks, err, tc.want)
		}
		if dec.Pos() != 1 || dec.PrefillFloats() != 0 {
			t.Errorf("Prefill(%v) failed but left position %d and %d prefill floats", tc.toks, dec.Pos(), dec.PrefillFloats())
		}
	}
	dec.Reset()
	if _, err := dec.Prefill(make([]int32, 11)); err == nil || !strings.Contains(err.Error(), "the prompt is 11 tokens, longer than the model's context of 10") {
		t.Errorf("too long a prompt: %v", err)
	}
	if _, err := dec.Prefill(make([]int32, 10)); err != nil {
		t.Errorf("a prompt filling the context: %v", err)
	}
	enc, err := New(Config{Vocab: 20, DModel: 16, Layers: 1, Heads: 2, DFF: 32, MaxSeq: 10, Arch: ArchEncoder, Share: ShareNone, Groups: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enc.NewDecoder().Prefill([]int32{1}); err == nil || !strings.Contains(err.Error(), "encoder") {
		t.Errorf("encoder: %v", err)
	}
}

// TestPrefillMatchesForward: from position 0, a prompt of one chunk goes
// through the same GEMMs and the same fused attention tiles as the training
// forward pass (whose products do not depend on the number of rows), so
// the cached keys and values are bitwise Forward's rotated ones, for every
// family and dtype; the logits of the last position agree within
// prefillTol (Forward's output projection is a GEMM over all rows,
// Prefill's one row's matrix-vector product).
func TestPrefillMatchesForward(t *testing.T) {
	for name, c := range prefillConfigs() {
		for _, dt := range []DType{F32, BF16, Int8} {
			m := prefillModel(t, c, 41)
			if err := m.Quantize(dt); err != nil {
				t.Fatal(err)
			}
			for _, n := range []int{5, 100, PrefillChunk} {
				what := fmt.Sprintf("%s/%s/n %d", name, dt, n)
				toks := randTokens(rand.New(rand.NewPCG(7, uint64(n))), n, c.Vocab)
				dec := m.NewDecoder()
				got, err := dec.Prefill(toks)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := m.Forward(toks, nil, 1, n); err != nil {
					t.Fatal(err)
				}
				if r := relDiff(got, m.Logits()[(n-1)*c.Vocab:]); !(r <= prefillTol) {
					t.Errorf("%s: logits differ from Forward's last row by %.3g relative", what, r)
				}
				qd, kd, ld := c.QDim(), c.KVDim(), c.QKVDim()
				for l := range c.Layers {
					for i := range n {
						row := m.act.qkv[l][i*ld : (i+1)*ld]
						for j := range kd {
							if math.Float32bits(dec.kc[l][i*kd+j]) != math.Float32bits(row[qd+j]) || math.Float32bits(dec.vc[l][i*kd+j]) != math.Float32bits(row[qd+kd+j]) {
								t.Fatalf("%s: layer %d position %d: cached k/v %g/%g, Forward's %g/%g", what, l, i, dec.kc[l][i*kd+j], dec.vc[l][i*kd+j], row[qd+j], row[qd+kd+j])
							}
						}
					}
				}
			}
		}
	}
}

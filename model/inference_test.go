package model

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/tformer/tformer/kernels"
)

// SameWeights fails unless a and b store every tensor in the same type
// with the same bits (int8 scales included).
func sameWeights(t *testing.T, a, b *Model) {
	t.Helper()
	if a.DType() != b.DType() || a.WeightBytes() != b.WeightBytes() {
		t.Fatalf("dtype %s/%s, weight bytes %d/%d", a.DType(), b.DType(), a.WeightBytes(), b.WeightBytes())
	}
	bits := func(v []float32) []uint32 {
		out := make([]uint32, len(v))
		for i, x := range v {
			out[i] = math.Float32bits(x)
		}
		return out
	}
	for _, ti := range a.Layout.Tensors {
		wa, _ := a.Weights(ti.Name)
		wb, ok := b.Weights(ti.Name)
		if !ok || !slices.Equal(bits(wa.F32), bits(wb.F32)) || !slices.Equal(wa.BF16, wb.BF16) ||
			!slices.Equal(wa.Int8, wb.Int8) || !slices.Equal(bits(wa.Scale), bits(wb.Scale)) {
			t.Fatalf("tensor %s differs", ti.Name)
		}
		if len(wa.F32)+len(wa.BF16)+len(wa.Int8) != ti.Size {
			t.Fatalf("tensor %s holds %d+%d+%d values, want %d", ti.Name, len(wa.F32), len(wa.BF16), len(wa.Int8), ti.Size)
		}
	}
}

// sameDecode fails unless a and b give bitwise the same logits over a few
// decoded tokens and one batched Forward.
func sameDecode(t *testing.T, a, b *Model) {
	t.Helper()
	toks := []int32{3, 17, 5, 60, 2, 11}
	da, db := a.NewDecoder(), b.NewDecoder()
	for i, tok := range toks {
		za, err := da.Step(tok)
		if err != nil {
			t.Fatal(err)
		}
		zb, err := db.Step(tok)
		if err != nil {
			t.Fatal(err)
		}
		for j := range za {
			if math.Float32bits(za[j]) != math.Float32bits(zb[j]) {
				t.Fatalf("step %d logit %d: %g against %g", i, j, za[j], zb[j])
			}
		}
	}
	if _, err := a.Forward(toks, nil, 2, 3); err != nil {
		t.Fatal(err)
	}
	la := slices.Clone(a.Logits())
	if _, err := b.Forward(toks, nil, 2, 3); err != nil {
		t.Fatal(err)
	}
	for j, v := range b.Logits() {
		if math.Float32bits(v) != math.Float32bits(la[j]) {
			t.Fatalf("forward logit %d: %g against %g", j, la[j], v)
		}
	}
}

// fillFrom writes src's float32 parameters into m tensor by tensor, in
// chunks of up to 3 rows (as a streaming loader does), through SetFloat32
// or, when asBF16, SetBF16 with the values' bf16 bits.
func fillFrom(t *testing.T, m, src *Model, asBF16 bool) {
	t.Helper()
	for _, ti := range src.Layout.Tensors {
		v := src.Params[ti.Offset : ti.Offset+ti.Size]
		step := len(v)
		if len(ti.Shape) == 2 {
			step = 3 * ti.Shape[1]
		}
		for off := 0; off < len(v); off += step {
			part := v[off:min(off+step, len(v))]
			var err error
			if asBF16 {
				h := make([]uint16, len(part))
				kernels.ToBF16(h, part)
				err = m.SetBF16(ti.Name, off, h)
			} else {
				err = m.SetFloat32(ti.Name, off, part)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestNewInferenceMatchesQuantize checks that a model built in its dtype
// and filled tensor by tensor is bitwise the model Quantize makes of the
// float32 one: every stored value and scale, and the logits of Forward and
// of several decoded tokens, for every decoder family and dtype, from
// float32 values and from bf16 bits.
func TestNewInferenceMatchesQuantize(t *testing.T) {
	for name, c := range dtypeConfigs(t) {
		for _, dt := range []DType{F32, BF16, Int8} {
			for _, asBF16 := range []bool{false, true} {
				t.Run(name+"/"+dt.String()+map[bool]string{false: "/from-f32", true: "/from-bf16"}[asBF16], func(t *testing.T) {
					src, err := New(c)
					if err != nil {
						t.Fatal(err)
					}
					src.Init(7)
					if asBF16 { // the values a BF16 file holds
						for i, v := range src.Params {
							src.Params[i] = math.Float32frombits(uint32(bf16Round(v)) << 16)
						}
					}
					want, err := New(c)
					if err != nil {
						t.Fatal(err)
					}
					copy(want.Params, src.Params)
					if err := want.Quantize(dt); err != nil {
						t.Fatal(err)
					}
					got, err := NewInference(c, dt)
					if err != nil {
						t.Fatal(err)
					}
					if got.Grads != nil || (dt != F32 && got.Params != nil) {
						t.Fatalf("NewInference(%s) holds %d params and %d grads", dt, len(got.Params), len(got.Grads))
					}
					if got.WeightBytes() != WeightBytes(c, dt) {
						t.Fatalf("weight bytes %d, want %d", got.WeightBytes(), WeightBytes(c, dt))
					}
					fillFrom(t, got, src, asBF16)
					sameWeights(t, got, want)
					sameDecode(t, got, want)
					if c.Tie && dt != F32 && got.p.headq != got.p.wteq {
						t.Fatal("a tied model's output head is not its embedding matrix")
					}
					if err := got.Backward(); err == nil {
						t.Fatal("Backward ran on an inference model")
					}
				})
			}
		}
	}
}

// bf16Round is kernels.ToBF16 of one value.
func bf16Round(v float32) uint16 {
	h := make([]uint16, 1)
	kernels.ToBF16(h, []float32{v})
	return h[0]
}

// TestSetBF16KeepsBits checks that bf16 values set into a bf16 model are
// stored with their exact bits, NaN payloads and subnormals included.
func TestSetBF16KeepsBits(t *testing.T) {
	c := dtypeConfigs(t)["llama"]
	m, err := NewInference(c, BF16)
	if err != nil {
		t.Fatal(err)
	}
	ti, _ := m.Layout.Lookup("attn.0.qkv.w")
	h := make([]uint16, ti.Size)
	for i := range h {
		h[i] = uint16(i*2654435761>>7) ^ 0x7f81 // all kinds of bits
	}
	if err := m.SetBF16(ti.Name, 0, h); err != nil {
		t.Fatal(err)
	}
	w, _ := m.Weights(ti.Name)
	if !slices.Equal(w.BF16, h) {
		t.Fatal("stored bf16 bits differ from those set")
	}
}

// TestSetErrors checks the bounds and rows SetFloat32 and SetBF16 refuse.
func TestSetErrors(t *testing.T) {
	c := dtypeConfigs(t)["llama"]
	m, err := NewInference(c, Int8)
	if err != nil {
		t.Fatal(err)
	}
	ti, _ := m.Layout.Lookup("ffn.0.up.w")
	cols := ti.Shape[1]
	nan := make([]float32, cols)
	nan[3] = float32(math.NaN())
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"no tensor", m.SetFloat32("nope", 0, []float32{1}), "no tensor"},
		{"past the end", m.SetFloat32("lnf.w", c.DModel-1, []float32{1, 2}), "do not fit"},
		{"negative offset", m.SetBF16("lnf.w", -1, []uint16{1}), "do not fit"},
		{"part of a row", m.SetFloat32(ti.Name, 1, make([]float32, cols)), "whole rows"},
		{"NaN", m.SetFloat32(ti.Name, cols, nan), "NaN"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, tc.err, tc.want)
		}
	}
	if _, err := NewInference(Config{Vocab: 10, DModel: 8, Layers: 1, Heads: 2, DFF: 16, MaxSeq: 8, Arch: "encoder"}, BF16); err == nil {
		t.Error("NewInference made a bf16 encoder")
	}
	if _, err := NewInference(Config{}, BF16); err == nil {
		t.Error("NewInference accepted an invalid config")
	}
}

package model

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tformer/tformer/safetensors"
)

// TestGoldenPyTorchEncDec compares encoder–decoders with fixtures written
// by reference/torch_encdec_ref.py, built from PyTorch's own
// nn.TransformerEncoderLayer and nn.TransformerDecoderLayer in float64: tie
// all, decoder and none, pre- and post-LN, learned and sinusoidal positions,
// ReLU and both GELUs, unshared and shared (all, attention in 2 groups, FFN,
// and between the stacks: the decoder's self-attention and FFN the encoder's),
// and BART's embedding LayerNorm and position offset of 2,
// on a batch of 3 pairs with padded sources and padded targets. Logits, loss
// and every gradient must be within max|got-want| <= 1e-4 · max|want|, the
// count of correct predictions exact.
func TestGoldenPyTorchEncDec(t *testing.T) {
	files, _ := filepath.Glob("../testdata/golden/encdec/*.safetensors")
	if len(files) < 10 {
		t.Fatalf("found %d fixtures, want 10 (regenerate with reference/torch_encdec_ref.py)", len(files))
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := safetensors.Read(path)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := ParseConfig(f.Metadata["config"])
			if err != nil {
				t.Fatal(err)
			}
			m, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			get := func(name string) safetensors.Tensor {
				tn, ok := f.Get(name)
				if !ok {
					t.Fatalf("fixture lacks %s", name)
				}
				return tn
			}
			f32 := func(name string) []float32 {
				v, err := get(name).Float32s()
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			i32 := func(name string) []int32 {
				v, err := get(name).Int32s()
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			nparam := 0
			for _, tn := range f.Tensors {
				if strings.HasPrefix(tn.Name, "param.") {
					nparam++
				}
			}
			if nparam != len(m.Layout.Tensors) {
				t.Fatalf("fixture has %d parameter tensors, layout has %d", nparam, len(m.Layout.Tensors))
			}
			for _, ti := range m.Layout.Tensors {
				if got, want := ShapeString(get("param."+ti.Name).Shape), ShapeString(ti.Shape); got != want {
					t.Fatalf("%s: fixture shape %s, layout %s", ti.Name, got, want)
				}
				copy(m.Param(ti.Name), f32("param."+ti.Name))
			}
			ss, ts := get("src").Shape, get("tgt").Shape
			r, err := m.ForwardSeq2Seq(Seq2SeqBatch{B: ss[0], SrcT: ss[1], TgtT: ts[1], Src: i32("src"), SrcLens: i32("src_lens"),
				Tgt: i32("tgt"), TgtLens: i32("tgt_lens"), Targets: i32("targets")})
			if err != nil {
				t.Fatal(err)
			}
			if want := int(i32("correct")[0]); r.Correct != want || r.Count != get("logits").Shape[0] {
				t.Errorf("correct %d of %d, reference %d of %d", r.Correct, r.Count, want, get("logits").Shape[0])
			}
			compare(t, "logits", m.Logits(), f32("logits"))
			compare(t, "loss", []float32{r.Loss}, f32("loss"))
			m.ZeroGrad()
			if err := m.Backward(); err != nil {
				t.Fatal(err)
			}
			for _, ti := range m.Layout.Tensors {
				compare(t, "grad."+ti.Name, m.Grad(ti.Name), f32("grad."+ti.Name))
			}
		})
	}
}

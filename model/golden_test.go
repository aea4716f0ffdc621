package model

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tformer/tformer/safetensors"
)

// TestGoldenPyTorch compares logits, loss and every gradient with fixtures
// written by reference/torch_ref.py, an independent PyTorch implementation
// (computed in float64). Each tensor must satisfy
// max|got-want| <= 1e-4 · max|want|.
func TestGoldenPyTorch(t *testing.T) {
	checkGolden(t, "../testdata/golden/*.safetensors", 7, "reference/torch_ref.py")
}

// checkGolden runs every fixture matching pattern (at least want of them,
// else regenerate with the script regen): it loads the fixture's config and
// parameters (count and shapes must match the layout), runs the forward pass
// (ForwardMLM for encoders, checking the count of correct predictions
// exactly; Forward for decoders), then the backward pass, and compares logits,
// loss and every gradient within max|got-want| <= 1e-4 · max|want|.
func checkGolden(t *testing.T, pattern string, want int, regen string) {
	t.Helper()
	files, _ := filepath.Glob(pattern)
	if len(files) < want {
		t.Fatalf("found %d fixtures matching %s, want %d (regenerate with %s)", len(files), pattern, want, regen)
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
			tokShape := get("tokens").Shape
			b, T := tokShape[0], tokShape[1]
			var loss float32
			if cfg.IsEncoder() {
				r, err := m.ForwardMLM(MLMBatch{B: b, T: T, Tokens: i32("tokens"), Types: i32("types"),
					Lengths: i32("lengths"), Positions: i32("positions"), Targets: i32("targets")})
				if err != nil {
					t.Fatal(err)
				}
				if want := int(i32("correct")[0]); r.Correct != want || r.Count != len(i32("positions")) {
					t.Errorf("correct %d of %d, reference %d of %d", r.Correct, r.Count, want, len(i32("positions")))
				}
				loss = r.Loss
			} else {
				if loss, err = m.Forward(i32("tokens"), i32("targets"), b, T); err != nil {
					t.Fatal(err)
				}
			}
			compare(t, "logits", m.Logits(), f32("logits"))
			compare(t, "loss", []float32{loss}, f32("loss"))
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

func compare(t *testing.T, name string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d", name, len(got), len(want))
		return
	}
	var maxWant, maxDiff float64
	for i := range want {
		maxWant = math.Max(maxWant, math.Abs(float64(want[i])))
		maxDiff = math.Max(maxDiff, math.Abs(float64(got[i]-want[i])))
	}
	if maxWant == 0 || maxDiff > 1e-4*maxWant {
		t.Errorf("%s: max |diff| %.3g vs max |want| %.3g (relative %.3g)", name, maxDiff, maxWant, maxDiff/maxWant)
	}
}

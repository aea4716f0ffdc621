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
	files, _ := filepath.Glob("../testdata/golden/*.safetensors")
	if len(files) < 7 {
		t.Fatalf("found %d golden fixtures, want 7 (regenerate with reference/torch_ref.py)", len(files))
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
				copy(m.Param(ti.Name), f32("param."+ti.Name))
			}
			tokShape := get("tokens").Shape
			b, T := tokShape[0], tokShape[1]
			loss, err := m.Forward(i32("tokens"), i32("targets"), b, T)
			if err != nil {
				t.Fatal(err)
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

package hfgpt2

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tformer/tformer/internal/modeltest"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/safetensors"
)

// TestLoadAsMatchesLoadThenQuantize: each GPT-2 fixture directory (F32
// tied and untied, F16 without the name prefix, BF16) loaded directly in
// each dtype is bitwise Load then Quantize — every stored value and scale,
// the Conv1D weights transposed alike, and the logits of several decoded
// tokens; a tied one keeps one embedding matrix; so is FromFilesAs from
// files in memory, including a tying config whose lm_head differs (read
// untied, as FromFiles does).
func TestLoadAsMatchesLoadThenQuantize(t *testing.T) {
	for _, name := range []string{"hf_tied", "hf_f16_noprefix", "hf_bf16", "hf_untied"} {
		dir := filepath.Join(fixtures, name)
		for _, dt := range []model.DType{model.F32, model.BF16, model.Int8} {
			want, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if err := want.Model.Quantize(dt); err != nil {
				t.Fatal(err)
			}
			got, err := LoadAs(dir, dt)
			if err != nil {
				t.Fatalf("%s %s: %v", name, dt, err)
			}
			if err := modeltest.SameWeights(got.Model, want.Model); err != nil {
				t.Fatalf("%s %s: %v", name, dt, err)
			}
			if err := modeltest.SameDecode(got.Model, want.Model, []int32{0, 60, 3, 3, 17}); err != nil {
				t.Fatalf("%s %s: %v", name, dt, err)
			}
			if _, ok := got.Model.Weights("lm_head"); ok == got.Model.Config.Tie || got.Model.Grads != nil {
				t.Fatalf("%s %s: tie %v, lm_head stored %v", name, dt, got.Model.Config.Tie, ok)
			}
		}
	}
	cj, f := hfFiles(t, true, func(f *safetensors.File, conf map[string]any) {
		wte, _ := f.Get("transformer.wte.weight")
		v, _ := wte.Float32s()
		v[7] += 1
		f.Tensors = append(f.Tensors, safetensors.FromFloat32("lm_head.weight", wte.Shape, v))
	})
	for _, dt := range []model.DType{model.BF16, model.Int8} {
		want, err := FromFiles(cj, f)
		if err != nil {
			t.Fatal(err)
		}
		want.Model.Quantize(dt)
		got, err := FromFilesAs(cj, f, dt)
		if err != nil {
			t.Fatal(err)
		}
		if got.Model.Config.Tie || !strings.Contains(strings.Join(got.Notes, "; "), "untied") {
			t.Fatalf("%s: tie %v, notes %q", dt, got.Model.Config.Tie, got.Notes)
		}
		if err := modeltest.SameWeights(got.Model, want.Model); err != nil {
			t.Fatalf("untied %s: %v", dt, err)
		}
	}
	// A NaN in a transposed (Conv1D) matrix and in one narrowed as stored.
	for _, tn := range []string{"transformer.h.1.mlp.c_fc.weight", "transformer.wte.weight"} {
		cj, f := hfFiles(t, true, func(f *safetensors.File, _ map[string]any) {
			for i, x := range f.Tensors {
				if x.Name == tn {
					v, _ := x.Float32s()
					v[4] = float32(math.NaN())
					f.Tensors[i] = safetensors.FromFloat32(tn, x.Shape, v)
				}
			}
		})
		if _, err := FromFilesAs(cj, f, model.Int8); err == nil || !strings.Contains(err.Error(), tn+" holds a non-finite value (NaN at element 4)") {
			t.Errorf("NaN in %s: %v", tn, err)
		}
	}
}

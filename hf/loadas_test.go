package hf

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tformer/tformer/internal/modeltest"
	"github.com/tformer/tformer/kernels"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/safetensors"
)

// loadQuantized is the reference LoadAs must reproduce: Load in float32,
// then Quantize.
func loadQuantized(t *testing.T, dir string, dt model.DType) *model.Model {
	t.Helper()
	l, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Model.Quantize(dt); err != nil {
		t.Fatal(err)
	}
	return l.Model
}

// checkLoadAs loads dir with LoadAs in dt and compares it with Load then
// Quantize: every stored value and scale, and the logits of several
// decoded tokens, bit for bit. It returns the model.
func checkLoadAs(t *testing.T, dir string, dt model.DType) *Loaded {
	t.Helper()
	want := loadQuantized(t, dir, dt)
	got, err := LoadAs(dir, dt)
	if err != nil {
		t.Fatal(err)
	}
	if got.Model.Grads != nil || (dt != model.F32 && got.Model.Params != nil) {
		t.Fatalf("%s: the model holds %d float32 params and %d grads", dt, len(got.Model.Params), len(got.Model.Grads))
	}
	if err := modeltest.SameWeights(got.Model, want); err != nil {
		t.Fatalf("%s: %v", dt, err)
	}
	v := int32(got.Model.Config.Vocab)
	if err := modeltest.SameDecode(got.Model, want, []int32{1, v - 1, 3, 3, v / 2, 0, 7}); err != nil {
		t.Fatalf("%s: %v", dt, err)
	}
	if c := got.Model.Config; got.Model.WeightBytes() != model.WeightBytes(c, dt) {
		t.Fatalf("%s: %d weight bytes, want %d", dt, got.Model.WeightBytes(), model.WeightBytes(c, dt))
	}
	return got
}

// TestLoadAsFixtures: every fixture directory of reference/hf_llama_dirs.py
// (F32; F16 with a stored tied lm_head; BF16 untied over 3 shards; Qwen2
// over 2 F32 shards; Gemma in BF16) loaded directly in each dtype is
// bitwise Load then Quantize, and so is FromTensorsAs over the tensors in
// memory.
func TestLoadAsFixtures(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join(fixtureDir, "*", "config.json"))
	if len(dirs) == 0 {
		t.Fatal("no fixture directories")
	}
	for _, cj := range dirs {
		dir := filepath.Dir(cj)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			for _, dt := range []model.DType{model.F32, model.BF16, model.Int8} {
				l := checkLoadAs(t, dir, dt)
				tensors, err := openWeights(dir)
				if err != nil {
					t.Fatal(err)
				}
				m, err := FromTensorsAs(l.Config, tensors, dt)
				if err != nil {
					t.Fatal(err)
				}
				if err := modeltest.SameWeights(m.Model, l.Model); err != nil {
					t.Fatalf("FromTensorsAs %s: %v", dt, err)
				}
			}
		})
	}
}

// writeDir writes a random Llama-style model of config c as a Hugging
// Face directory with hf.Save, its tensors then rewritten as BF16 (rounded
// to nearest even) when bf16 is set, and returns the directory.
func writeDir(t *testing.T, c model.Config, bf16 bool) string {
	t.Helper()
	m, err := model.New(c)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(11)
	dir := t.TempDir()
	if _, err := Save(dir, m, nil, Options{}); err != nil {
		t.Fatal(err)
	}
	if bf16 {
		rewriteWeights(t, dir, func(f *safetensors.File) {
			for i, tn := range f.Tensors {
				v, err := tn.Float32s()
				if err != nil {
					t.Fatal(err)
				}
				h := make([]uint16, len(v))
				kernels.ToBF16(h, v)
				b := make([]byte, 2*len(h))
				for j, x := range h {
					binary.LittleEndian.PutUint16(b[2*j:], x)
				}
				f.Tensors[i] = safetensors.Tensor{Name: tn.Name, DType: safetensors.BF16, Shape: tn.Shape, Data: b}
			}
		})
	}
	return dir
}

// smolConfig is a small SmolLM2-like config: Llama, GQA (3 heads, 1 key/
// value head), tied or not.
func smolConfig(t *testing.T, tie bool) model.Config {
	c, err := model.Config{Vocab: 61, DModel: 48, Layers: 3, Heads: 3, DFF: 80, MaxSeq: 32, Share: model.ShareNone, Groups: 1}.Family("llama")
	if err != nil {
		t.Fatal(err)
	}
	c.KVHeads, c.Tie = 1, tie
	return c
}

// TestLoadAsWrittenDirs: directories written from random models, in BF16
// and in F32, tied and untied, loaded directly in each dtype, are bitwise
// Load then Quantize; a BF16 directory read as bf16 keeps every stored
// bit (the weight matrices as bf16, the norms widened exactly); a tied
// model holds one embedding matrix, also when the directory stores an
// lm_head.weight equal to it.
func TestLoadAsWrittenDirs(t *testing.T) {
	for _, tie := range []bool{true, false} {
		for _, bf16 := range []bool{true, false} {
			c := smolConfig(t, tie)
			dir := writeDir(t, c, bf16)
			for _, dt := range []model.DType{model.F32, model.BF16, model.Int8} {
				l := checkLoadAs(t, dir, dt)
				if _, ok := l.Model.Weights("lm_head"); ok == tie {
					t.Fatalf("tie %v: lm_head stored %v", tie, ok)
				}
				if !bf16 || dt != model.BF16 {
					continue
				}
				if !strings.Contains(strings.Join(l.Notes, "; "), "kept in bf16 as stored") {
					t.Errorf("notes %q", l.Notes)
				}
				tensors, err := openWeights(dir)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range names(l.Model.Config) {
					st := tensors[e.hf]
					w, _ := l.Model.Weights(e.tf)
					for j := 0; j < st.NumElements(); j++ {
						h := binary.LittleEndian.Uint16(st.Data[2*j:])
						var got uint16
						if w.BF16 != nil {
							got = w.BF16[e.off+j]
						} else {
							got = uint16(float32bits(w.F32[e.off+j]) >> 16)
							if float32bits(w.F32[e.off+j])&0xffff != 0 {
								t.Fatalf("%s[%d] widened inexactly", e.hf, j)
							}
						}
						if got != h {
							t.Fatalf("%s[%d]: stored %#04x, the model holds %#04x", e.hf, j, h, got)
						}
					}
				}
			}
		}
	}
	// A tied directory that also stores lm_head.weight (equal to the
	// embedding) is still one matrix.
	c := smolConfig(t, true)
	dir := writeDir(t, c, true)
	rewriteWeights(t, dir, func(f *safetensors.File) {
		emb, _ := f.Get("model.embed_tokens.weight")
		emb.Name = "lm_head.weight"
		f.Tensors = append(f.Tensors, emb)
	})
	for _, dt := range []model.DType{model.BF16, model.Int8} {
		l := checkLoadAs(t, dir, dt)
		if _, ok := l.Model.Weights("lm_head"); ok || !strings.Contains(strings.Join(l.Notes, "; "), "read as tied") {
			t.Fatalf("%s: lm_head stored %v, notes %q", dt, ok, l.Notes)
		}
	}
}

func float32bits(f float32) uint32 { return math.Float32bits(f) }

// TestLoadAsBadBF16 checks the errors of a BF16 directory read directly:
// a NaN in a matrix int8 quantizes, an Inf in one bf16 keeps, a file cut
// short, and one cut after its header was read (a tensor past the end),
// each one line naming the problem.
func TestLoadAsBadBF16(t *testing.T) {
	c := smolConfig(t, false)
	poison := func(name string, bits uint16) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			rewriteWeights(t, dir, func(f *safetensors.File) {
				for i, tn := range f.Tensors {
					if tn.Name == name {
						d := append([]byte(nil), tn.Data...)
						binary.LittleEndian.PutUint16(d[2*9:], bits)
						f.Tensors[i].Data = d
					}
				}
			})
		}
	}
	cases := []struct {
		name string
		dt   model.DType
		edit func(t *testing.T, dir string)
		want string
	}{
		{"NaN int8", model.Int8, poison("model.layers.1.mlp.down_proj.weight", 0x7fc1), "model.layers.1.mlp.down_proj.weight holds a non-finite value (NaN at element 9)"},
		{"Inf bf16", model.BF16, poison("lm_head.weight", 0xff80), "lm_head.weight holds a non-finite value (-Inf at element 9)"},
		{"truncated", model.BF16, func(t *testing.T, dir string) {
			p := filepath.Join(dir, WeightsFile)
			st, _ := os.Stat(p)
			os.Truncate(p, st.Size()-10)
		}, "out of range"},
		{"wrong shape", model.Int8, func(t *testing.T, dir string) {
			rewriteWeights(t, dir, func(f *safetensors.File) {
				for i, tn := range f.Tensors {
					if tn.Name == "model.layers.0.mlp.up_proj.weight" {
						f.Tensors[i].Shape = []int{tn.Shape[1], tn.Shape[0]}
					}
				}
			})
		}, "model.layers.0.mlp.up_proj.weight has shape [48x80], config.json implies [80x48]"},
	}
	for _, tc := range cases {
		dir := writeDir(t, c, true)
		tc.edit(t, dir)
		_, err := LoadAs(dir, tc.dt)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v, want one line containing %q", tc.name, err, tc.want)
		}
	}
}

package checkpoint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/safetensors"
)

func newModel(t *testing.T, c model.Config) *model.Model {
	t.Helper()
	m, err := model.New(c)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(5)
	return m
}

func TestRoundTripBitExactAndStoredOnce(t *testing.T) {
	c := model.Config{Vocab: 256, DModel: 8, Layers: 4, Heads: 2, DFF: 16, MaxSeq: 8, Tie: true, Share: model.ShareAll, Groups: 2}
	m := newModel(t, c)
	path := filepath.Join(t.TempDir(), "m.safetensors")
	st := &TrainState{Step: 7, Options: []byte(`{"x":1}`), M: make([]float32, len(m.Params)), V: make([]float32, len(m.Params))}
	for i := range st.M {
		st.M[i], st.V[i] = float32(i), float32(2*i)
	}
	if err := Save(path, &Checkpoint{Model: m, Tokenizer: "byte", Train: st}); err != nil {
		t.Fatal(err)
	}
	ck, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Model.Config != c || ck.Tokenizer != "byte" || ck.Train.Step != 7 || string(ck.Train.Options) != `{"x":1}` {
		t.Fatalf("loaded %+v / %q / %+v", ck.Model.Config, ck.Tokenizer, ck.Train)
	}
	for i, v := range m.Params {
		if ck.Model.Params[i] != v {
			t.Fatalf("param %d: %v != %v", i, ck.Model.Params[i], v)
		}
	}
	for i := range st.M {
		if ck.Train.M[i] != st.M[i] || ck.Train.V[i] != st.V[i] {
			t.Fatalf("optimizer state %d differs", i)
		}
	}
	// Tied and shared weights are stored once: no output matrix, 2 blocks of each.
	f, _ := safetensors.Read(path)
	var params int
	for _, tn := range f.Tensors {
		if strings.HasPrefix(tn.Name, "adamw.") {
			continue
		}
		params += tn.NumElements()
		if tn.Name == "lm_head" || strings.HasPrefix(tn.Name, "attn.2.") || strings.HasPrefix(tn.Name, "ffn.2.") {
			t.Errorf("unexpected stored tensor %s", tn.Name)
		}
	}
	if int64(params) != c.UniqueParams() {
		t.Errorf("file stores %d parameters, unique count is %d", params, c.UniqueParams())
	}
}

func TestLoadErrors(t *testing.T) {
	c := model.Config{Vocab: 256, DModel: 8, Layers: 2, Heads: 2, DFF: 16, MaxSeq: 8, Tie: false, Share: model.ShareNone, Groups: 1}
	m := newModel(t, c)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.safetensors")
	if err := Save(good, &Checkpoint{Model: m, Tokenizer: "byte"}); err != nil {
		t.Fatal(err)
	}
	write := func(name string, mod func(f *safetensors.File)) string {
		f, err := safetensors.Read(good)
		if err != nil {
			t.Fatal(err)
		}
		mod(f)
		p := filepath.Join(dir, name)
		if err := safetensors.WriteFile(p, f); err != nil {
			t.Fatal(err)
		}
		return p
	}
	drop := func(name string) func(f *safetensors.File) {
		return func(f *safetensors.File) {
			for i, tn := range f.Tensors {
				if tn.Name == name {
					f.Tensors = append(f.Tensors[:i], f.Tensors[i+1:]...)
					return
				}
			}
		}
	}
	raw, _ := os.ReadFile(good)
	trunc := filepath.Join(dir, "trunc.safetensors")
	os.WriteFile(trunc, raw[:len(raw)-10], 0o644)
	cases := map[string]string{
		filepath.Join(dir, "missing.safetensors"): "no such file",
		trunc: "out of range",
		write("nolm.safetensors", drop("lm_head")):                                              `tensor "lm_head" is missing`,
		write("noformat.safetensors", func(f *safetensors.File) { f.Metadata["format"] = "x" }): "not a tformer checkpoint",
		write("badcfg.safetensors", func(f *safetensors.File) {
			f.Metadata["config"] = `{"vocab":30,"d_model":8,"layers":2,"heads":3,"d_ff":16,"max_seq":8}`
		}): "heads (3) must divide",
		write("shape.safetensors", func(f *safetensors.File) {
			f.Metadata["config"] = strings.Replace(f.Metadata["config"], `"d_ff":16`, `"d_ff":12`, 1)
		}): "has shape",
		write("extra.safetensors", func(f *safetensors.File) {
			f.Tensors = append(f.Tensors, safetensors.FromFloat32("attn.9.qkv.w", []int{1}, []float32{1}))
		}): `unexpected tensor "attn.9.qkv.w"`,
		write("dtype.safetensors", func(f *safetensors.File) {
			for i, tn := range f.Tensors {
				if tn.Name == "lnf.b" {
					f.Tensors[i] = safetensors.FromInt32("lnf.b", tn.Shape, make([]int32, tn.NumElements()))
				}
			}
		}): "dtype I32",
	}
	for path, want := range cases {
		_, err := Load(path)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want error containing %q", filepath.Base(path), err, want)
		}
	}
}

// TestSaveKeepsOldOnFailure: a failing save leaves the previous checkpoint intact.
func TestSaveKeepsOldOnFailure(t *testing.T) {
	c := model.Config{Vocab: 10, DModel: 4, Layers: 1, Heads: 1, DFF: 4, MaxSeq: 4, Tie: true, Share: model.ShareNone, Groups: 1}
	m := newModel(t, c)
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := Save(path, &Checkpoint{Model: m}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	bad := &TrainState{M: make([]float32, 3)} // wrong size: Save must refuse
	if err := Save(path, &Checkpoint{Model: m, Train: bad}); err == nil {
		t.Fatal("want error for a mis-sized optimizer state")
	}
	after, _ := os.ReadFile(path)
	if string(before) != string(after) {
		t.Fatal("failed save changed the previous checkpoint")
	}
}

package checkpoint

import (
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tformer/tformer/internal/modeltest"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/safetensors"
)

// loadQuantized is the reference LoadAs must reproduce: Load in float32,
// then Quantize.
func loadQuantized(t *testing.T, path string, dt model.DType) *model.Model {
	t.Helper()
	ck, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := ck.Model.Quantize(dt); err != nil {
		t.Fatal(err)
	}
	return ck.Model
}

func loadAsConfigs(t *testing.T) map[string]model.Config {
	base := model.Config{Vocab: 256, DModel: 32, Layers: 2, Heads: 4, DFF: 64, MaxSeq: 16, Tie: true, Share: model.ShareNone, Groups: 1}
	llama, err := base.Family("llama")
	if err != nil {
		t.Fatal(err)
	}
	llama.Tie, llama.KVHeads = false, 2
	shared := base
	shared.Layers, shared.Share, shared.EmbedDim, shared.Tie = 3, model.ShareAll, 16, false
	return map[string]model.Config{"gpt2-tied": base, "llama-untied": llama, "shared-factorized": shared}
}

// TestLoadAsMatchesLoadThenQuantize checks that a checkpoint loaded
// directly in each dtype is bitwise the model Load then Quantize gives —
// every stored value and int8 scale, and the logits of several decoded
// tokens — for tied, untied and shared/factorized models, from a weights
// file and from a training checkpoint (whose moments are not read), and
// from the file parsed in memory (FromFileAs). A tied model keeps one
// embedding matrix.
func TestLoadAsMatchesLoadThenQuantize(t *testing.T) {
	for name, c := range loadAsConfigs(t) {
		m := newModel(t, c)
		dir := t.TempDir()
		plain := filepath.Join(dir, "m.safetensors")
		if err := Save(plain, &Checkpoint{Model: m, Tokenizer: "byte"}); err != nil {
			t.Fatal(err)
		}
		train := filepath.Join(dir, "train.safetensors")
		st := &TrainState{Step: 3, Options: []byte(`{}`), M: make([]float32, len(m.Params)), V: make([]float32, len(m.Params))}
		if err := Save(train, &Checkpoint{Model: m, Tokenizer: "byte", Train: st}); err != nil {
			t.Fatal(err)
		}
		for _, dt := range []model.DType{model.F32, model.BF16, model.Int8} {
			want := loadQuantized(t, plain, dt)
			for _, p := range []string{plain, train} {
				ck, err := LoadAs(p, dt)
				if err != nil {
					t.Fatalf("%s %s: %v", name, dt, err)
				}
				got := ck.Model
				if ck.Train != nil || ck.Tokenizer != "byte" || got.Grads != nil {
					t.Fatalf("%s %s: train %v, tokenizer %q, %d grads", name, dt, ck.Train, ck.Tokenizer, len(got.Grads))
				}
				if err := modeltest.SameWeights(got, want); err != nil {
					t.Fatalf("%s %s %s: %v", name, dt, filepath.Base(p), err)
				}
				if err := modeltest.SameDecode(got, want, []int32{1, 200, 7, 7, 31, 90}); err != nil {
					t.Fatalf("%s %s: %v", name, dt, err)
				}
				if got.WeightBytes() != model.WeightBytes(c, dt) {
					t.Fatalf("%s %s: %d weight bytes, want %d", name, dt, got.WeightBytes(), model.WeightBytes(c, dt))
				}
				if _, ok := got.Weights("lm_head"); ok == c.Tie {
					t.Fatalf("%s: tie %v but lm_head stored: %v", name, c.Tie, ok)
				}
			}
			f, err := safetensors.Read(plain)
			if err != nil {
				t.Fatal(err)
			}
			ck, err := FromFileAs(f, dt)
			if err != nil {
				t.Fatal(err)
			}
			if err := modeltest.SameWeights(ck.Model, want); err != nil {
				t.Fatalf("FromFileAs %s %s: %v", name, dt, err)
			}
		}
	}
}

// TestLoadAsMemory checks that loading directly allocates about the
// narrow weights and a chunk of scratch, not the file, the float32 model
// or its gradients: less than the file itself for bf16 and int8.
func TestLoadAsMemory(t *testing.T) {
	c := model.Config{Vocab: 16384, DModel: 128, Layers: 2, Heads: 4, DFF: 256, MaxSeq: 16, Tie: true, Share: model.ShareNone, Groups: 1}
	m := newModel(t, c)
	p := filepath.Join(t.TempDir(), "m.safetensors")
	if err := Save(p, &Checkpoint{Model: m, Tokenizer: "byte"}); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(p)
	for _, dt := range []model.DType{model.BF16, model.Int8} {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		ck, err := LoadAs(p, dt)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		alloc := int64(after.TotalAlloc - before.TotalAlloc)
		scratch := int64(10 << 18) // one chunk of 2^18 values: raw bytes (up to 4 each), float32s and bf16s
		if limit := ck.Model.WeightBytes() + scratch + 256<<10; alloc > limit || alloc >= st.Size() {
			t.Errorf("%s: LoadAs allocated %d bytes for %d weight bytes (limit %d) from a %d-byte file", dt, alloc, ck.Model.WeightBytes(), limit, st.Size())
		} else {
			t.Logf("%s: allocated %d bytes, weights %d, file %d", dt, alloc, ck.Model.WeightBytes(), st.Size())
		}
	}
}

// TestLoadAsBadInput checks that broken files give one clear error from
// LoadAs: a truncated file, a tensor of the wrong shape, a NaN in a tensor
// int8 quantizes (and in one it keeps float32), a narrow dtype for an
// encoder, and the hostile configs of issue 15 within the allocation
// budget of a file's size (nothing allocated from the config).
func TestLoadAsBadInput(t *testing.T) {
	c := loadAsConfigs(t)["llama-untied"]
	m := newModel(t, c)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.safetensors")
	if err := Save(good, &Checkpoint{Model: m, Tokenizer: "byte"}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(good)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	encode := func(edit func(f *safetensors.File)) []byte {
		f, err := safetensors.Parse(append([]byte(nil), b...))
		if err != nil {
			t.Fatal(err)
		}
		edit(f)
		out, err := safetensors.Encode(f)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	setNaN := func(name string) func(f *safetensors.File) {
		return func(f *safetensors.File) {
			for i, tn := range f.Tensors {
				if tn.Name == name {
					v, _ := tn.Float32s()
					v[5] = float32(math.NaN())
					f.Tensors[i] = safetensors.FromFloat32(name, tn.Shape, v)
				}
			}
		}
	}
	enc := model.Config{Vocab: 257, DModel: 16, Layers: 1, Heads: 2, DFF: 32, MaxSeq: 8, Arch: model.ArchEncoder, Tie: true, Share: model.ShareNone, Groups: 1}
	encPath := filepath.Join(dir, "enc.safetensors")
	if err := Save(encPath, &Checkpoint{Model: newModel(t, enc), Tokenizer: "byte"}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path string
		dt         model.DType
		want       string
	}{
		{"truncated", write("trunc.safetensors", b[:len(b)-100]), model.BF16, "out of range"},
		{"header only", write("head.safetensors", b[:40]), model.Int8, "header length"},
		{"wrong shape", write("shape.safetensors", encode(func(f *safetensors.File) {
			for i, tn := range f.Tensors {
				if tn.Name == "ffn.0.up.w" {
					f.Tensors[i] = safetensors.FromFloat32(tn.Name, []int{tn.Shape[1], tn.Shape[0]}, make([]float32, tn.NumElements()))
				}
			}
		})), model.BF16, `"ffn.0.up.w" has shape`},
		{"NaN int8", write("nan.safetensors", encode(setNaN("attn.1.proj.w"))), model.Int8, `tensor "attn.1.proj.w" holds a non-finite value (NaN at element 5)`},
		{"NaN norm", write("nannorm.safetensors", encode(setNaN("lnf.w"))), model.Int8, `tensor "lnf.w" holds a non-finite value`},
		{"encoder bf16", encPath, model.BF16, "an encoder runs in f32"},
	}
	for _, tc := range cases {
		_, err := LoadAs(tc.path, tc.dt)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v, want one line containing %q", tc.name, err, tc.want)
		}
	}
	base := configJSON{Vocab: 256, DModel: 32, Layers: 1, Heads: 2, DFF: 128, MaxSeq: 32, Tie: true, Share: "none", Groups: 1}
	for _, mod := range []func(c *configJSON){
		func(c *configJSON) { c.Layers = 1e9 },
		func(c *configJSON) { c.DFF = 2e9 },
		func(c *configJSON) { c.Vocab, c.DModel, c.Heads = 1<<40, 1, 1 },
	} {
		cj := base
		mod(&cj)
		hb := metadataOnly(cj.String())
		p := write("hostile.safetensors", hb)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := LoadAs(p, model.BF16)
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("%s: loaded", cj)
		} else if n := after.TotalAlloc - before.TotalAlloc; n > budget(len(hb)) {
			t.Errorf("%s: allocated %d bytes: %v", cj, n, err)
		}
	}
}

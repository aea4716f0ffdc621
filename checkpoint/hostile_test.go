package checkpoint

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/safetensors"
)

// configJSON is a config with the numbers of a hostile header (they need not
// fit an int on every platform, hence int64).
type configJSON struct {
	Vocab, DModel, Layers, Heads, DFF, MaxSeq int64
	Tie                                       bool
	Share                                     string
	Groups                                    int64
}

func (c configJSON) String() string {
	return fmt.Sprintf(`{"vocab":%d,"d_model":%d,"layers":%d,"heads":%d,"d_ff":%d,"max_seq":%d,"tie":%v,"share":%q,"groups":%d}`,
		c.Vocab, c.DModel, c.Layers, c.Heads, c.DFF, c.MaxSeq, c.Tie, c.Share, c.Groups)
}

// metadataOnly is a tformer checkpoint holding no tensor at all: the 240-byte
// file of issue 15.
func metadataOnly(cfg string) []byte {
	b, err := safetensors.Encode(&safetensors.File{Metadata: map[string]string{"format": Format, "tokenizer": "byte", "config": cfg}})
	if err != nil {
		panic(err)
	}
	return b
}

// loadBytes parses b and loads it, returning the error and the bytes
// allocated meanwhile.
func loadBytes(b []byte) (uint64, error) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f, err := safetensors.Parse(b)
	if err == nil {
		_, err = FromFile(f)
	}
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, err
}

// budget is what loading a file of n bytes may allocate: the weights twice
// (parameters and gradients) and the optimizer moments, each at most the
// file's size, plus the layout's bookkeeping.
func budget(n int) uint64 { return 4*uint64(n) + 4<<20 }

// TestHostileConfigsRefusedBeforeAllocating: the configs of issue 15's
// reproductions (and their siblings) in a file without the tensors they
// promise are refused with a clear error, within the budget.
func TestHostileConfigsRefusedBeforeAllocating(t *testing.T) {
	base := configJSON{Vocab: 256, DModel: 32, Layers: 1, Heads: 2, DFF: 128, MaxSeq: 32, Tie: true, Share: "none", Groups: 1}
	cases := map[string]func(c *configJSON){
		"layers 1e9":            func(c *configJSON) { c.Layers = 1e9 },
		"layers 1e18":           func(c *configJSON) { c.Layers = 1e18 },
		"layers 1e18 share all": func(c *configJSON) { c.Layers, c.Share = 1e18, "all" },
		"layers 2^16 share all": func(c *configJSON) { c.Layers, c.Share = 1<<16, "all" },
		"d_ff 2e9":              func(c *configJSON) { c.DFF = 2e9 },
		"max_seq 1e10":          func(c *configJSON) { c.MaxSeq = 1e10 },
		"d_model 2^30":          func(c *configJSON) { c.DModel, c.Heads, c.DFF = 1<<30, 1, 1 },
		"vocab 2^40":            func(c *configJSON) { c.Vocab, c.DModel, c.Heads = 1<<40, 1, 1 },
	}
	for name, mod := range cases {
		c := base
		mod(&c)
		b := metadataOnly(c.String())
		n, err := loadBytes(b)
		if err == nil {
			t.Errorf("%s: loaded", name)
			continue
		}
		if n > budget(len(b)) {
			t.Errorf("%s: allocated %d bytes loading a %d-byte file (budget %d): %v", name, n, len(b), budget(len(b)), err)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error is not one line: %q", name, err)
		}
	}
}

func saveTo(t *testing.T, ck *Checkpoint) (string, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "m.safetensors")
	return p, Save(p, ck)
}

// TestNonFiniteRefused: Save refuses NaN/Inf weights or moments, and Load
// refuses a file holding them (written behind Save's back).
func TestNonFiniteRefused(t *testing.T) {
	c := model.Config{Vocab: 256, DModel: 8, Layers: 1, Heads: 2, DFF: 16, MaxSeq: 8, Tie: true, Share: model.ShareNone, Groups: 1}
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		m := newModel(t, c)
		m.Params[17] = bad
		if _, err := saveTo(t, &Checkpoint{Model: m, Tokenizer: "byte"}); err == nil || !strings.Contains(err.Error(), "non-finite") {
			t.Errorf("Save with a %g weight: %v", bad, err)
		}
		m.Params[17] = 0
		st := &TrainState{Step: 1, Options: []byte(`{}`), M: make([]float32, len(m.Params)), V: make([]float32, len(m.Params))}
		st.V[3] = bad
		if _, err := saveTo(t, &Checkpoint{Model: m, Tokenizer: "byte", Train: st}); err == nil || !strings.Contains(err.Error(), "non-finite") {
			t.Errorf("Save with a %g moment: %v", bad, err)
		}
		// Behind Save's back: encode the tensors directly.
		f := &safetensors.File{Metadata: map[string]string{"format": Format, "config": m.Config.JSON(), "tokenizer": "byte"}}
		for _, ti := range m.Layout.Tensors {
			v := append([]float32(nil), m.Params[ti.Offset:ti.Offset+ti.Size]...)
			v[0] = bad
			f.Tensors = append(f.Tensors, safetensors.FromFloat32(ti.Name, ti.Shape, v))
		}
		b, _ := safetensors.Encode(f)
		if _, err := loadBytes(b); err == nil || !strings.Contains(err.Error(), "non-finite") {
			t.Errorf("Load of a %g weight: %v", bad, err)
		}
	}
}

// TestSmallerChecks: issue 15 item 8 — a tokenizer whose ids do not fit
// the vocabulary, and crafted training states.
func TestSmallerChecks(t *testing.T) {
	c := model.Config{Vocab: 256, DModel: 8, Layers: 1, Heads: 2, DFF: 16, MaxSeq: 8, Tie: true, Share: model.ShareNone, Groups: 1}
	m := newModel(t, c)
	p, err := saveTo(t, &Checkpoint{Model: m, Tokenizer: "byte"})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := safetensors.Read(p)
	f.Metadata["tokenizer"] = "gpt2"
	b, _ := safetensors.Encode(f)
	if _, err := loadBytes(b); err == nil || !strings.Contains(err.Error(), "gpt2 tokenizer has 50257 tokens") {
		t.Errorf("gpt2 tokenizer on a 256-token model: %v", err)
	}
	if _, err := saveTo(t, &Checkpoint{Model: m, Tokenizer: "gpt2"}); err == nil {
		t.Error("Save of a gpt2 tokenizer on a 256-token model succeeded")
	}
	st := &TrainState{Step: 3, Options: []byte(`{"steps":10}`), M: make([]float32, len(m.Params)), V: make([]float32, len(m.Params))}
	p, err = saveTo(t, &Checkpoint{Model: m, Tokenizer: "byte", Train: st})
	if err != nil {
		t.Fatal(err)
	}
	for train, want := range map[string]string{
		`{"step":-5,"options":{"steps":10}}`: "step -5 is negative",
		`{"step":3,"options":null}`:          "options are missing",
		`{"step":3}`:                         "options are missing",
		`{"step":1e18,"options":{}}`:         "training state",
	} {
		f, _ := safetensors.Read(p)
		f.Metadata["train"] = train
		b, _ := safetensors.Encode(f)
		if _, err := loadBytes(b); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("train state %s: %v, want %q", train, err, want)
		}
	}
}

// FuzzLoadCheckpoint builds tformer checkpoints from a config with any
// numbers and a tensor table laid out for a (small) possibly different
// config, optionally damaged, and loads them: every outcome is a model or
// an error, never a panic, and nothing allocates beyond a budget derived from
// the file's size.
func FuzzLoadCheckpoint(f *testing.F) {
	f.Add(int64(256), int64(8), int64(2), int64(2), int64(16), int64(8), true, uint8(0), int64(1), uint8(0), false, uint8(0), uint16(0), "")
	f.Add(int64(256), int64(32), int64(1e9), int64(2), int64(128), int64(32), true, uint8(0), int64(1), uint8(0), false, uint8(0), uint16(0), "")
	f.Add(int64(256), int64(8), int64(1e18), int64(2), int64(16), int64(8), false, uint8(1), int64(1), uint8(1), true, uint8(2), uint16(5), "")
	f.Add(int64(257), int64(8), int64(4), int64(2), int64(16), int64(8), true, uint8(1), int64(2), uint8(3), true, uint8(1), uint16(3), "")
	f.Add(int64(256), int64(8), int64(2), int64(2), int64(16), int64(8), true, uint8(0), int64(1), uint8(4), false, uint8(0), uint16(0),
		`{"vocab":256,"d_model":1e3,"layers":-1,"heads":2,"d_ff":16,"max_seq":8,"layer_norm_eps":1e308,"arch":"encoder","embed_dim":4}`)
	shares := []string{"none", "all", "attention", "ffn", "bogus"}
	f.Fuzz(func(t *testing.T, vocab, d, layers, heads, dff, maxSeq int64, tie bool, share uint8, groups int64, table uint8, train bool, damage uint8, which uint16, rawConfig string) {
		cfg := configJSON{vocab, d, layers, heads, dff, maxSeq, tie, shares[int(share)%len(shares)], groups}
		// The tensor table: the layout of the header's config when it is
		// small and valid (table 0), or of a small config derived from it.
		tc := model.Config{Vocab: 256, DModel: 8, Layers: 2, Heads: 2, DFF: 16, MaxSeq: 8, Tie: tie, Share: model.Share(cfg.Share), Groups: 1}
		if table%2 == 0 {
			small := func(v int64, hi int64) int { return int(1 + ((v%hi)+hi)%hi) }
			tc.Vocab, tc.DModel, tc.Layers, tc.DFF, tc.MaxSeq = 255+small(vocab, 8), 4*small(d, 4), small(layers, 4), small(dff, 32), small(maxSeq, 16)
			tc.Heads = 1 + int(uint64(heads)%2)
		}
		if tc.Share == "bogus" {
			tc.Share = model.ShareNone
		}
		if tc.Validate() != nil {
			tc.Share = model.ShareNone
		}
		var tensors []safetensors.Tensor
		if tc.Validate() == nil {
			l := model.NewLayout(tc)
			for _, ti := range l.Tensors {
				tensors = append(tensors, safetensors.FromFloat32(ti.Name, ti.Shape, make([]float32, ti.Size)))
				if train {
					tensors = append(tensors,
						safetensors.FromFloat32("adamw.m."+ti.Name, ti.Shape, make([]float32, ti.Size)),
						safetensors.FromFloat32("adamw.v."+ti.Name, ti.Shape, make([]float32, ti.Size)))
				}
			}
		}
		if len(tensors) > 0 {
			i := int(which) % len(tensors)
			switch damage % 5 {
			case 1: // drop one
				tensors = append(tensors[:i], tensors[i+1:]...)
			case 2: // reshape one
				tensors[i] = safetensors.FromFloat32(tensors[i].Name, []int{1, tensors[i].NumElements()}, make([]float32, tensors[i].NumElements()))
			case 3: // an extra one
				tensors = append(tensors, safetensors.FromFloat32("attn.99.qkv.w", []int{2}, []float32{1, 2}))
			case 4: // a NaN
				v := make([]float32, tensors[i].NumElements())
				if len(v) > 0 {
					v[0] = float32(math.NaN())
				}
				tensors[i] = safetensors.FromFloat32(tensors[i].Name, tensors[i].Shape, v)
			}
		}
		md := map[string]string{"format": Format, "tokenizer": "byte", "config": cfg.String()}
		switch {
		case table%8 >= 4 && rawConfig != "":
			md["config"] = rawConfig // any text at all
		case table%4 >= 2:
			md["config"] = tc.JSON() // the matching config (valid files load)
		}
		if train {
			st, _ := json.Marshal(map[string]any{"step": int64(which) - 3, "options": map[string]int{"steps": 10}})
			md["train"] = string(st)
		}
		b, err := safetensors.Encode(&safetensors.File{Metadata: md, Tensors: tensors})
		if err != nil {
			t.Skip()
		}
		n, err := loadBytes(b)
		if n > budget(len(b)) {
			t.Fatalf("allocated %d bytes loading a %d-byte file (budget %d; err %v)", n, len(b), budget(len(b)), err)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("error is not one line: %q", err)
		}
	})
}

// TestRotaryPositionsBounded: a rotary model stores no position tensor, so
// a checkpoint with every tensor present may still claim an absurd context;
// it is refused before the rotary tables are allocated.
func TestRotaryPositionsBounded(t *testing.T) {
	c := model.TinyLlama()
	c.DModel, c.Layers, c.DFF, c.MaxSeq = 16, 1, 24, 16
	m, err := model.New(c)
	if err != nil {
		t.Fatal(err)
	}
	f := &safetensors.File{Metadata: map[string]string{"format": Format, "tokenizer": "byte"}}
	for _, ti := range m.Layout.Tensors {
		f.Tensors = append(f.Tensors, safetensors.FromFloat32(ti.Name, ti.Shape, m.Params[ti.Offset:ti.Offset+ti.Size]))
	}
	for _, seq := range []int{16, 200_000_000} {
		c.MaxSeq = seq
		f.Metadata["config"] = c.JSON()
		b, err := safetensors.Encode(f)
		if err != nil {
			t.Fatal(err)
		}
		n, err := loadBytes(b)
		switch {
		case seq == 16 && err != nil:
			t.Fatalf("max_seq 16: %v", err)
		case seq != 16 && (err == nil || !strings.Contains(err.Error(), "rotary positions, more than the limit")):
			t.Errorf("max_seq %d: %v", seq, err)
		case n > budget(len(b)):
			t.Errorf("max_seq %d: allocated %d bytes loading a %d-byte file", seq, n, len(b))
		}
	}
}

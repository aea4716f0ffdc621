package hfgpt2

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/safetensors"
	"github.com/tformer/tformer/tokenizer"
)

func cfg(tie bool, dff int, share model.Share, groups int) model.Config {
	return model.Config{Vocab: 61, DModel: 16, Layers: 4, Heads: 4, DFF: dff, MaxSeq: 12, Tie: tie, Share: share, Groups: groups}
}

func newModel(t testing.TB, c model.Config, seed uint64) *model.Model {
	t.Helper()
	m, err := model.New(c)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(seed)
	for i := range m.Params { // distinct values everywhere
		m.Params[i] += float32(i%991) * 1e-4
	}
	return m
}

func TestSaveLoadRoundTrip(t *testing.T) {
	for _, c := range []model.Config{cfg(true, 64, model.ShareNone, 1), cfg(false, 64, model.ShareNone, 1), cfg(true, 40, model.ShareNone, 1)} {
		m := newModel(t, c, 1)
		dir := filepath.Join(t.TempDir(), "out", "model")
		notes, err := Save(dir, m, nil, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(notes) != 0 {
			t.Errorf("notes %q", notes)
		}
		l, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if l.Model.Config != c || !sameBits(l.Model.Params, m.Params) || len(l.Notes) != 0 || l.DType != safetensors.F32 {
			t.Errorf("%+v: round trip gave %+v (notes %q)", c, l.Model.Config, l.Notes)
		}
		// Also by the path of the weights file.
		if l, err := Load(filepath.Join(dir, WeightsFile)); err != nil || !sameBits(l.Model.Params, m.Params) {
			t.Errorf("Load(model.safetensors): %v", err)
		}
	}
}

// TestEncodeLayout checks the file against what GPT2LMHeadModel reads.
func TestEncodeLayout(t *testing.T) {
	for _, tie := range []bool{true, false} {
		c := cfg(tie, 40, model.ShareNone, 1)
		m := newModel(t, c, 2)
		cj, f, err := Encode(m, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if f.Metadata["format"] != "pt" {
			t.Errorf("metadata %v", f.Metadata)
		}
		_, hasHead := f.Get("lm_head.weight")
		if hasHead == tie {
			t.Errorf("tie=%v: lm_head.weight present=%v", tie, hasHead)
		}
		for _, tn := range f.Tensors {
			if tn.Name != "lm_head.weight" && !strings.HasPrefix(tn.Name, "transformer.") {
				t.Errorf("tensor %q lacks the transformer. prefix", tn.Name)
			}
			if tn.DType != safetensors.F32 {
				t.Errorf("tensor %q is %s", tn.Name, tn.DType)
			}
		}
		shapes := map[string][]int{
			"transformer.wte.weight":  {61, 16},
			"transformer.wpe.weight":  {12, 16},
			"transformer.ln_f.weight": {16},
			"transformer.ln_f.bias":   {16},
		}
		for l := 0; l < 4; l++ {
			for suffix, shape := range map[string][]int{
				"ln_1.weight": {16}, "ln_1.bias": {16}, "ln_2.weight": {16}, "ln_2.bias": {16},
				"attn.c_attn.weight": {16, 48}, "attn.c_attn.bias": {48},
				"attn.c_proj.weight": {16, 16}, "attn.c_proj.bias": {16},
				"mlp.c_fc.weight": {16, 40}, "mlp.c_fc.bias": {40},
				"mlp.c_proj.weight": {40, 16}, "mlp.c_proj.bias": {16},
			} {
				shapes[fmt.Sprintf("transformer.h.%d.%s", l, suffix)] = shape
			}
		}
		if !tie {
			shapes["lm_head.weight"] = []int{61, 16}
		}
		if len(f.Tensors) != len(shapes) {
			t.Errorf("%d tensors, want %d", len(f.Tensors), len(shapes))
		}
		for name, want := range shapes {
			tn, ok := f.Get(name)
			if !ok || !slices.Equal(tn.Shape, want) {
				t.Errorf("%s: present=%v shape %v, want %v", name, ok, tn.Shape, want)
			}
		}
		// Conv1D: c_attn.weight[i][o] is qkv.w[o][i].
		qkv := m.Param("attn.2.qkv.w")
		ca, _ := f.Get("transformer.h.2.attn.c_attn.weight")
		v, _ := ca.Float32s()
		for o := 0; o < 48; o++ {
			for i := 0; i < 16; i++ {
				if v[i*48+o] != qkv[o*16+i] {
					t.Fatalf("c_attn.weight[%d][%d] != qkv.w[%d][%d]", i, o, o, i)
				}
			}
		}
		var conf map[string]any
		if err := json.Unmarshal(cj, &conf); err != nil {
			t.Fatal(err)
		}
		for k, want := range map[string]any{"model_type": "gpt2", "vocab_size": 61.0, "n_embd": 16.0, "n_layer": 4.0,
			"n_head": 4.0, "n_positions": 12.0, "n_inner": 40.0, "layer_norm_epsilon": 1e-5,
			"activation_function": "gelu_new", "tie_word_embeddings": tie} {
			if conf[k] != want {
				t.Errorf("config.json %s = %v, want %v", k, conf[k], want)
			}
		}
		if _, ok := conf["eos_token_id"]; ok {
			t.Error("eos_token_id set for a vocabulary without GPT-2's <|endoftext|>")
		}
	}
	// n_inner is null for the default 4·d.
	cj, _, _ := Encode(newModel(t, cfg(true, 64, model.ShareNone, 1), 1), Options{})
	if !strings.Contains(string(cj), `"n_inner": null`) {
		t.Errorf("config.json for d_ff = 4·d:\n%s", cj)
	}
}

func TestSaveWithTokenizer(t *testing.T) {
	tok, err := tokenizer.NewGPT2()
	if err != nil {
		t.Fatal(err)
	}
	c := model.Config{Vocab: tokenizer.GPT2Vocab, DModel: 4, Layers: 1, Heads: 1, DFF: 16, MaxSeq: 8, Tie: true, Share: model.ShareNone, Groups: 1}
	m := newModel(t, c, 3)
	dir := t.TempDir()
	if _, err := Save(dir, m, tok, Options{}); err != nil {
		t.Fatal(err)
	}
	l, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if l.Tokenizer == nil || l.Tokenizer.Name() != "gpt2" || !sameBits(l.Model.Params, m.Params) {
		t.Fatalf("tokenizer %v", l.Tokenizer)
	}
	cj, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
	if !strings.Contains(string(cj), `"eos_token_id": 50256`) {
		t.Errorf("config.json lacks eos_token_id:\n%s", cj)
	}
	// A tokenizer larger than the model is refused before anything is written.
	small := newModel(t, cfg(true, 64, model.ShareNone, 1), 1)
	other := filepath.Join(t.TempDir(), "x")
	if _, err := Save(other, small, tok, Options{}); err == nil || !strings.Contains(err.Error(), "50257 tokens but the model only 61") {
		t.Errorf("Save with a too-large tokenizer: %v", err)
	}
	if _, err := os.Stat(other); err == nil {
		t.Error("a refused Save created the directory")
	}
	// Saving a byte-tokenizer model over the directory removes the stale
	// GPT-2 tokenizer files.
	bm := newModel(t, cfg(true, 64, model.ShareNone, 1), 1)
	notes, err := Save(dir, bm, tokenizer.Byte{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if l, err := Load(dir); err != nil || l.Tokenizer != nil {
		t.Errorf("stale tokenizer files: %v %v", err, l.Tokenizer)
	}
	if joined := strings.Join(notes, "\n"); !strings.Contains(joined, `"byte" tokenizer`) || !strings.Contains(joined, "removed") {
		t.Errorf("notes %q", notes)
	}
}

func TestExpandShared(t *testing.T) {
	c := cfg(true, 64, model.ShareAll, 2)
	m := newModel(t, c, 4)
	if _, err := Save(t.TempDir(), m, nil, Options{}); err == nil || !strings.Contains(err.Error(), "ExpandShared") {
		t.Fatalf("shared model without ExpandShared: %v", err)
	}
	dir := t.TempDir()
	notes, err := Save(dir, m, nil, Options{ExpandShared: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "expanded") {
		t.Errorf("notes %q", notes)
	}
	l, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if l.Model.Config.Share != model.ShareNone {
		t.Fatalf("config %+v", l.Model.Config)
	}
	tokens := []int32{3, 1, 4, 1, 5, 9, 2, 6}
	if _, err := m.Forward(tokens, nil, 1, 8); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Model.Forward(tokens, nil, 1, 8); err != nil {
		t.Fatal(err)
	}
	if !sameBits(m.Logits(), l.Model.Logits()) {
		t.Error("the expanded model computes different logits")
	}
}

// hfFile builds a model.safetensors in memory from a model Encode wrote,
// after edit changes it.
func hfFiles(t *testing.T, tie bool, edit func(f *safetensors.File, conf map[string]any)) ([]byte, *safetensors.File) {
	t.Helper()
	cj, f, err := Encode(newModel(t, cfg(tie, 64, model.ShareNone, 1), 9), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var conf map[string]any
	if err := json.Unmarshal(cj, &conf); err != nil {
		t.Fatal(err)
	}
	edit(f, conf)
	cj, _ = json.Marshal(conf)
	return cj, f
}

func remove(f *safetensors.File, name string) {
	f.Tensors = slices.DeleteFunc(f.Tensors, func(t safetensors.Tensor) bool { return t.Name == name })
}

func TestFromFilesVariants(t *testing.T) {
	// Without the prefix, with mask buffers, lm_head equal to wte: tied.
	cj, f := hfFiles(t, true, func(f *safetensors.File, conf map[string]any) {
		for i := range f.Tensors {
			f.Tensors[i].Name = strings.TrimPrefix(f.Tensors[i].Name, "transformer.")
		}
		wte, _ := f.Get("wte.weight")
		head := wte
		head.Name = "lm_head.weight"
		f.Tensors = append(f.Tensors, head,
			safetensors.Tensor{Name: "h.0.attn.bias", DType: safetensors.U8, Shape: []int{1, 1, 2, 2}, Data: []byte{1, 0, 1, 1}},
			safetensors.FromFloat32("h.3.attn.masked_bias", nil, []float32{-1e4}))
		delete(conf, "tie_word_embeddings")
		conf["n_inner"] = nil
	})
	l, err := FromFiles(cj, f)
	if err != nil {
		t.Fatal(err)
	}
	if !l.Model.Config.Tie || len(l.Notes) != 0 {
		t.Errorf("tie %v, notes %q", l.Model.Config.Tie, l.Notes)
	}
	// lm_head different from wte under a tying config: loaded untied, noted.
	cj, f = hfFiles(t, true, func(f *safetensors.File, conf map[string]any) {
		wte, _ := f.Get("transformer.wte.weight")
		v, _ := wte.Float32s()
		v[7] += 1
		f.Tensors = append(f.Tensors, safetensors.FromFloat32("lm_head.weight", wte.Shape, v))
	})
	if l, err = FromFiles(cj, f); err != nil {
		t.Fatal(err)
	}
	if l.Model.Config.Tie || len(l.Notes) != 1 || !strings.Contains(l.Notes[0], "untied") {
		t.Errorf("tie %v, notes %q", l.Model.Config.Tie, l.Notes)
	}
	if got := l.Model.Param("lm_head")[7]; got != l.Model.Param("wte")[7]+1 {
		t.Errorf("lm_head not loaded: %v", got)
	}
	// gelu_pytorch_tanh is the same function.
	cj, f = hfFiles(t, true, func(_ *safetensors.File, conf map[string]any) { conf["activation_function"] = "gelu_pytorch_tanh" })
	if _, err := FromFiles(cj, f); err != nil {
		t.Error(err)
	}
	// Defaults: an empty config is GPT-2 small, which these tensors are not.
	if _, err := FromFiles([]byte("{}"), f); err == nil || !strings.Contains(err.Error(), "[50257 768]") {
		t.Errorf("empty config: %v", err)
	}
}

func TestFromFilesErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		tie  bool
		edit func(f *safetensors.File, conf map[string]any)
		want string
	}{
		{"epsilon", true, func(_ *safetensors.File, c map[string]any) { c["layer_norm_epsilon"] = 1e-6 }, "layer_norm_epsilon is 1e-06"},
		{"activation", true, func(_ *safetensors.File, c map[string]any) { c["activation_function"] = "relu" }, `activation_function "relu"`},
		{"exact gelu", true, func(_ *safetensors.File, c map[string]any) { c["activation_function"] = "gelu" }, "not supported"},
		{"model type", true, func(_ *safetensors.File, c map[string]any) { c["model_type"] = "llama" }, `model_type is "llama"`},
		{"no scaling", true, func(_ *safetensors.File, c map[string]any) { c["scale_attn_weights"] = false }, "scale_attn_weights"},
		{"layer scaling", true, func(_ *safetensors.File, c map[string]any) { c["scale_attn_by_inverse_layer_idx"] = true }, "inverse_layer_idx"},
		{"cross attention", true, func(_ *safetensors.File, c map[string]any) { c["add_cross_attention"] = true }, "cross_attention"},
		{"bad field type", true, func(_ *safetensors.File, c map[string]any) { c["n_embd"] = "sixteen" }, "config.json"},
		{"negative", true, func(_ *safetensors.File, c map[string]any) { c["n_layer"] = -1 }, "layers must be positive"},
		{"heads", true, func(_ *safetensors.File, c map[string]any) { c["n_head"] = 3 }, "must divide"},
		{"untied without head", true, func(_ *safetensors.File, c map[string]any) { c["tie_word_embeddings"] = false }, "no lm_head.weight"},
		{"missing tensor", true, func(f *safetensors.File, _ map[string]any) { remove(f, "transformer.h.2.mlp.c_fc.bias") }, `no tensor "h.2.mlp.c_fc.bias"`},
		{"more layers", true, func(_ *safetensors.File, c map[string]any) { c["n_layer"] = 5 }, `no tensor "h.4.ln_1.weight"`},
		{"fewer layers", true, func(_ *safetensors.File, c map[string]any) { c["n_layer"] = 3 }, "does not: h.3."},
		{"wider", true, func(_ *safetensors.File, c map[string]any) { c["n_embd"] = 32 }, "has shape [61 16], config.json implies [61 32]"},
		{"inner", true, func(_ *safetensors.File, c map[string]any) { c["n_inner"] = 40 }, "(Conv1D weights are stored (in, out))"},
		{"vocab", true, func(_ *safetensors.File, c map[string]any) { c["vocab_size"] = 62 }, "[62 16]"},
		{"positions", true, func(_ *safetensors.File, c map[string]any) { c["n_positions"] = 1024 }, "[1024 16]"},
		{"transposed conv", true, func(f *safetensors.File, _ map[string]any) {
			for i := range f.Tensors {
				if f.Tensors[i].Name == "transformer.h.0.attn.c_attn.weight" {
					f.Tensors[i].Shape = []int{48, 16}
				}
			}
		}, "Conv1D"},
		{"extra tensor", true, func(f *safetensors.File, _ map[string]any) {
			f.Tensors = append(f.Tensors, safetensors.FromFloat32("transformer.h.0.attn.q_proj.weight", []int{1}, []float32{1}))
		}, "h.0.attn.q_proj.weight"},
		{"integer dtype", true, func(f *safetensors.File, _ map[string]any) {
			remove(f, "transformer.ln_f.bias")
			f.Tensors = append(f.Tensors, safetensors.FromInt32("transformer.ln_f.bias", []int{16}, make([]int32, 16)))
		}, "dtype I32"},
		{"both names", true, func(f *safetensors.File, _ map[string]any) {
			t, _ := f.Get("transformer.wpe.weight")
			t.Name = "wpe.weight"
			f.Tensors = append(f.Tensors, t)
		}, "both with and without"},
		{"lm_head shape", false, func(f *safetensors.File, _ map[string]any) {
			remove(f, "lm_head.weight")
			f.Tensors = append(f.Tensors, safetensors.FromFloat32("lm_head.weight", []int{16, 61}, make([]float32, 16*61)))
		}, "lm_head.weight has shape [16 61]"},
		{"mask-like but not a mask", true, func(f *safetensors.File, _ map[string]any) {
			f.Tensors = append(f.Tensors, safetensors.FromFloat32("transformer.h.0.attn.bias.x", []int{1}, []float32{1}))
		}, "h.0.attn.bias.x"},
	} {
		cj, f := hfFiles(t, c.tie, c.edit)
		l, err := FromFiles(cj, f)
		if err == nil || l != nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
		for _, dt := range []model.DType{model.BF16, model.Int8} {
			l, err := FromFilesAs(cj, f, dt)
			if err == nil || l != nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s, FromFilesAs %s: error %v, want one containing %q", c.name, dt, err, c.want)
			}
		}
	}
	if _, err := FromFiles([]byte("not json"), &safetensors.File{}); err == nil || !strings.Contains(err.Error(), "config.json") {
		t.Errorf("bad JSON: %v", err)
	}
}

func TestLoadDirectoryErrors(t *testing.T) {
	good := t.TempDir()
	if _, err := Save(good, newModel(t, cfg(true, 64, model.ShareNone, 1), 1), nil, Options{}); err != nil {
		t.Fatal(err)
	}
	weights, _ := os.ReadFile(filepath.Join(good, WeightsFile))
	conf, _ := os.ReadFile(filepath.Join(good, ConfigFile))
	mk := func(files map[string][]byte) string {
		d := t.TempDir()
		for n, b := range files {
			if err := os.WriteFile(filepath.Join(d, n), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	for _, c := range []struct {
		name  string
		files map[string][]byte
		want  string
	}{
		{"empty", nil, "no config.json"},
		{"no weights", map[string][]byte{ConfigFile: conf}, "no model.safetensors"},
		{"pickle", map[string][]byte{ConfigFile: conf, "pytorch_model.bin": {1}}, "pytorch_model.bin"},
		{"sharded", map[string][]byte{ConfigFile: conf, "model.safetensors.index.json": []byte("{}")}, "sharded"},
		{"truncated weights", map[string][]byte{ConfigFile: conf, WeightsFile: weights[:len(weights)-5]}, "safetensors"},
		{"header past the end", map[string][]byte{ConfigFile: conf, WeightsFile: append([]byte{0xff, 0xff, 0, 0, 0, 0, 0, 0}, '{', '}')}, "header length"},
		{"overlapping tensors", map[string][]byte{ConfigFile: conf, WeightsFile: rawST(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, 12)}, "overlap"},
		{"offsets past the end", map[string][]byte{ConfigFile: conf, WeightsFile: rawST(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, 8)}, "data_offsets"},
		{"unknown dtype", map[string][]byte{ConfigFile: conf, WeightsFile: rawST(`{"a":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}`, 2)}, "F8_E4M3"},
		{"bad vocab.json", map[string][]byte{ConfigFile: conf, WeightsFile: weights, "vocab.json": []byte("[]"), "merges.txt": nil}, "vocab.json"},
	} {
		dir := mk(c.files)
		_, err := Load(dir)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
		for _, dt := range []model.DType{model.F32, model.BF16, model.Int8} {
			if _, err := LoadAs(dir, dt); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s, LoadAs %s: error %v, want one containing %q", c.name, dt, err, c.want)
			}
		}
	}
	l, err := Load(mk(map[string][]byte{ConfigFile: conf, WeightsFile: weights, "vocab.json": []byte("{}")}))
	if err != nil || len(l.Notes) != 1 || !strings.Contains(l.Notes[0], "only one of") {
		t.Errorf("lone vocab.json: %v, notes %v", err, l)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing directory loaded")
	}
}

// rawST returns a safetensors file with the given JSON header and n data bytes.
func rawST(header string, n int) []byte {
	b := make([]byte, 8, 8+len(header)+n)
	b[0] = byte(len(header))
	b = append(b, header...)
	return append(b, make([]byte, n)...)
}

// FuzzLoadHF feeds arbitrary config.json and model.safetensors contents to
// the loader: it must return a model or an error, never panic, and never
// accept a model whose shapes disagree with the files.
func FuzzLoadHF(f *testing.F) {
	conf, _ := os.ReadFile(filepath.Join(fixtures, "hf_tied", ConfigFile))
	weights, _ := os.ReadFile(filepath.Join(fixtures, "hf_tied", WeightsFile))
	f.Add(conf, weights)
	f16, _ := os.ReadFile(filepath.Join(fixtures, "hf_f16_noprefix", WeightsFile))
	f.Add(conf, f16)
	tiny := model.Config{Vocab: 2, DModel: 1, Layers: 1, Heads: 1, DFF: 1, MaxSeq: 1, Tie: true, Share: model.ShareNone, Groups: 1}
	m, _ := model.New(tiny)
	cj, tf, _ := Encode(m, Options{})
	tb, _ := safetensors.Encode(tf)
	f.Add(cj, tb)
	f.Add([]byte(`{"n_layer": 0}`), tb)
	f.Fuzz(func(t *testing.T, configJSON, st []byte) {
		file, err := safetensors.Parse(st)
		if err != nil {
			return
		}
		l, err := FromFiles(configJSON, file)
		if err != nil {
			if l != nil {
				t.Fatal("model with error")
			}
			return
		}
		// What loads can be written and read back unchanged.
		cj, out, err := Encode(l.Model, Options{})
		if err != nil {
			t.Fatal(err)
		}
		back, err := FromFiles(cj, out)
		if err != nil || back.Model.Config != l.Model.Config || !sameBits(back.Model.Params, l.Model.Params) {
			t.Fatalf("re-encode: %v", err)
		}
	})
}

// TestHugeConfigIsCheap: sizes in config.json cost nothing until the file's
// tensors back them.
func TestHugeConfigIsCheap(t *testing.T) {
	for _, edit := range []func(c map[string]any){
		func(c map[string]any) { c["n_layer"] = 1 << 40 },
		func(c map[string]any) { c["vocab_size"] = 1 << 30 },
		func(c map[string]any) { c["n_positions"] = 1 << 40; c["n_embd"] = 1 << 20 },
	} {
		cj, f := hfFiles(t, true, func(_ *safetensors.File, c map[string]any) { edit(c) })
		if _, err := FromFiles(cj, f); err == nil {
			t.Error("accepted")
		}
	}
}

// tformer trains without dropout, so the config it writes declares none
// (issue 10: it declared GPT-2's 0.1).
func TestConfigDeclaresNoDropout(t *testing.T) {
	var c map[string]any
	if err := json.Unmarshal(configJSON(model.Tiny()), &c); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"attn_pdrop", "embd_pdrop", "resid_pdrop"} {
		if c[k] != 0.0 {
			t.Errorf("%s = %v, want 0", k, c[k])
		}
	}
}

package hfbart

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tformer/tformer/hf"
	"github.com/tformer/tformer/safetensors"
)

const fixtureDir = "../testdata/bart"

// copyDir copies the fixture directory name into a temporary one.
func copyDir(t *testing.T, name string) string {
	t.Helper()
	dst := t.TempDir()
	files, _ := filepath.Glob(filepath.Join(fixtureDir, name, "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func TestLoadFixture(t *testing.T) {
	l, err := Load(filepath.Join(fixtureDir, "bart_f32", ConfigFile)) // a file in the directory works too
	if err != nil {
		t.Fatal(err)
	}
	c := l.Model.Config
	if c.Vocab != 270 || c.DModel != 16 || c.EncLayers != 2 || c.Layers != 2 || c.Heads != 2 || c.DFF != 40 || c.MaxSeq != 12 ||
		c.PosOffset != 2 || !c.EmbedNorm || !c.PostLN || c.EmbedScale || c.TyingMode() != "all" || !c.ErfGELU() {
		t.Fatalf("config %+v", c)
	}
	ids, ok := l.IDs()
	if !ok || ids != (SpecialIDs{Pad: 1, BOS: 0, EOS: 2, DecoderStart: 2}) {
		t.Fatalf("ids %+v %v", ids, ok)
	}
	if !IsBART(filepath.Join(fixtureDir, "bart_f32")) || IsBART(fixtureDir) {
		t.Fatal("IsBART")
	}
}

// editConfig returns the fixture's config.json with old replaced by new.
func editConfig(t *testing.T, dir, old, new string) {
	t.Helper()
	p := filepath.Join(dir, ConfigFile)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.Contains(s, old) {
		t.Fatalf("config.json lacks %q", old)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(s, old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBadConfig: each unsupported or broken config.json is one clear line.
func TestBadConfig(t *testing.T) {
	for _, tc := range []struct{ old, new, want string }{
		{`"model_type": "bart"`, `"model_type": "bart", "normalize_before": true`, "normalize_before true"},
		{`"model_type": "bart"`, `"model_type": "bart", "add_final_layer_norm": true`, "add_final_layer_norm true"},
		{`"model_type": "bart"`, `"model_type": "bart", "normalize_embedding": false`, "normalize_embedding false"},
		{`"model_type": "bart"`, `"model_type": "bart", "static_position_embeddings": true`, "static_position_embeddings true"},
		{`"model_type": "bart"`, `"model_type": "bart", "add_bias_logits": true`, "add_bias_logits true"},
		{`"activation_function": "gelu"`, `"activation_function": "silu"`, `activation_function "silu"`},
		{`"activation_function": "gelu"`, `"activation_function": "tanh"`, `activation_function "tanh"`},
		{`"decoder_ffn_dim": 40`, `"decoder_ffn_dim": 48`, "decoder_ffn_dim 48"},
		{`"decoder_attention_heads": 2`, `"decoder_attention_heads": 4`, "decoder_attention_heads 4"},
		{`"encoder_attention_heads": 2`, `"encoder_attention_heads": 3`, "one head count"},
		{`"d_model": 16`, `"d_model": -16`, "d_model must be positive"},
		{`"encoder_layers": 2`, `"encoder_layers": 100000`, "encoder_layers"},
		{`"decoder_layers": 2`, `"decoder_layers": 3`, "no model.decoder.layers.2.self_attn.q_proj.weight"},
		{`"decoder_layers": 2`, `"decoder_layers": 60000`, "imply at least"},
		{`"vocab_size": 270`, `"vocab_size": 271`, "model.shared.weight has shape [270x16], config.json implies [271x16]"},
		{`"max_position_embeddings": 12`, `"max_position_embeddings": 1000000000000`, "max_position_embeddings"},
		{`"BartForConditionalGeneration"`, `"BartModel"`, "architectures [BartModel]"},
		{`"model_type": "bart"`, `"model_type": "mbart"`, "mbart"},
		{`"model_type": "bart"`, `"model_type": "marian"`, "model_type marian is not bart"},
	} {
		dir := copyDir(t, "bart_f32")
		editConfig(t, dir, tc.old, tc.new)
		_, err := Load(dir)
		if err == nil {
			t.Errorf("%s: loaded", tc.new)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
			t.Errorf("%s: error %q, want one line with %q", tc.new, msg, tc.want)
		}
	}
}

// TestBadTensors: missing, misshapen, mistyped, extra, untied, non-zero
// bias and non-finite tensors are refused before allocation, one line each.
func TestBadTensors(t *testing.T) {
	dir := filepath.Join(fixtureDir, "bart_f32")
	cj, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	h, err := Parse(cj)
	if err != nil {
		t.Fatal(err)
	}
	fresh := func() map[string]safetensors.Tensor {
		ts, err := hf.ReadWeights(dir)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	f32 := func(name string, shape []int, v []float32) safetensors.Tensor {
		return safetensors.FromFloat32(name, shape, v)
	}
	const q = "model.decoder.layers.1.encoder_attn.k_proj.weight"
	for _, tc := range []struct {
		name string
		edit func(map[string]safetensors.Tensor)
		want string
	}{
		{"missing", func(m map[string]safetensors.Tensor) { delete(m, q) }, "no " + q},
		{"missing embed_norm", func(m map[string]safetensors.Tensor) { delete(m, "model.encoder.layernorm_embedding.bias") }, "no model.encoder.layernorm_embedding.bias"},
		{"shape", func(m map[string]safetensors.Tensor) { m[q] = f32(q, []int{16, 15}, make([]float32, 240)) }, "has shape [16x15], config.json implies [16x16]"},
		{"positions without offset", func(m map[string]safetensors.Tensor) {
			n := "model.encoder.embed_positions.weight"
			m[n] = f32(n, []int{12, 16}, make([]float32, 192))
		}, "implies [14x16]"},
		{"dtype", func(m map[string]safetensors.Tensor) {
			m[q] = safetensors.FromInt32(q, []int{16, 16}, make([]int32, 256))
		}, "dtype I32"},
		{"extra", func(m map[string]safetensors.Tensor) {
			n := "model.decoder.layers.2.fc1.bias"
			m[n] = f32(n, []int{40}, make([]float32, 40))
		}, "model.decoder.layers.2.fc1.bias"},
		{"bias", func(m map[string]safetensors.Tensor) {
			v := make([]float32, 270)
			v[7] = 0.5
			m[biasName] = f32(biasName, []int{1, 270}, v)
		}, "final_logits_bias is not zero (0.5 at element 7)"},
		{"bias shape", func(m map[string]safetensors.Tensor) { m[biasName] = f32(biasName, []int{270}, make([]float32, 270)) }, "final_logits_bias has shape [270]"},
		{"tied copy differs", func(m map[string]safetensors.Tensor) {
			v, _ := m["lm_head.weight"].Float32s()
			v[3] += 1
			m["lm_head.weight"] = f32("lm_head.weight", []int{270, 16}, v)
		}, "lm_head.weight differs from model.shared.weight (first at element 3"},
		{"nan", func(m map[string]safetensors.Tensor) {
			v, _ := m[q].Float32s()
			v[5] = float32(math.NaN())
			m[q] = f32(q, []int{16, 16}, v)
		}, "non-finite value (NaN at element 5)"},
		{"inf in shared", func(m map[string]safetensors.Tensor) {
			v, _ := m["model.shared.weight"].Float32s()
			v[0] = float32(math.Inf(1))
			m["model.shared.weight"] = f32("model.shared.weight", []int{270, 16}, v)
		}, "model.shared.weight holds a non-finite value"},
	} {
		ts := fresh()
		tc.edit(ts)
		_, err := FromTensors(h, ts)
		if err == nil {
			t.Errorf("%s: loaded", tc.name)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
			t.Errorf("%s: error %q, want one line with %q", tc.name, msg, tc.want)
		}
	}
	// The untied fixture without lm_head.weight.
	udir := filepath.Join(fixtureDir, "bart_untied_relu_bf16")
	ucj, _ := os.ReadFile(filepath.Join(udir, ConfigFile))
	uh, err := Parse(ucj)
	if err != nil {
		t.Fatal(err)
	}
	uts, err := hf.ReadWeights(udir)
	if err != nil {
		t.Fatal(err)
	}
	delete(uts, "lm_head.weight")
	if _, err := FromTensors(uh, uts); err == nil || !strings.Contains(err.Error(), "tie_word_embeddings false but the weights have no lm_head.weight") {
		t.Errorf("untied without lm_head: %v", err)
	}
}

func TestBadFiles(t *testing.T) {
	empty := t.TempDir()
	if _, err := Load(empty); err == nil || !strings.Contains(err.Error(), "no config.json") {
		t.Errorf("empty directory: %v", err)
	}
	dir := copyDir(t, "bart_f32")
	os.Remove(filepath.Join(dir, WeightsFile))
	os.WriteFile(filepath.Join(dir, "pytorch_model.bin"), []byte("PK"), 0o644)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "pytorch_model.bin") {
		t.Errorf("pickle only: %v", err)
	}
	dir = copyDir(t, "bart_f32")
	b, _ := os.ReadFile(filepath.Join(dir, WeightsFile))
	os.WriteFile(filepath.Join(dir, WeightsFile), b[:len(b)/2], 0o644)
	if _, err := Load(dir); err == nil || strings.Contains(err.Error(), "\n") {
		t.Errorf("truncated weights: %v", err)
	}
	dir = copyDir(t, "bart_f32")
	os.WriteFile(filepath.Join(dir, ConfigFile), []byte(`{"model_type": "bart",`), 0o644)
	if _, err := Load(dir); err == nil || strings.Contains(err.Error(), "\n") {
		t.Errorf("corrupt config: %v", err)
	}
}

// FuzzLoad feeds arbitrary config.json and model.safetensors bytes to the
// reader: it must return an error or a model no larger than the data
// backing it (the shared table is copied at most twice).
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"bart_f32", "bart_untied_relu_bf16"} {
		cj, err := os.ReadFile(filepath.Join(fixtureDir, name, ConfigFile))
		if err != nil {
			f.Fatal(err)
		}
		w, err := os.ReadFile(filepath.Join(fixtureDir, name, WeightsFile))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(cj, w)
		f.Add([]byte(strings.Replace(string(cj), `"max_position_embeddings": 12`, `"max_position_embeddings": 1e12`, 1)), w)
		f.Add([]byte(strings.Replace(string(cj), `"decoder_layers": 2`, `"decoder_layers": 1`, 1)), w)
		f.Add(cj, w[:len(w)-3])
	}
	f.Fuzz(func(t *testing.T, config, weights []byte) {
		h, err := Parse(config)
		if err != nil {
			return
		}
		file, err := safetensors.Parse(weights)
		if err != nil {
			return
		}
		ts := map[string]safetensors.Tensor{}
		for _, tn := range file.Tensors {
			ts[tn.Name] = tn
		}
		l, err := FromTensors(h, ts)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
			return
		}
		if n := l.Model.Layout.Total; n > len(weights) {
			t.Errorf("loaded %d parameters from %d bytes of weights", n, len(weights))
		}
	})
}

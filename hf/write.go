package hf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tformer/tformer/internal/atomicfile"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/safetensors"
	"github.com/tformer/tformer/tokenizer"
)

// Options control Save and Encode.
type Options struct {
	// ExpandShared writes a model with cross-layer sharing as the
	// equivalent unshared one, one copy of each shared block per layer
	// (Hugging Face's Llama family has no sharing). Without it such a model
	// is refused.
	ExpandShared bool
}

// ModelType returns the Hugging Face model_type c is written as — "llama"
// (RMSNorm, rotary positions, SwiGLU, no biases or all of them), "qwen2"
// (q/k/v biases only), "gemma" (1 + w norms, √d embedding, GeGLU with the
// tanh GELU), "gemma2" (Gemma's with post-norms, and soft-caps, a query
// scalar, a window on the even layers as given) or, with a sliding window
// on every layer, "mistral" (Llama's
// choices without biases) or "qwen2" (use_sliding_window) — or an error
// naming the first choice none of them makes.
func ModelType(c model.Config) (string, error) {
	c = c.Canonical()
	switch {
	case c.IsEncoder():
		return "", errors.New("an encoder has no Llama-family Hugging Face layout")
	case c.Factorized():
		return "", fmt.Errorf("embed-dim %d (a factorized embedding) has no Llama-family Hugging Face layout", c.EmbedDim)
	case !c.RMS():
		return "", errors.New("norm layernorm: the Llama family uses RMSNorm (a GPT-2-style model is written as a GPT-2 directory)")
	case !c.Rotary():
		return "", errors.New("learned positions: the Llama family uses rotary positions")
	case !c.Gated():
		return "", errors.New("mlp gelu: the Llama family uses a gated FFN (swiglu, or geglu for Gemma)")
	}
	gemma2 := c.AttnSoftcap != 0 || c.FinalSoftcap != 0 || c.QueryScalar != 0 || c.PostNorms
	gemma := gemma2 || c.NormOffset || c.EmbedScale || c.MLP == model.GeGLU
	if gemma {
		switch {
		case !(c.NormOffset && c.EmbedScale && c.MLP == model.GeGLU):
			return "", fmt.Errorf("norm-offset %v, embed-scale %v and mlp %s: Gemma has all three (1 + w norms, √d embedding, geglu), Llama none", c.NormOffset, c.EmbedScale, c.MLP)
		case c.ErfGELU():
			return "", errors.New("geglu with the erf GELU: Gemma computes the tanh GELU")
		case c.Bias != model.BiasNone:
			return "", fmt.Errorf("bias %s: Gemma has no biases (--bias none)", biasName(c.Bias))
		}
		if gemma2 || c.SlidingWindow > 0 {
			switch {
			case !c.PostNorms:
				return "", errors.New("soft-capping, query-scalar and sliding windows with Gemma's choices are Gemma 2's, which has post-norms too (--post-norms)")
			case c.SlidingWindow > 0 && c.SlidingEvery != 2:
				return "", fmt.Errorf("sliding-every %d: Gemma 2 windows every other layer (sliding-every 2)", c.SlidingEvery)
			}
			return "gemma2", nil
		}
		return "gemma", nil
	}
	if c.SlidingWindow > 0 {
		switch {
		case c.SlidingEvery > 1:
			return "", fmt.Errorf("sliding-every %d: the Llama family's windows are on every layer (Gemma 2's alternation is not written)", c.SlidingEvery)
		case c.Bias == model.BiasQKV:
			return "qwen2", nil
		case c.Bias == model.BiasNone:
			return "mistral", nil
		}
		return "", errors.New("sliding-window with every bias: Mistral has no biases (and Qwen2 q/k/v ones only)")
	}
	switch c.Bias {
	case model.BiasQKV:
		return "qwen2", nil
	case model.BiasNone, "":
		return "llama", nil
	}
	return "", fmt.Errorf("unknown bias %q", c.Bias)
}

// biasName is the --bias value of b (the default "" is all).
func biasName(b model.Bias) string {
	if b == "" {
		return string(model.BiasAll)
	}
	return string(b)
}

// CheckWritable reports why m cannot be written with opts, or nil if it can.
func CheckWritable(m *model.Model, opts Options) error {
	if _, err := ModelType(m.Config); err != nil {
		return err
	}
	if c := m.Config; c.Share != model.ShareNone && !opts.ExpandShared {
		return fmt.Errorf("the Llama family's Hugging Face layout cannot express cross-layer sharing (this model shares %s in %d group(s)); Options.ExpandShared writes one copy of each shared block per layer (same outputs, %d instead of %d stored parameters)",
			c.Share, c.Groups, expandedParams(c), c.UniqueParams())
	}
	return nil
}

// expandedParams is the number of stored parameters of c without sharing.
func expandedParams(c model.Config) int64 {
	u := c
	u.Share, u.Groups = model.ShareNone, 1
	return u.UniqueParams()
}

// Encode returns the config.json and model.safetensors content of m in the
// layout LlamaForCausalLM (Qwen2ForCausalLM, GemmaForCausalLM) reads: F32
// weights under Hugging Face's names, lm_head.weight only when untied, the
// metadata format "pt". tok, when not nil, supplies bos_token_id and
// eos_token_id.
func Encode(m *model.Model, tok tokenizer.Tokenizer, opts Options) ([]byte, *safetensors.File, error) {
	if err := CheckWritable(m, opts); err != nil {
		return nil, nil, err
	}
	mt, _ := ModelType(m.Config)
	f := &safetensors.File{Metadata: map[string]string{"format": "pt"}}
	for _, e := range names(m.Config) {
		v := m.Param(e.tf)[e.off:]
		n := 1
		for _, s := range e.shape {
			n *= s
		}
		f.Tensors = append(f.Tensors, safetensors.FromFloat32(e.hf, e.shape, v[:n]))
	}
	cj, err := configJSON(m.Config, mt, tok)
	if err != nil {
		return nil, nil, err
	}
	return cj, f, nil
}

// configJSON writes the config.json of c as model_type mt, in the field
// names hfconfig reads back (and transformers reads).
func configJSON(c model.Config, mt string, tok tokenizer.Tokenizer) ([]byte, error) {
	c = c.Canonical()
	eps := c.LayerNormEps
	if eps == 0 {
		eps = 1e-5
	}
	act := "silu"
	if mt == "gemma" || mt == "gemma2" {
		act = "gelu_pytorch_tanh"
	}
	type kv struct {
		k string
		v any
	}
	fields := []kv{
		{"architectures", []string{map[string]string{"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM", "gemma": "GemmaForCausalLM", "mistral": "MistralForCausalLM", "gemma2": "Gemma2ForCausalLM"}[mt]}},
		{"model_type", mt},
		{"vocab_size", c.Vocab},
		{"hidden_size", c.DModel},
		{"num_hidden_layers", c.Layers},
		{"num_attention_heads", c.Heads},
		{"num_key_value_heads", c.KV()},
		{"head_dim", c.HeadDim()},
		{"intermediate_size", c.DFF},
		{"max_position_embeddings", c.MaxSeq},
		{"rms_norm_eps", eps},
		{"rope_theta", c.Theta()},
		{"hidden_act", act},
		{"tie_word_embeddings", c.Tie},
		{"torch_dtype", "float32"},
	}
	if mt == "gemma" || mt == "gemma2" {
		fields = append(fields, kv{"hidden_activation", act})
	}
	if mt == "gemma2" {
		// Gemma 2 always windows its even layers: no window is one as wide
		// as the context.
		qs := c.QueryScalar
		if qs == 0 {
			qs = float64(c.HeadDim())
		}
		w := c.SlidingWindow
		if w == 0 {
			w = c.MaxSeq
		}
		fields = append(fields, kv{"sliding_window", w}, kv{"attn_logit_softcapping", nullIfZero(c.AttnSoftcap)},
			kv{"final_logit_softcapping", nullIfZero(c.FinalSoftcap)}, kv{"query_pre_attn_scalar", qs})
	}
	if mt == "llama" {
		fields = append(fields, kv{"attention_bias", c.Bias == ""}, kv{"mlp_bias", c.Bias == ""})
	}
	if c.SlidingWindow > 0 && mt != "gemma2" {
		fields = append(fields, kv{"sliding_window", c.SlidingWindow})
		if mt == "qwen2" {
			fields = append(fields, kv{"use_sliding_window", true}, kv{"max_window_layers", 0})
		}
	}
	if r := c.RopeScaling; r != nil {
		fields = append(fields, kv{"rope_scaling", map[string]any{"rope_type": "llama3", "factor": r.Factor, "low_freq_factor": r.LowFreqFactor,
			"high_freq_factor": r.HighFreqFactor, "original_max_position_embeddings": r.OrigContext}})
	}
	if h, ok := tok.(*tokenizer.HF); ok {
		if id, ok := h.BOS(); ok {
			fields = append(fields, kv{"bos_token_id", id})
		}
		if id, ok := h.EOS(); ok {
			fields = append(fields, kv{"eos_token_id", id})
		}
	}
	var b bytes.Buffer
	b.WriteString("{\n")
	for i, f := range fields {
		v, err := json.Marshal(f.v)
		if err != nil {
			return nil, fmt.Errorf("config.json field %s: %w", f.k, err)
		}
		fmt.Fprintf(&b, "  %q: %s", f.k, v)
		if i < len(fields)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

// tokenizerFiles returns the files that carry tok into a model directory,
// by name: a tokenizer.json tokenizer's own tokenizer.json (and its
// tokenizer_config.json), read from where it was loaded; a byte-level BPE's
// (GPT-2's) vocab.json and merges.txt; nil for the byte tokenizer, with a
// note.
func tokenizerFiles(tok tokenizer.Tokenizer) (map[string][]byte, string, error) {
	switch t := tok.(type) {
	case nil:
		return nil, "the model names no tokenizer, so the directory has no tokenizer files", nil
	case *tokenizer.GPT2:
		tmp, err := os.MkdirTemp("", "tformer-bpe")
		if err != nil {
			return nil, "", err
		}
		defer os.RemoveAll(tmp)
		if err := t.WriteDir(tmp); err != nil {
			return nil, "", err
		}
		files := map[string][]byte{}
		for _, n := range []string{"vocab.json", "merges.txt"} {
			b, err := os.ReadFile(filepath.Join(tmp, n))
			if err != nil {
				return nil, "", err
			}
			files[n] = b
		}
		return files, "", nil
	case *tokenizer.HF:
		src := t.Name()
		if st, err := os.Stat(src); err == nil && st.IsDir() {
			src = filepath.Join(src, "tokenizer.json")
		}
		b, err := os.ReadFile(src)
		if err != nil {
			return nil, "", fmt.Errorf("copy the tokenizer: %w", err)
		}
		if _, err := tokenizer.ParseHF(b, nil); err != nil {
			return nil, "", fmt.Errorf("copy the tokenizer from %s: %w", src, err)
		}
		files := map[string][]byte{"tokenizer.json": b}
		if c, err := os.ReadFile(filepath.Join(filepath.Dir(src), "tokenizer_config.json")); err == nil {
			files["tokenizer_config.json"] = c
		}
		return files, "", nil
	case tokenizer.Byte:
		// A byte-level BPE with no merges whose ids are the byte values.
		return map[string][]byte{"tokenizer.json": tokenizer.ByteTokenizerJSON()}, "", nil
	}
	return nil, fmt.Sprintf("the directory has no tokenizer files: the %q tokenizer has none", tok.Name()), nil
}

// tokenizerNames are the tokenizer files Save writes or, when the model's
// tokenizer has none of them, removes (a file left from an earlier model
// would be read as this model's).
var tokenizerNames = []string{"tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt"}

// Save writes m into dir (created if needed) as config.json,
// model.safetensors (F32) and the tokenizer's files: when tok was read from
// a tokenizer.json, that tokenizer.json and its tokenizer_config.json; for
// GPT-2's BPE, vocab.json and merges.txt. Everything is checked
// and encoded before anything is written, and each file is written
// atomically. It returns notes for the user (for example that sharing was
// expanded).
func Save(dir string, m *model.Model, tok tokenizer.Tokenizer, opts Options) ([]string, error) {
	notes, err := save(dir, m, tok, opts)
	if err != nil {
		return nil, fmt.Errorf("save Hugging Face model %s: %w", dir, err)
	}
	return notes, nil
}

func save(dir string, m *model.Model, tok tokenizer.Tokenizer, opts Options) ([]string, error) {
	if tok != nil && tok.VocabSize() > m.Config.Vocab {
		return nil, fmt.Errorf("the %s tokenizer has %d tokens but the model only %d", tok.Name(), tok.VocabSize(), m.Config.Vocab)
	}
	cj, f, err := Encode(m, tok, opts)
	if err != nil {
		return nil, err
	}
	var notes []string
	if c := m.Config; c.Share != model.ShareNone {
		notes = append(notes, fmt.Sprintf("cross-layer sharing (%s, %d group(s)) was expanded into per-layer copies: %d stored parameters instead of %d",
			c.Share, c.Groups, expandedParams(c), c.UniqueParams()))
	}
	files, note, err := tokenizerFiles(tok)
	if err != nil {
		return nil, err
	}
	if note != "" {
		notes = append(notes, note)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// A shard index left from an earlier model would not be read (the
	// single file wins), but would mislead; weights files it names too.
	if old, err := os.ReadFile(filepath.Join(dir, IndexFile)); err == nil {
		var idx struct {
			WeightMap map[string]string `json:"weight_map"`
		}
		if json.Unmarshal(old, &idx) == nil {
			for _, s := range idx.WeightMap {
				if s == filepath.Base(s) && filepath.Ext(s) == ".safetensors" && s != WeightsFile {
					os.Remove(filepath.Join(dir, s))
				}
			}
		}
		if err := os.Remove(filepath.Join(dir, IndexFile)); err != nil {
			return nil, err
		}
		notes = append(notes, "removed the directory's old sharded weights")
	}
	if err := safetensors.WriteFile(filepath.Join(dir, WeightsFile), f); err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, ConfigFile), cj, 0o644); err != nil {
		return nil, err
	}
	for _, name := range tokenizerNames {
		p := filepath.Join(dir, name)
		if b, ok := files[name]; ok {
			if err := atomicfile.WriteFile(p, b, 0o644); err != nil {
				return nil, err
			}
		} else if exists(p) {
			// A tokenizer left from an earlier model would be read as
			// this model's.
			if err := os.Remove(p); err != nil {
				return nil, err
			}
			notes = append(notes, fmt.Sprintf("removed the directory's old %s, which this model's tokenizer does not use", name))
		}
	}
	return notes, nil
}

// nullIfZero is v, or nil (JSON null: none) when v is 0.
func nullIfZero(v float64) any {
	if v == 0 {
		return nil
	}
	return v
}

// Package hfconfig decodes a Hugging Face config.json into tformer's model
// description for every family tformer knows: gpt2, bert, albert (the
// families of the original engine), llama, mistral, qwen2, gemma, gemma2
// (the Llama family's choices: RMSNorm, rotary positions, gated FFNs,
// grouped-query attention) and the encoder–decoders bart, marian and t5
// (Config.EncDec). One decoder, so that the cost model and the
// loaders read a config the same way.
//
// What the engine's model.Config cannot express — a BERT pooler, ALBERT's
// embedding size, token types — is returned beside it, for the cost model
// to count. Sliding windows, soft-caps and post-norms are in Model.
package hfconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"

	"github.com/tformer/tformer/model"
)

// Config is a decoded config.json.
type Config struct {
	ModelType string       // the config's model_type (or the family guessed from its fields)
	Name      string       // _name_or_path, or "<model_type> config"
	Model     model.Config // the shape and the family's choices (an encoder's Arch is model.ArchEncoder)

	// Encoders (bert, albert).
	EmbedDim  int  // ALBERT's embedding_size (0: d)
	TypeVocab int  // type_vocab_size
	Pooler    bool // BertModel and AlbertModel have a pooler

	// Defaulted lists the shape fields that were absent and took
	// transformers' defaults (GPT2Config's GPT-2 small shape; only gpt2
	// has such defaults). A loader checks them against the tensors; the
	// cost model, which has none, refuses them.
	Defaulted []string

	// EncDec is the shape of an encoder–decoder (bart, marian, t5); Model
	// is then the zero Config (the engine's decoder and encoder do not
	// describe it).
	EncDec *EncDec
}

// ModelTypes lists the supported model_type values.
func ModelTypes() []string {
	return append([]string{"gpt2", "bert", "albert", "llama", "mistral", "qwen2", "gemma", "gemma2"}, encdecTypes...)
}

// Load reads and decodes a config.json.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// fields reads typed values from the raw JSON object, remembering the
// first problem (naming the field).
type fields struct {
	raw map[string]json.RawMessage
	err error
}

func (f *fields) fail(format string, a ...any) {
	if f.err == nil {
		f.err = fmt.Errorf("config.json: "+format, a...)
	}
}

func (f *fields) has(k string) bool {
	r, ok := f.raw[k]
	return ok && string(r) != "null"
}

func (f *fields) str(k string) string {
	var v string
	if f.has(k) {
		if err := json.Unmarshal(f.raw[k], &v); err != nil {
			f.fail("%s must be a string, got %s", k, f.raw[k])
		}
	}
	return v
}

func (f *fields) integer(k string, def int, required bool) int {
	if !f.has(k) {
		if required {
			f.fail("missing %s", k)
		}
		return def
	}
	var v float64
	if err := json.Unmarshal(f.raw[k], &v); err != nil || v != math.Trunc(v) {
		f.fail("%s must be an integer, got %s", k, f.raw[k])
		return def
	}
	if math.Abs(v) > 1<<40 {
		f.fail("%s is %s: sizes that large would overflow 64-bit integers in the parameter and FLOP counts", k, f.raw[k])
		return def
	}
	return int(v)
}

func (f *fields) number(k string, def float64) float64 {
	if !f.has(k) {
		return def
	}
	var v float64
	if err := json.Unmarshal(f.raw[k], &v); err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		f.fail("%s must be a number, got %s", k, f.raw[k])
		return def
	}
	return v
}

func (f *fields) boolean(k string, def bool) bool {
	if !f.has(k) {
		return def
	}
	var v bool
	if err := json.Unmarshal(f.raw[k], &v); err != nil {
		f.fail("%s must be true or false, got %s", k, f.raw[k])
	}
	return v
}

// ModelTypeOf returns the model_type of a config.json (lower-cased), or,
// without one, the family guessed from the fields present (gpt2, albert or
// bert; "" when none fits) — the first step of Parse, for loaders that
// refuse other families before decoding their fields.
func ModelTypeOf(data []byte) (string, error) {
	f := &fields{}
	if err := json.Unmarshal(data, &f.raw); err != nil {
		return "", fmt.Errorf("parse config.json: %w", err)
	}
	return f.modelType()
}

func (f *fields) modelType() (string, error) {
	mt := strings.ToLower(f.str("model_type"))
	if f.err != nil {
		return "", f.err
	}
	if mt == "" {
		switch {
		case f.raw["n_embd"] != nil:
			mt = "gpt2"
		case f.raw["embedding_size"] != nil:
			mt = "albert"
		case f.raw["hidden_size"] != nil:
			mt = "bert"
		}
	}
	return mt, nil
}

// Parse decodes the JSON of a config.json. model_type selects the field
// names; without it the family is guessed from the fields present (gpt2,
// albert or bert). An unsupported model_type or option is an error naming
// the field. GPT-2's absent shape fields take GPT2Config's defaults (listed
// in Defaulted); the other families' are required. Options that change what a GPT-2 or BERT computes in ways no
// tformer model does (attention scaling switched off or by layer index,
// cross-attention, relative positions, a non-GELU activation) are refused.
func Parse(data []byte) (Config, error) { return ParseAs(data, "") }

// ParseAs is Parse for a loader that knows the family it reads: a
// config.json with neither a model_type nor fields to guess one from is
// read as modelType (hfgpt2 reads "{}" as GPT-2 small, as transformers'
// GPT2Config does).
func ParseAs(data []byte, modelType string) (Config, error) {
	f := &fields{}
	if err := json.Unmarshal(data, &f.raw); err != nil {
		return Config{}, fmt.Errorf("parse config.json: %w", err)
	}
	mt, err := f.modelType()
	if err != nil {
		return Config{}, err
	}
	if mt == "" {
		mt = modelType
	}
	var c Config
	switch mt {
	case "gpt2":
		// GPT2Config's defaults (GPT-2 small) for absent shape fields, as
		// transformers reads such a file; Defaulted names them.
		def := func(k string, v int) int {
			if !f.has(k) {
				c.Defaulted = append(c.Defaulted, k)
			}
			return f.integer(k, v, false)
		}
		d := def("n_embd", 768)
		var pos int
		if f.has("n_positions") || !f.has("n_ctx") {
			pos = def("n_positions", 1024)
		} else {
			pos = f.integer("n_ctx", 1024, false)
		}
		c.Model = model.Config{Vocab: def("vocab_size", 50257), DModel: d, Layers: def("n_layer", 12),
			Heads: def("n_head", 12), DFF: f.integer("n_inner", 4*d, false), MaxSeq: pos,
			Tie: f.boolean("tie_word_embeddings", true), LayerNormEps: f.number("layer_norm_epsilon", 1e-5)}
		switch act := f.str("activation_function"); act {
		case "", "gelu_new", "gelu_pytorch_tanh", "gelu_fast":
		case "gelu":
			c.Model.Activation = model.GELUErf
		default:
			f.fail("activation_function %q is not supported (want gelu_new, gelu_pytorch_tanh or gelu)", act)
		}
		if !f.boolean("scale_attn_weights", true) {
			f.fail("scale_attn_weights false is not supported (attention scores are always scaled by 1/sqrt(head size))")
		}
		if f.boolean("scale_attn_by_inverse_layer_idx", false) {
			f.fail("scale_attn_by_inverse_layer_idx is not supported")
		}
		if f.boolean("add_cross_attention", false) {
			f.fail("add_cross_attention is not supported (GPT-2 models are decoder-only here)")
		}
	case "bert", "albert":
		c.Model = model.Config{Arch: model.ArchEncoder, Vocab: f.integer("vocab_size", 0, true), DModel: f.integer("hidden_size", 0, true),
			Layers: f.integer("num_hidden_layers", 0, true), Heads: f.integer("num_attention_heads", 0, true),
			DFF: f.integer("intermediate_size", 0, true), MaxSeq: f.integer("max_position_embeddings", 512, false),
			Tie: f.boolean("tie_word_embeddings", true)}
		c.TypeVocab, c.Pooler = f.integer("type_vocab_size", 2, false), true
		c.Model.LayerNormEps = f.number("layer_norm_eps", 1e-12)
		switch act := f.str("hidden_act"); {
		case act == "gelu" || act == "" && mt == "bert":
			c.Model.Activation = model.GELUErf // BERT's exact GELU
		case act == "" || act == "gelu_new" || act == "gelu_pytorch_tanh" || act == "gelu_fast":
		default:
			f.fail("hidden_act %q is not supported (tformer's encoder activation is GELU: gelu, gelu_new or gelu_pytorch_tanh)", act)
		}
		if p := f.str("position_embedding_type"); p != "" && p != "absolute" {
			f.fail("position_embedding_type %q is not supported (only absolute learned positions)", p)
		}
		if mt == "albert" {
			c.EmbedDim = f.integer("embedding_size", 128, false)
			c.Model.Share = model.ShareAll
			c.Model.Groups = f.integer("num_hidden_groups", 1, false)
			if ig := f.integer("inner_group_num", 1, false); ig != 1 {
				f.fail("inner_group_num %d is not supported (only 1: one layer per group)", ig)
			}
		}
	case "llama", "mistral", "qwen2", "gemma", "gemma2":
		c.Model = llamaFamily(f, mt)
	case "bart", "marian", "t5":
		c.EncDec = encdec(f, mt)
	case "":
		return Config{}, errors.New("config.json: no model_type and no GPT-2, BERT or ALBERT fields")
	default:
		return Config{}, fmt.Errorf("config.json: model_type %q is not supported (want %s)", mt, strings.Join(ModelTypes(), ", "))
	}
	if f.err != nil {
		return Config{}, f.err
	}
	if c.EncDec == nil && c.Model.Share == "" {
		c.Model.Share = model.ShareNone
	}
	if c.EncDec == nil && c.Model.Groups == 0 {
		c.Model.Groups = 1
	}
	c.ModelType = mt
	c.Name = mt + " config"
	if n := f.str("_name_or_path"); n != "" {
		c.Name = n
	}
	return c, nil
}

// llamaFamily decodes the fields shared by LlamaForCausalLM,
// MistralForCausalLM, Qwen2ForCausalLM and Gemma(2)ForCausalLM.
func llamaFamily(f *fields, mt string) model.Config {
	gemma := mt == "gemma" || mt == "gemma2"
	m := model.Config{
		Vocab: f.integer("vocab_size", 0, true), DModel: f.integer("hidden_size", 0, true),
		Layers: f.integer("num_hidden_layers", 0, true), Heads: f.integer("num_attention_heads", 0, true),
		DFF: f.integer("intermediate_size", 0, true), MaxSeq: f.integer("max_position_embeddings", 0, true),
		Tie: f.boolean("tie_word_embeddings", gemma), // Gemma's default ties; Llama's, Mistral's, Qwen2's do not
	}
	fam := mt
	if gemma {
		fam = "gemma"
	}
	m, _ = m.Family(fam)
	m.KVHeads = f.integer("num_key_value_heads", m.Heads, false)
	if f.has("head_dim") {
		m.DHead = f.integer("head_dim", 0, false)
	}
	m.LayerNormEps = f.number("rms_norm_eps", 1e-6)
	m.RopeTheta = f.number("rope_theta", 10000)
	if f.has("partial_rotary_factor") && f.number("partial_rotary_factor", 1) != 1 {
		f.fail("partial_rotary_factor %g is not supported (only full rotary)", f.number("partial_rotary_factor", 1))
	}
	if f.has("rope_scaling") {
		var rs map[string]any
		if err := json.Unmarshal(f.raw["rope_scaling"], &rs); err != nil {
			f.fail("rope_scaling must be an object, got %s", f.raw["rope_scaling"])
		} else {
			typ, _ := rs["rope_type"].(string)
			if typ == "" {
				typ, _ = rs["type"].(string)
			}
			if typ != "llama3" {
				f.fail("rope_scaling.rope_type %q is not supported (only llama3)", typ)
			}
			num := func(k string) float64 {
				v, ok := rs[k].(float64)
				if !ok {
					f.fail("rope_scaling.%s must be a number", k)
				}
				return v
			}
			m.RopeScaling = &model.RopeScaling{Factor: num("factor"), LowFreqFactor: num("low_freq_factor"),
				HighFreqFactor: num("high_freq_factor"), OrigContext: int(num("original_max_position_embeddings"))}
		}
	}
	act := f.str("hidden_act")
	if gemma && f.has("hidden_activation") {
		act = f.str("hidden_activation")
	}
	switch act {
	case "silu", "swish":
		m.MLP = model.SwiGLU
	case "gelu_pytorch_tanh", "gelu_new", "gelu_fast":
		m.MLP, m.Activation = model.GeGLU, model.GELUTanh
	case "gelu":
		m.MLP, m.Activation = model.GeGLU, model.GELUErf
		if gemma {
			m.Activation = model.GELUTanh // Gemma's "gelu" runs as the tanh form in transformers
		}
	case "":
		if !gemma {
			m.MLP = model.SwiGLU
		}
	default:
		f.fail("hidden_act %q is not supported (want silu, gelu or gelu_pytorch_tanh)", act)
	}
	ab, mb := f.boolean("attention_bias", false), f.boolean("mlp_bias", false)
	switch {
	case mt == "qwen2":
		m.Bias = model.BiasQKV // Qwen2 has q, k, v biases and no others
	case ab && mb:
		m.Bias = model.BiasAll
	case ab || mb:
		f.fail("attention_bias %v with mlp_bias %v is not supported (biases on none, q/k/v only, or all)", ab, mb)
	}
	switch mt {
	case "mistral":
		m.SlidingWindow = f.integer("sliding_window", 0, false)
	case "qwen2":
		// transformers' Qwen2 windows the layers from max_window_layers
		// on (its default 28): 0 windows every layer, num_hidden_layers
		// or more none.
		if f.boolean("use_sliding_window", false) {
			switch mw := f.integer("max_window_layers", 28, false); {
			case mw == 0:
				m.SlidingWindow = f.integer("sliding_window", 0, false)
			case mw < m.Layers:
				f.fail("max_window_layers %d is not supported with use_sliding_window (only 0, every layer windowed, or at least num_hidden_layers, none)", mw)
			}
		}
	case "gemma2":
		m.SlidingWindow = f.integer("sliding_window", 4096, false)
		m.SlidingEvery = 2
		m.AttnSoftcap = f.number("attn_logit_softcapping", 0)
		m.FinalSoftcap = f.number("final_logit_softcapping", 0)
		m.PostNorms = true
		// transformers' Gemma2Config defaults query_pre_attn_scalar to 256.
		m.QueryScalar = f.number("query_pre_attn_scalar", 256)
		if !(m.QueryScalar > 0) {
			f.fail("query_pre_attn_scalar must be positive, got %g", m.QueryScalar)
		}
		if m.AttnSoftcap < 0 || m.FinalSoftcap < 0 {
			f.fail("attn_logit_softcapping and final_logit_softcapping must not be negative")
		}
	}
	if m.SlidingWindow < 0 {
		f.fail("sliding_window must not be negative, got %d", m.SlidingWindow)
	}
	if m.Heads > 0 && m.QueryScalar == float64(m.HeadDim()) {
		m.QueryScalar = 0 // query_pre_attn_scalar = head_dim is the default scale
	}
	return m
}

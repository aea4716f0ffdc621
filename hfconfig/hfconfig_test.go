package hfconfig

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tformer/tformer/model"
)

// TestParseFamilies decodes a config.json of each family, with the field
// values of the published models (SmolLM2-135M, Llama-3.2-1B, Qwen2.5-0.5B,
// Mistral-7B-v0.1, Gemma-2B, Gemma-2-2B, GPT-2, BERT-base, ALBERT-base-v2),
// and checks every choice the decoder makes.
func TestParseFamilies(t *testing.T) {
	llama := func(m model.Config) model.Config { m, _ = m.Family("llama"); return m }
	qwen := func(m model.Config) model.Config { m, _ = m.Family("qwen2"); return m }
	gemma := func(m model.Config) model.Config { m, _ = m.Family("gemma"); return m }
	none := func(m model.Config) model.Config { m.Share, m.Groups = model.ShareNone, 1; return m }
	eps := func(m model.Config, e float64) model.Config { m.LayerNormEps = e; return m }
	cases := []struct {
		name, json string
		want       Config
	}{
		{"smollm2-135m", `{"model_type":"llama","architectures":["LlamaForCausalLM"],"vocab_size":49152,"hidden_size":576,"num_hidden_layers":30,
			"num_attention_heads":9,"num_key_value_heads":3,"intermediate_size":1536,"max_position_embeddings":8192,"rms_norm_eps":1e-05,
			"rope_theta":100000,"rope_scaling":null,"tie_word_embeddings":true,"hidden_act":"silu","attention_bias":false,"mlp_bias":false,
			"_name_or_path":"HuggingFaceTB/SmolLM2-135M"}`,
			Config{ModelType: "llama", Name: "HuggingFaceTB/SmolLM2-135M", Model: none(func() model.Config {
				m := llama(model.Config{Vocab: 49152, DModel: 576, Layers: 30, Heads: 9, DFF: 1536, MaxSeq: 8192, Tie: true})
				m.KVHeads, m.LayerNormEps, m.RopeTheta = 3, 1e-5, 100000
				return m
			}())}},
		{"llama-3.2-1b", `{"model_type":"llama","vocab_size":128256,"hidden_size":2048,"num_hidden_layers":16,"num_attention_heads":32,
			"num_key_value_heads":8,"head_dim":64,"intermediate_size":8192,"max_position_embeddings":131072,"rms_norm_eps":1e-05,"rope_theta":500000.0,
			"rope_scaling":{"factor":32.0,"high_freq_factor":4.0,"low_freq_factor":1.0,"original_max_position_embeddings":8192,"rope_type":"llama3"},
			"tie_word_embeddings":true,"hidden_act":"silu"}`,
			Config{ModelType: "llama", Name: "llama config", Model: none(func() model.Config {
				m := llama(model.Config{Vocab: 128256, DModel: 2048, Layers: 16, Heads: 32, DFF: 8192, MaxSeq: 131072, Tie: true})
				m.KVHeads, m.DHead, m.LayerNormEps, m.RopeTheta = 8, 64, 1e-5, 500000
				m.RopeScaling = &model.RopeScaling{Factor: 32, LowFreqFactor: 1, HighFreqFactor: 4, OrigContext: 8192}
				return m
			}())}},
		{"qwen2.5-0.5b", `{"model_type":"qwen2","vocab_size":151936,"hidden_size":896,"num_hidden_layers":24,"num_attention_heads":14,
			"num_key_value_heads":2,"intermediate_size":4864,"max_position_embeddings":32768,"rms_norm_eps":1e-06,"rope_theta":1000000.0,
			"sliding_window":32768,"use_sliding_window":false,"max_window_layers":21,"tie_word_embeddings":true,"hidden_act":"silu"}`,
			Config{ModelType: "qwen2", Name: "qwen2 config", Model: none(func() model.Config {
				m := qwen(model.Config{Vocab: 151936, DModel: 896, Layers: 24, Heads: 14, DFF: 4864, MaxSeq: 32768, Tie: true})
				m.KVHeads, m.LayerNormEps, m.RopeTheta = 2, 1e-6, 1e6
				return m
			}())}},
		{"mistral-7b", `{"model_type":"mistral","vocab_size":32000,"hidden_size":4096,"num_hidden_layers":32,"num_attention_heads":32,
			"num_key_value_heads":8,"intermediate_size":14336,"max_position_embeddings":32768,"rms_norm_eps":1e-05,"rope_theta":10000.0,
			"sliding_window":4096,"tie_word_embeddings":false,"hidden_act":"silu"}`,
			Config{ModelType: "mistral", Name: "mistral config", Model: none(func() model.Config {
				m := llama(model.Config{Vocab: 32000, DModel: 4096, Layers: 32, Heads: 32, DFF: 14336, MaxSeq: 32768})
				m.KVHeads, m.LayerNormEps, m.RopeTheta, m.SlidingWindow = 8, 1e-5, 10000, 4096
				return m
			}())}},
		{"gemma-2b", `{"model_type":"gemma","vocab_size":256000,"hidden_size":2048,"num_hidden_layers":18,"num_attention_heads":8,
			"num_key_value_heads":1,"head_dim":256,"intermediate_size":16384,"max_position_embeddings":8192,"rms_norm_eps":1e-06,
			"hidden_act":"gelu","hidden_activation":null}`,
			Config{ModelType: "gemma", Name: "gemma config", Model: none(func() model.Config {
				m := gemma(model.Config{Vocab: 256000, DModel: 2048, Layers: 18, Heads: 8, DFF: 16384, MaxSeq: 8192, Tie: true})
				m.KVHeads, m.DHead, m.LayerNormEps, m.RopeTheta = 1, 256, 1e-6, 10000
				return m
			}())}},
		{"gemma-2-2b", `{"model_type":"gemma2","vocab_size":256000,"hidden_size":2304,"num_hidden_layers":26,"num_attention_heads":8,
			"num_key_value_heads":4,"head_dim":256,"intermediate_size":9216,"max_position_embeddings":8192,"rms_norm_eps":1e-06,
			"hidden_activation":"gelu_pytorch_tanh","attn_logit_softcapping":50.0,"final_logit_softcapping":30.0,"sliding_window":4096}`,
			Config{ModelType: "gemma2", Name: "gemma2 config",
				Model: none(func() model.Config {
					m := gemma(model.Config{Vocab: 256000, DModel: 2304, Layers: 26, Heads: 8, DFF: 9216, MaxSeq: 8192, Tie: true})
					m.KVHeads, m.DHead, m.LayerNormEps, m.RopeTheta = 4, 256, 1e-6, 10000
					m.SlidingWindow, m.SlidingEvery = 4096, 2
					m.AttnSoftcap, m.FinalSoftcap, m.PostNorms = 50, 30, true // query_pre_attn_scalar 256 (the default) = head_dim
					return m
				}())}},
		{"llama with every bias", `{"model_type":"llama","vocab_size":10,"hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,
			"intermediate_size":16,"max_position_embeddings":4,"attention_bias":true,"mlp_bias":true}`,
			Config{ModelType: "llama", Name: "llama config", Model: none(func() model.Config {
				m := llama(model.Config{Vocab: 10, DModel: 8, Layers: 1, Heads: 2, DFF: 16, MaxSeq: 4})
				m.KVHeads, m.LayerNormEps, m.RopeTheta, m.Bias = 2, 1e-6, 10000, model.BiasAll
				return m
			}())}},
		{"gpt2", `{"model_type":"gpt2","vocab_size":50257,"n_embd":768,"n_layer":12,"n_head":12,"n_positions":1024,"n_inner":null}`,
			Config{ModelType: "gpt2", Name: "gpt2 config", Model: eps(none(model.GPT2Small()), 1e-5)}},
		{"gpt2 without model_type", `{"vocab_size":50257,"n_embd":768,"n_layer":12,"n_head":12,"n_ctx":1024}`,
			Config{ModelType: "gpt2", Name: "gpt2 config", Model: eps(none(model.GPT2Small()), 1e-5)}},
		{"gpt2 defaults", `{"model_type":"gpt2","n_embd":768}`,
			Config{ModelType: "gpt2", Name: "gpt2 config", Defaulted: []string{"n_positions", "vocab_size", "n_layer", "n_head"}, Model: eps(none(model.GPT2Small()), 1e-5)}},
		{"bert-base", `{"model_type":"bert","vocab_size":30522,"hidden_size":768,"num_hidden_layers":12,"num_attention_heads":12,
			"intermediate_size":3072,"max_position_embeddings":512,"type_vocab_size":2,"hidden_act":"gelu"}`,
			Config{ModelType: "bert", Name: "bert config", TypeVocab: 2, Pooler: true, Model: none(model.Config{Arch: model.ArchEncoder,
				Vocab: 30522, DModel: 768, Layers: 12, Heads: 12, DFF: 3072, MaxSeq: 512, Tie: true, Activation: model.GELUErf, LayerNormEps: 1e-12})}},
		{"albert-base-v2", `{"model_type":"albert","vocab_size":30000,"embedding_size":128,"hidden_size":768,"num_hidden_layers":12,
			"num_attention_heads":12,"intermediate_size":3072,"max_position_embeddings":512,"num_hidden_groups":1,"inner_group_num":1,"hidden_act":"gelu_new"}`,
			Config{ModelType: "albert", Name: "albert config", EmbedDim: 128, TypeVocab: 2, Pooler: true, Model: model.Config{Arch: model.ArchEncoder,
				Vocab: 30000, DModel: 768, Layers: 12, Heads: 12, DFF: 3072, MaxSeq: 512, Tie: true, Share: model.ShareAll, Groups: 1, LayerNormEps: 1e-12}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.json))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			if err := got.Model.Validate(); err != nil {
				t.Errorf("decoded config is invalid: %v", err)
			}
		})
	}
}

// TestParseRefusals checks that each unsupported model_type, option or
// malformed field gives one error naming the field.
func TestParseRefusals(t *testing.T) {
	base := `"vocab_size":10,"hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":16,"max_position_embeddings":4`
	cases := []struct{ json, want string }{
		{`not json`, "parse config.json"},
		{`[1,2]`, "parse config.json"},
		{`{}`, "no model_type and no GPT-2, BERT or ALBERT fields"},
		{`{"model_type":"mixtral",` + base + `}`, `model_type "mixtral" is not supported (want gpt2, bert, albert, llama, mistral, qwen2, gemma, gemma2, bart, marian, t5)`},
		{`{"model_type":7}`, "model_type must be a string"},
		{`{"model_type":"llama","hidden_size":8}`, "missing vocab_size"},
		{`{"model_type":"llama",` + base + `,"hidden_size":8.5}`, "hidden_size must be an integer, got 8.5"},
		{`{"model_type":"llama",` + base + `,"num_hidden_layers":"2"}`, `num_hidden_layers must be an integer, got "2"`},
		{`{"model_type":"llama",` + base + `,"vocab_size":1e15}`, "vocab_size is 1e15: sizes that large would overflow"},
		{`{"model_type":"llama",` + base + `,"rope_theta":"big"}`, "rope_theta must be a number"},
		{`{"model_type":"llama",` + base + `,"tie_word_embeddings":"yes"}`, "tie_word_embeddings must be true or false"},
		{`{"model_type":"llama",` + base + `,"hidden_act":"relu"}`, `hidden_act "relu" is not supported`},
		{`{"model_type":"llama",` + base + `,"partial_rotary_factor":0.5}`, "partial_rotary_factor 0.5 is not supported"},
		{`{"model_type":"llama",` + base + `,"rope_scaling":{"rope_type":"yarn","factor":4}}`, `rope_scaling.rope_type "yarn" is not supported (only llama3)`},
		{`{"model_type":"llama",` + base + `,"rope_scaling":{"type":"linear","factor":4}}`, `rope_scaling.rope_type "linear" is not supported`},
		{`{"model_type":"llama",` + base + `,"rope_scaling":{"rope_type":"llama3","factor":8}}`, "rope_scaling.low_freq_factor must be a number"},
		{`{"model_type":"llama",` + base + `,"rope_scaling":[1]}`, "rope_scaling must be an object"},
		{`{"model_type":"llama",` + base + `,"attention_bias":true}`, "attention_bias true with mlp_bias false is not supported"},
		{`{"model_type":"mistral",` + base + `,"sliding_window":-1}`, "sliding_window must not be negative"},
		{`{"model_type":"qwen2","vocab_size":10,"hidden_size":8,"num_hidden_layers":4,"num_attention_heads":2,"intermediate_size":16,"max_position_embeddings":4,"use_sliding_window":true,"sliding_window":2,"max_window_layers":3}`, "max_window_layers 3 is not supported"},
		{`{"model_type":"gpt2","n_embd":8,"n_layer":1,"n_head":2,"vocab_size":5,"n_positions":4,"activation_function":"relu"}`, `activation_function "relu" is not supported`},
		{`{"model_type":"gpt2","n_embd":8,"n_layer":1,"n_head":2,"vocab_size":5,"n_positions":4,"scale_attn_weights":false}`, "scale_attn_weights false is not supported"},
		{`{"model_type":"gpt2","n_embd":8,"n_layer":1,"n_head":2,"vocab_size":5,"n_positions":4,"scale_attn_by_inverse_layer_idx":true}`, "scale_attn_by_inverse_layer_idx is not supported"},
		{`{"model_type":"gpt2","n_embd":8,"n_layer":1,"n_head":2,"vocab_size":5,"n_positions":4,"add_cross_attention":true}`, "add_cross_attention is not supported"},
		{`{"model_type":"bert",` + base + `,"hidden_act":"relu"}`, `hidden_act "relu" is not supported`},
		{`{"model_type":"bert",` + base + `,"position_embedding_type":"relative_key"}`, `position_embedding_type "relative_key" is not supported`},
		{`{"model_type":"albert","vocab_size":10,"hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":16,"inner_group_num":2}`, "inner_group_num 2 is not supported"},
	}
	for _, tc := range cases {
		_, err := Parse([]byte(tc.json))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s:\n got %v\nwant %q", tc.json, err, tc.want)
		}
	}
}

// TestLoad reads a file and names it in errors.
func TestLoad(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.json")
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "read config") {
		t.Errorf("missing file: %v", err)
	}
	os.WriteFile(p, []byte(`{"model_type":"mixtral"}`), 0o644)
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), `"mixtral"`) {
		t.Errorf("unsupported type: %v", err)
	}
	os.WriteFile(p, []byte(`{"model_type":"gpt2","n_embd":8,"n_layer":1,"n_head":2,"vocab_size":5,"n_positions":4}`), 0o644)
	if c, err := Load(p); err != nil || c.Model.DModel != 8 || c.Model.DFF != 32 {
		t.Errorf("gpt2: %+v %v", c, err)
	}
}

// TestModelTypeOf checks the family a loader sees before decoding, and
// ParseAs's fallback for a file that names none.
func TestModelTypeOf(t *testing.T) {
	for in, want := range map[string]string{`{"model_type":"LLaMA"}`: "llama", `{"n_embd":8}`: "gpt2", `{"embedding_size":8}`: "albert", `{"hidden_size":8}`: "bert", `{}`: ""} {
		if got, err := ModelTypeOf([]byte(in)); err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ModelTypeOf([]byte(`{"model_type":1}`)); err == nil {
		t.Error("a numeric model_type was accepted")
	}
	if c, err := ParseAs([]byte(`{}`), "gpt2"); err != nil || c.Model.DModel != 768 || len(c.Defaulted) != 5 {
		t.Errorf("ParseAs({}, gpt2): %+v, %v", c, err)
	}
	if _, err := Parse([]byte(`{}`)); err == nil {
		t.Error("Parse({}) guessed a family")
	}
}

// FuzzParse: any bytes give a Config or an error, never a panic, and a
// decoded Llama-family config the engine accepts has the fields it was
// given back.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"model_type":"llama","vocab_size":10,"hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":16,"max_position_embeddings":4}`,
		`{"model_type":"gemma2","vocab_size":10,"hidden_size":8,"num_hidden_layers":2,"num_attention_heads":2,"head_dim":4,"intermediate_size":16,"max_position_embeddings":4,"attn_logit_softcapping":50}`,
		`{"model_type":"qwen2","rope_scaling":{"rope_type":"llama3","factor":8,"low_freq_factor":1,"high_freq_factor":4,"original_max_position_embeddings":8}}`,
		`{"n_embd":8,"n_layer":-1}`, `{"embedding_size":1e300}`, `{"model_type":null}`, `[]`, `{"hidden_size":{"a":1}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil || c.ModelType != "llama" || c.Model.Validate() != nil {
			return
		}
		if c.Model.Vocab <= 0 || c.Model.KV() <= 0 || c.Model.Heads%c.Model.KV() != 0 {
			t.Errorf("a valid llama config with vocab %d, kv heads %d of %d", c.Model.Vocab, c.Model.KV(), c.Model.Heads)
		}
	})
}

// TestQwen2MaxWindowLayers: transformers' Qwen2 windows the layers from
// max_window_layers on, so 0 windows every layer and num_hidden_layers or
// more (its default is 28) none.
func TestQwen2MaxWindowLayers(t *testing.T) {
	base := `{"model_type":"qwen2","vocab_size":10,"hidden_size":8,"num_hidden_layers":4,"num_attention_heads":2,"intermediate_size":16,"max_position_embeddings":32,"use_sliding_window":true,"sliding_window":5`
	for _, tc := range []struct {
		extra string
		want  int
	}{{`,"max_window_layers":0}`, 5}, {`,"max_window_layers":4}`, 0}, {`}`, 0}} {
		c, err := Parse([]byte(base + tc.extra))
		if err != nil {
			t.Fatal(err)
		}
		if c.Model.SlidingWindow != tc.want || c.Model.SlidingEvery != 0 {
			t.Errorf("%s: window %d (every %d), want %d", tc.extra, c.Model.SlidingWindow, c.Model.SlidingEvery, tc.want)
		}
	}
}

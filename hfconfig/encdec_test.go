package hfconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The encoder–decoder configs in testdata are written here with the field
// values of the published models' config.json files (shapes are facts).
func TestParseEncDec(t *testing.T) {
	for _, c := range []struct {
		file string
		want EncDec
	}{
		{"bart-base.json", EncDec{Vocab: 50265, DModel: 768, EncLayers: 6, DecLayers: 6, Heads: 12, DFF: 3072, Activation: "gelu",
			Bias: true, NormEps: 1e-5, Positions: "learned", MaxPositions: 1024, PosOffset: 2, LNEmbedding: true, FinalLogitsBias: true,
			Tie: "all", PadID: 1, BOSID: 0, EOSID: 2, DecoderStartID: 2}},
		{"bart-tiny.json", EncDec{Vocab: 99, DModel: 16, EncLayers: 2, DecLayers: 1, Heads: 4, DFF: 32, Activation: "gelu",
			Bias: true, NormEps: 1e-5, Positions: "learned", MaxPositions: 40, PosOffset: 2, LNEmbedding: true, FinalLogitsBias: true,
			Tie: "all", PadID: 1, BOSID: 0, EOSID: 2, DecoderStartID: 2}},
		{"t5-small.json", EncDec{Vocab: 32128, DModel: 512, EncLayers: 6, DecLayers: 6, Heads: 8, HeadDim: 64, DFF: 2048, Activation: "relu",
			RMSNorm: true, PreLN: true, NormEps: 1e-6, Positions: "relative", RelBuckets: 32, RelMaxDistance: 128, ScaleOutput: true,
			Tie: "all", PadID: 0, BOSID: -1, EOSID: 1, DecoderStartID: 0}},
		{"t5-v1_1-small.json", EncDec{Vocab: 32128, DModel: 512, EncLayers: 8, DecLayers: 8, Heads: 6, HeadDim: 64, DFF: 1024, Activation: "gelu",
			Gated: true, RMSNorm: true, PreLN: true, NormEps: 1e-6, Positions: "relative", RelBuckets: 32, RelMaxDistance: 128,
			Tie: "embeddings", PadID: -1, BOSID: -1, EOSID: -1, DecoderStartID: -1}},
		{"marian-en-de.json", EncDec{Vocab: 58101, DModel: 512, EncLayers: 6, DecLayers: 6, Heads: 8, DFF: 2048, Activation: "swish",
			Bias: true, NormEps: 1e-5, Positions: "sinusoidal", MaxPositions: 512, ScaleEmbed: true, FinalLogitsBias: true,
			Tie: "all", PadID: 58100, BOSID: -1, EOSID: 0, DecoderStartID: 58100}},
	} {
		h, err := Load(filepath.Join("..", "testdata", "encdec", c.file))
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if h.EncDec == nil {
			t.Fatalf("%s: no EncDec", c.file)
		}
		if *h.EncDec != c.want {
			t.Errorf("%s:\n got %+v\nwant %+v", c.file, *h.EncDec, c.want)
		}
		if h.Model.Vocab != 0 || h.Model.Share != "" {
			t.Errorf("%s: Model should be the zero Config, got %+v", c.file, h.Model)
		}
	}
}

// Options the models cannot represent, and broken shapes, are refused with
// one line that names the field.
func TestParseEncDecRefusals(t *testing.T) {
	base, err := os.ReadFile(filepath.Join("..", "testdata", "encdec", "bart-tiny.json"))
	if err != nil {
		t.Fatal(err)
	}
	bart := strings.TrimSuffix(strings.TrimSpace(string(base)), "}")
	t5 := `{"model_type": "t5", "vocab_size": 99, "d_model": 16, "d_kv": 4, "d_ff": 32, "num_layers": 2, "num_heads": 4`
	marian := strings.Replace(bart, `"bart"`, `"marian"`, 1)
	for _, c := range []struct{ name, json, want string }{
		{"pre-LN bart", bart + `, "normalize_before": true}`, "normalize_before true is not supported"},
		{"final norm", bart + `, "add_final_layer_norm": true}`, "add_final_layer_norm true is not supported"},
		{"bias logits", bart + `, "add_bias_logits": true}`, "add_bias_logits true is not supported"},
		{"static positions", bart + `, "static_position_embeddings": true}`, "static_position_embeddings true is not supported"},
		{"no embedding norm", bart + `, "normalize_embedding": false}`, "normalize_embedding false is not supported"},
		{"heads differ", bart + `, "decoder_attention_heads": 2}`, "decoder_attention_heads 2 is not supported"},
		{"ffn differs", bart + `, "decoder_ffn_dim": 64}`, "decoder_ffn_dim 64 is not supported"},
		{"activation", bart + `, "activation_function": "mish"}`, `activation_function "mish" is not supported`},
		{"heads divide", bart + `, "encoder_attention_heads": 3, "decoder_attention_heads": 3}`, "not a multiple of encoder_attention_heads 3"},
		{"zero layers", bart + `, "decoder_layers": 0}`, "decoder_layers must be positive"},
		{"float layers", bart + `, "encoder_layers": 1.5}`, "encoder_layers must be an integer"},
		{"huge", bart + `, "vocab_size": 1e30}`, "overflow"},
		{"missing", `{"model_type": "bart", "d_model": 16}`, "missing vocab_size"},
		{"marian vocab", marian + `, "decoder_vocab_size": 100}`, "decoder_vocab_size 100 differs"},
		{"marian three tables", marian + `, "share_encoder_decoder_embeddings": false, "tie_word_embeddings": false}`, "three separate tables"},
		{"marian layernorm_embedding", marian + `, "normalize_embedding": true}`, "normalize_embedding true is not supported"},
		{"t5 proj", t5 + `, "feed_forward_proj": "gated-mish"}`, `feed_forward_proj "gated-mish" is not supported`},
		{"t5 d_kv", strings.Replace(t5, `"d_kv": 4`, `"d_kv": 0`, 1) + `}`, "d_kv must be positive"},
		{"t5 buckets", t5 + `, "relative_attention_num_buckets": 0}`, "relative_attention_num_buckets"},
	} {
		_, err := Parse([]byte(c.json))
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err %v, want one line with %q", c.name, err, c.want)
		}
	}
	// Marian with separate source table: target = output.
	h, err := Parse([]byte(marian + `, "share_encoder_decoder_embeddings": false}`))
	if err != nil || h.EncDec.Tie != "decoder" || h.EncDec.Positions != "sinusoidal" || !h.EncDec.ScaleEmbed {
		t.Errorf("marian unshared: %+v, %v", h.EncDec, err)
	}
}

package hfconfig

import "fmt"

// EncDec is an encoder–decoder's shape and choices as its config.json
// states them (model_type bart, marian, t5). Config.EncDec holds it; the
// cost model counts it, and a loader maps it onto the engine's config.
type EncDec struct {
	Vocab     int // vocab_size: one table shared by source, target and output
	DModel    int
	EncLayers int
	DecLayers int
	Heads     int // attention heads of both stacks
	HeadDim   int // T5's d_kv; 0 for d_model/heads
	DFF       int // FFN inner width of both stacks

	Activation string // the FFN's activation, as the config names it (gelu, relu, silu, ...)
	Gated      bool   // gated FFN (T5 v1.1's gated-gelu): two input matrices
	Bias       bool   // biases on every linear layer (BART, Marian; not T5)
	RMSNorm    bool   // RMSNorm with a weight only (T5); else LayerNorm with weight and bias
	PreLN      bool   // pre-LN with a final norm per stack (T5); else post-LN (BART, Marian)
	NormEps    float64

	Positions      string // "learned" (BART), "sinusoidal" (Marian), "relative" (T5)
	MaxPositions   int    // max_position_embeddings (learned and sinusoidal)
	PosOffset      int    // extra learned rows before position 0 (BART: 2)
	RelBuckets     int    // relative_attention_num_buckets (T5)
	RelMaxDistance int    // relative_attention_max_distance (T5)

	LNEmbedding     bool // a LayerNorm after the embeddings of each stack (BART's layernorm_embedding)
	ScaleEmbed      bool // embeddings multiplied by √d_model (scale_embedding)
	FinalLogitsBias bool // final_logits_bias, a K-vector buffer added to the logits (BART, Marian)
	ScaleOutput     bool // T5 with tied embeddings scales the decoder output by d_model^-0.5 before the logits

	// Tie is what shares the K×d table: "all" (source = target = output),
	// "decoder" (target = output, a separate source table: Marian with
	// share_encoder_decoder_embeddings false) or "embeddings" (source =
	// target, a separate output matrix: tie_word_embeddings false, as T5 v1.1).
	Tie string

	PadID, BOSID, EOSID, DecoderStartID int // special token ids (-1 when the config has none)
}

// encdecTypes are the encoder–decoder model_type values.
var encdecTypes = []string{"bart", "marian", "t5"}

// rejectTrue fails when the boolean option k is set to true: the models
// tformer describes cannot represent it (why says what it is).
func (f *fields) rejectTrue(k, why string) {
	if f.boolean(k, false) {
		f.fail("%s true is not supported (%s)", k, why)
	}
}

// positive fails on the first of the (name, value) pairs that is not
// positive.
func (f *fields) positive(kv ...any) {
	for i := 0; i+1 < len(kv); i += 2 {
		if v := kv[i+1].(int); v <= 0 {
			f.fail("%s must be positive, got %d", kv[i], v)
			return
		}
	}
}

// rejectFalse fails when the boolean option k is present and false.
func (f *fields) rejectFalse(k, why string) {
	if f.has(k) && !f.boolean(k, true) {
		f.fail("%s false is not supported (%s)", k, why)
	}
}

// encdec decodes BartForConditionalGeneration, MarianMTModel and
// T5ForConditionalGeneration configs.
func encdec(f *fields, mt string) *EncDec {
	e := &EncDec{PadID: f.integer("pad_token_id", -1, false), BOSID: f.integer("bos_token_id", -1, false),
		EOSID: f.integer("eos_token_id", -1, false), DecoderStartID: f.integer("decoder_start_token_id", -1, false)}
	if mt == "t5" {
		e.Vocab, e.DModel = f.integer("vocab_size", 0, true), f.integer("d_model", 0, true)
		e.EncLayers = f.integer("num_layers", 0, true)
		e.DecLayers = f.integer("num_decoder_layers", e.EncLayers, false)
		e.Heads, e.HeadDim, e.DFF = f.integer("num_heads", 0, true), f.integer("d_kv", 0, true), f.integer("d_ff", 0, true)
		e.RMSNorm, e.PreLN, e.NormEps = true, true, f.number("layer_norm_epsilon", 1e-6)
		e.Positions = "relative"
		e.RelBuckets = f.integer("relative_attention_num_buckets", 32, false)
		e.RelMaxDistance = f.integer("relative_attention_max_distance", 128, false)
		proj := f.str("feed_forward_proj")
		switch proj {
		case "", "relu":
			e.Activation = "relu"
		case "gelu", "gelu_new", "silu":
			e.Activation = proj
		case "gated-gelu", "gated-gelu_new", "gated-silu", "gated-relu":
			e.Activation, e.Gated = proj[len("gated-"):], true
		default:
			f.fail("feed_forward_proj %q is not supported (want relu, gated-gelu or gated-silu)", proj)
		}
		e.Tie = "all"
		if !f.boolean("tie_word_embeddings", true) {
			e.Tie = "embeddings"
		} else {
			e.ScaleOutput = true
		}
		if e.RelBuckets <= 0 || e.RelMaxDistance <= 0 {
			f.fail("relative_attention_num_buckets and relative_attention_max_distance must be positive")
		}
		f.positive("vocab_size", e.Vocab, "d_model", e.DModel, "num_layers", e.EncLayers, "num_decoder_layers", e.DecLayers,
			"num_heads", e.Heads, "d_kv", e.HeadDim, "d_ff", e.DFF)
		return e
	}
	// bart and marian share BartConfig's field names.
	e.Vocab, e.DModel = f.integer("vocab_size", 0, true), f.integer("d_model", 0, true)
	e.EncLayers, e.DecLayers = f.integer("encoder_layers", 0, true), f.integer("decoder_layers", 0, true)
	e.Heads = f.integer("encoder_attention_heads", 0, true)
	if dh := f.integer("decoder_attention_heads", e.Heads, false); dh != e.Heads {
		f.fail("encoder_attention_heads %d with decoder_attention_heads %d is not supported (one head count for both stacks)", e.Heads, dh)
	}
	e.DFF = f.integer("encoder_ffn_dim", 0, true)
	if df := f.integer("decoder_ffn_dim", e.DFF, false); df != e.DFF {
		f.fail("encoder_ffn_dim %d with decoder_ffn_dim %d is not supported (one FFN width for both stacks)", e.DFF, df)
	}
	e.Activation = f.str("activation_function")
	if e.Activation == "" {
		e.Activation = "gelu"
	}
	switch e.Activation {
	case "gelu", "relu", "gelu_new", "silu", "swish":
	default:
		f.fail("activation_function %q is not supported (want gelu, relu, gelu_new or silu)", e.Activation)
	}
	e.Bias, e.NormEps = true, 1e-5
	e.MaxPositions = f.integer("max_position_embeddings", 0, true)
	e.ScaleEmbed = f.boolean("scale_embedding", mt == "marian")
	e.FinalLogitsBias = true
	e.Tie = "all"
	if !f.boolean("tie_word_embeddings", true) {
		e.Tie = "embeddings"
	}
	// Options these classes of transformers ignore or do not have, that a
	// config may still claim: counting them as if honoured would be wrong.
	f.rejectTrue("normalize_before", "BartForConditionalGeneration and MarianMTModel are post-LN")
	f.rejectTrue("add_final_layer_norm", "BART and Marian have no final norm per stack")
	f.rejectTrue("add_bias_logits", "the logits' bias is final_logits_bias")
	if mt == "bart" {
		e.Positions, e.PosOffset, e.LNEmbedding = "learned", 2, true
		f.rejectTrue("static_position_embeddings", "BART's positions are a learned table")
		f.rejectFalse("normalize_embedding", "BartForConditionalGeneration always has layernorm_embedding")
	} else {
		e.Positions = "sinusoidal"
		f.rejectTrue("normalize_embedding", "MarianMTModel has no layernorm_embedding")
		f.rejectFalse("static_position_embeddings", "MarianMTModel's positions are sinusoidal")
		if !f.boolean("share_encoder_decoder_embeddings", true) {
			if e.Tie != "all" {
				f.fail("share_encoder_decoder_embeddings false with tie_word_embeddings false is not supported (three separate tables)")
			}
			e.Tie = "decoder"
		}
		if dv := f.integer("decoder_vocab_size", e.Vocab, false); dv != e.Vocab {
			f.fail("decoder_vocab_size %d differs from vocab_size %d: not supported (one vocabulary)", dv, e.Vocab)
		}
	}
	f.positive("vocab_size", e.Vocab, "d_model", e.DModel, "encoder_layers", e.EncLayers, "decoder_layers", e.DecLayers,
		"encoder_attention_heads", e.Heads, "encoder_ffn_dim", e.DFF, "max_position_embeddings", e.MaxPositions)
	if e.Heads > 0 && e.DModel%e.Heads != 0 {
		f.fail("d_model %d is not a multiple of encoder_attention_heads %d", e.DModel, e.Heads)
	}
	return e
}

// String is a one-line description of the shape.
func (e *EncDec) String() string {
	return fmt.Sprintf("d %d, %d+%d layers, %d heads, d_ff %d, vocab %d, %s positions, tie %s", e.DModel, e.EncLayers, e.DecLayers, e.Heads, e.DFF, e.Vocab, e.Positions, e.Tie)
}

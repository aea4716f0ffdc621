// Package model defines tformer's transformers: a GPT-style decoder, a
// BERT/ALBERT-style encoder trained by masked language modelling, and an
// encoder–decoder in the manner of Vaswani et al. (2017) with three-way
// tying, cross-attention and greedy and beam-search decoding. It holds
// their configuration, the layout of their parameters with input–output tying,
// ALBERT-style cross-layer sharing and factorized embeddings, and an explicit
// per-layer forward and backward pass over one flat slab of parameters and
// one of gradients.
//
// Sharing is data, not code paths: layer l asks the Config which attention
// block and which FFN block it uses, and shared layers receive the same
// slices of the slab, so their gradients accumulate into one buffer by
// construction. With tying there is no output matrix at all: the logits are
// h·Eᵀ with the token embedding E itself.
package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/tformer/tformer/kernels"
)

// Share selects which sub-blocks of the Transformer layers share weights.
type Share string

// The sharing modes. With ShareAll, ShareAttention or ShareFFN the layers are
// split into Config.Groups contiguous groups and the layers of a group use one
// set of the chosen sub-block's weights (ALBERT's num_hidden_groups).
const (
	ShareNone      Share = "none"      // every layer has its own weights
	ShareAll       Share = "all"       // attention and FFN shared within a group (ALBERT)
	ShareAttention Share = "attention" // only the attention sub-block shared
	ShareFFN       Share = "ffn"       // only the FFN sub-block shared
)

// ParseShare parses a sharing mode name.
func ParseShare(s string) (Share, error) {
	switch Share(s) {
	case ShareNone, ShareAll, ShareAttention, ShareFFN:
		return Share(s), nil
	}
	return "", fmt.Errorf("unknown sharing mode %q (want none, all, attention or ffn)", s)
}

// Arch is a model's architecture.
type Arch string

// The architectures. The zero value "" means ArchDecoder, so configs written
// before encoders existed keep their meaning.
const (
	ArchDecoder Arch = "decoder" // GPT-2 style: pre-LN, causal, final LayerNorm, next-token loss
	ArchEncoder Arch = "encoder" // BERT/ALBERT style: post-LN, bidirectional, masked-LM head
	ArchEncDec  Arch = "encdec"  // Transformer (Vaswani et al.) style: encoder, decoder with cross-attention, seq2seq loss
)

// ParseArch parses an architecture name ("" is the decoder).
func ParseArch(s string) (Arch, error) {
	switch Arch(s) {
	case "", ArchDecoder:
		return ArchDecoder, nil
	case ArchEncoder, ArchEncDec:
		return Arch(s), nil
	}
	return "", fmt.Errorf("unknown architecture %q (want decoder, encoder or encdec)", s)
}

// Config describes a model.
//
// The decoder (Arch "" or "decoder") is GPT-2's design: learned positions,
// pre-LN blocks whose attention sub-block is its pre-attention LayerNorm, the
// fused QKV projection and the output projection, and whose FFN sub-block is
// its pre-FFN LayerNorm and the two FFN matmuls; causal self-attention, a
// final LayerNorm, logits through the (tied) embedding. Biases everywhere,
// GELU (tanh form), LayerNorm eps 1e-5.
//
// The encoder (Arch "encoder") is BERT's and ALBERT's design: token, position
// and token-type embeddings summed and normalised by a LayerNorm, post-LN
// blocks (x = LN(x + attn(x)), x = LN(x + FFN(x)); the attention sub-block
// owns its QKV, output projection and the LayerNorm after it, the FFN
// sub-block its two matmuls and the LayerNorm after them), bidirectional
// attention with a key padding mask, no final LayerNorm, and a masked-LM head:
// dense d -> E, GELU, LayerNorm(E), logits = x·Wᵀ + bias with W the token
// embedding when tied. The last vocabulary id, Vocab-1, is [MASK].
//
// EmbedDim E < d factorizes the embedding as ALBERT does, for both
// architectures: the token, position (and type) tables are E wide, a
// projection E -> d follows, and the output goes back through E space with
// the head above (dense, GELU, LayerNorm(E), logits + bias). A decoder with
// E = d has no such head: its logits are the final LayerNorm's output times
// the output matrix, as in GPT-2.
type Config struct {
	Vocab  int   `json:"vocab"`   // vocabulary size K
	DModel int   `json:"d_model"` // width d
	Layers int   `json:"layers"`  // number of Transformer layers applied
	Heads  int   `json:"heads"`   // attention heads; must divide DModel
	DFF    int   `json:"d_ff"`    // FFN inner width (4·d by convention)
	MaxSeq int   `json:"max_seq"` // context length (number of learned positions)
	Tie    bool  `json:"tie"`     // logits use the token embedding E (no separate output matrix)
	Share  Share `json:"share"`   // cross-layer sharing mode
	Groups int   `json:"groups"`  // number of contiguous layer groups that share (ignored with ShareNone)

	// The fields below are omitted from the JSON when zero, so decoder
	// configs serialise exactly as before they existed.
	Arch      Arch `json:"arch,omitempty"`       // "" (decoder), "decoder" or "encoder"
	EmbedDim  int  `json:"embed_dim,omitempty"`  // factorized embedding width E; 0 means d (no factorization)
	TypeVocab int  `json:"type_vocab,omitempty"` // encoder token types; 0 means DefaultTypeVocab
	// LayerNormEps is every LayerNorm's epsilon; 0 means 1e-5 (GPT-2's).
	// BERT and ALBERT use 1e-12.
	LayerNormEps float64 `json:"layer_norm_eps,omitempty"`
	// Activation is the GELU form of the FFN and the output head: "" (or
	// "gelu_tanh") the tanh approximation, GPT-2's and ALBERT's gelu_new;
	// "gelu_erf" the exact erf form, BERT's "gelu".
	Activation Activation `json:"activation,omitempty"`

	// Family choices (Llama, Mistral, Qwen2, Gemma), each orthogonal to
	// tying and sharing and omitted from the JSON when zero (GPT-2's choice),
	// so earlier checkpoints keep their meaning. Decoders only.

	// Norm is every norm's kind: "" (LayerNorm) or "rmsnorm" (no mean, no
	// shift); its epsilon is LayerNormEps.
	Norm Norm `json:"norm,omitempty"`
	// NormOffset makes RMSNorm's gain 1 + w (Gemma), w initialised to 0.
	NormOffset bool `json:"norm_offset,omitempty"`
	// Positions is "" (learned, a max_seq × E table) or "rope" (rotary, no
	// parameters).
	Positions Positions `json:"positions,omitempty"`
	// RopeTheta is RoPE's base θ; 0 means 10000.
	RopeTheta float64 `json:"rope_theta,omitempty"`
	// RopeScaling is Llama 3's frequency rescaling (nil: none).
	RopeScaling *RopeScaling `json:"rope_scaling,omitempty"`
	// MLP is the FFN's kind: "" (up, GELU, down), "swiglu" or "geglu"
	// (gate, up, act(gate)·up, down; GeGLU's GELU form is Activation).
	MLP MLP `json:"mlp,omitempty"`
	// KVHeads is the number of key/value heads (0 means Heads: multi-head;
	// 1: multi-query; in between: grouped-query). It must divide Heads.
	KVHeads int `json:"kv_heads,omitempty"`
	// DHead is every head's width (0 means d / heads).
	DHead int `json:"head_dim,omitempty"`
	// Bias says which linear layers have biases: "" (all, GPT-2), "none"
	// (Llama, Mistral, Gemma) or "qkv" (the Q, K, V projections only, Qwen2).
	Bias Bias `json:"bias,omitempty"`
	// EmbedScale multiplies the token embedding by √d (Gemma; the
	// Transformer of Vaswani et al.).
	EmbedScale bool `json:"embed_scale,omitempty"`
	// SlidingWindow W makes a layer's causal attention local, as Mistral's
	// and Gemma 2's (Hugging Face's mask): the query at position i attends
	// to the keys j with i−W < j ≤ i, itself and the W−1 before it. 0
	// means none. It changes FLOPs, not weights.
	SlidingWindow int `json:"sliding_window,omitempty"`
	// SlidingEvery says which layers the window applies to: 0 (or 1) every
	// layer (Mistral); k the layers 0, k, 2k, ... (Gemma 2's k = 2: the
	// even layers local, the odd ones global). Without a SlidingWindow no
	// layer is windowed, whatever SlidingEvery says (the gemma2 family sets
	// it before a window is chosen).
	SlidingEvery int `json:"sliding_every,omitempty"`
	// AttnSoftcap caps every attention score z (after the query scale) as
	// cap·tanh(z/cap) before the softmax (Gemma 2's
	// attn_logit_softcapping); 0: none.
	AttnSoftcap float64 `json:"attn_softcap,omitempty"`
	// FinalSoftcap caps the output logits likewise (Gemma 2's
	// final_logit_softcapping); the loss is over the capped logits. 0: none.
	FinalSoftcap float64 `json:"final_softcap,omitempty"`
	// QueryScalar makes the attention scores q·k/√QueryScalar (Gemma 2's
	// query_pre_attn_scalar); 0 means the head width, q·k/√dh.
	QueryScalar float64 `json:"query_pre_attn_scalar,omitempty"`
	// PostNorms adds an RMSNorm after each sub-layer, before its residual
	// add (Gemma 2's post_attention_layernorm and post_feedforward_layernorm):
	// x = x + norm(attn(norm(x))), x = x + norm(FFN(norm(x))). Each block
	// stores its post-norm's gain (postln.w) beside its norm.
	PostNorms bool `json:"post_norms,omitempty"`

	// Encoder–decoder choices (Arch "encdec" only).

	// EncLayers is the encoder stack's number of layers; Layers is the
	// decoder's.
	EncLayers int `json:"enc_layers,omitempty"`
	// PostLN makes both stacks post-LN (x = LN(x + f(x)), no final norms:
	// the Transformer, BART); false is pre-LN (x = x + f(LN(x)) and a
	// final norm per stack: T5 and most later models).
	PostLN bool `json:"post_ln,omitempty"`
	// Tying is the three-way embedding tying: "all" (source table = target
	// table = output matrix), "decoder" (target table = output matrix, a
	// separate source table) or "none" (three matrices). "" means "all"
	// when Tie is set, else "none"; Canonical spells it out and sets Tie to
	// Tying != "none".
	Tying Tying `json:"tying,omitempty"`
	// ShareStacks makes the decoder's self-attention and FFN blocks the
	// encoder's (same index, same tensors; cross-attention stays the
	// decoder's own). Both stacks must store as many attention blocks and
	// as many FFN blocks (equal layer counts, or Share all / attention /
	// ffn in the same groups).
	ShareStacks bool `json:"share_stacks,omitempty"`
	// EmbedNorm adds a norm after each stack's embedding sum (BART's
	// layernorm_embedding).
	EmbedNorm bool `json:"embed_norm,omitempty"`
	// PosOffset is the number of unused rows before position 0 of each
	// learned position table (BART: 2); the tables have MaxSeq + PosOffset
	// rows.
	PosOffset int `json:"pos_offset,omitempty"`

	// MaskToken is an encoder's [MASK] id when its tokenizer names one
	// (BERT's 103, ALBERT's 4); nil means the last id, vocab − 1, which
	// tformer reserves above its tokenizers' ids (so checkpoints written
	// before this field existed keep their meaning). See MaskID.
	MaskToken *int32 `json:"mask_id,omitempty"`
}

// Tying is an encoder–decoder's three-way embedding tying.
type Tying string

// The tying choices of an encoder–decoder.
const (
	TieAll     Tying = "all"     // one K×d matrix: source lookup, target lookup and output projection
	TieDecoder Tying = "decoder" // target lookup = output projection; a separate source table
	TieNone    Tying = "none"    // three K×d matrices
)

// ParseTying parses a three-way tying name.
func ParseTying(s string) (Tying, error) {
	switch Tying(s) {
	case TieAll, TieDecoder, TieNone:
		return Tying(s), nil
	}
	return "", fmt.Errorf("unknown tying %q (want all, decoder or none)", s)
}

// IsEncDec reports whether c is an encoder–decoder.
func (c Config) IsEncDec() bool { return c.Arch == ArchEncDec }

// Sinusoidal reports whether positions are the fixed sinusoids of Vaswani
// et al. (no parameters).
func (c Config) Sinusoidal() bool { return c.Positions == SinusoidalPositions }

// TyingMode is the three-way tying of an encoder–decoder: Tying, or, when
// it is "", "all" with Tie and "none" without.
func (c Config) TyingMode() Tying {
	if c.Tying != "" {
		return c.Tying
	}
	if c.Tie {
		return TieAll
	}
	return TieNone
}

// EncoderStack is the encoder–decoder's encoder stack seen as a Config of
// EncLayers layers (for its sharing indices: AttnIndex, FFNIndex,
// AttnBlocks, FFNBlocks).
func (c Config) EncoderStack() Config {
	c.Layers = c.EncLayers
	return c
}

// Norm names a normalisation.
type Norm string

// The norms.
const (
	LayerNormKind Norm = "layernorm" // the default ""
	RMSNormKind   Norm = "rmsnorm"
)

// Positions names a position encoding.
type Positions string

// The position encodings.
const (
	LearnedPositions    Positions = "learned" // the default ""
	RotaryPositions     Positions = "rope"
	SinusoidalPositions Positions = "sinusoidal" // encdec: Vaswani et al.'s fixed sin/cos table
)

// MLP names an FFN form.
type MLP string

// The FFN forms.
const (
	GELUMLP MLP = "gelu"   // up, GELU, down: the default ""
	SwiGLU  MLP = "swiglu" // SiLU(gate)·up, down
	GeGLU   MLP = "geglu"  // GELU(gate)·up, down
)

// Bias names which linear layers carry biases.
type Bias string

// The bias placements.
const (
	BiasAll  Bias = "all"  // the default ""
	BiasNone Bias = "none" // no linear layer has a bias
	BiasQKV  Bias = "qkv"  // only the Q, K, V projections (Qwen2)
)

// RopeScaling is Llama 3's rope_scaling ({"rope_type": "llama3", ...}).
type RopeScaling struct {
	Factor         float64 `json:"factor"`
	LowFreqFactor  float64 `json:"low_freq_factor"`
	HighFreqFactor float64 `json:"high_freq_factor"`
	OrigContext    int     `json:"original_max_position_embeddings"`
}

// RMS reports whether the norms are RMSNorms.
func (c Config) RMS() bool { return c.Norm == RMSNormKind }

// Rotary reports whether positions are rotary (no position table).
func (c Config) Rotary() bool { return c.Positions == RotaryPositions }

// Gated reports whether the FFN is gated (SwiGLU or GeGLU).
func (c Config) Gated() bool { return c.MLP == SwiGLU || c.MLP == GeGLU }

// Window is layer l's sliding window in keys (0: full causal attention).
func (c Config) Window(l int) int {
	if c.SlidingWindow <= 0 || c.SlidingEvery > 1 && l%c.SlidingEvery != 0 {
		return 0
	}
	return c.SlidingWindow
}

// AttnOpts is layer l's attention options for the kernels: its window, the
// scores' soft-cap and the query scale.
func (c Config) AttnOpts(l int) kernels.AttnOpts {
	o := kernels.AttnOpts{Window: c.Window(l), Softcap: float32(c.AttnSoftcap)}
	if c.QueryScalar > 0 {
		o.Scale = float32(1 / math.Sqrt(c.QueryScalar))
	}
	return o
}

// QKVBias reports whether the Q, K, V projections have biases.
func (c Config) QKVBias() bool { return c.Bias == "" || c.Bias == BiasAll || c.Bias == BiasQKV }

// LinearBias reports whether the output projection and the FFN have biases.
func (c Config) LinearBias() bool { return c.Bias == "" || c.Bias == BiasAll }

// KV is the number of key/value heads.
func (c Config) KV() int {
	if c.KVHeads == 0 {
		return c.Heads
	}
	return c.KVHeads
}

// QDim is the width of the queries and of the attention output, heads·dh.
func (c Config) QDim() int { return c.Heads * c.HeadDim() }

// KVDim is the width of the keys and of the values, kv_heads·dh.
func (c Config) KVDim() int { return c.KV() * c.HeadDim() }

// QKVDim is the fused QKV projection's output width, QDim + 2·KVDim.
func (c Config) QKVDim() int { return c.QDim() + 2*c.KVDim() }

// Theta is RoPE's base: RopeTheta, or 10000 when 0.
func (c Config) Theta() float64 {
	if c.RopeTheta == 0 {
		return 10000
	}
	return c.RopeTheta
}

// RopeScale is the kernels' form of RopeScaling (nil when none).
func (c Config) RopeScale() *kernels.RopeScaling {
	if c.RopeScaling == nil {
		return nil
	}
	r := c.RopeScaling
	return &kernels.RopeScaling{Factor: r.Factor, LowFreqFactor: r.LowFreqFactor, HighFreqFactor: r.HighFreqFactor, OrigContext: float64(r.OrigContext)}
}

// NormGainOffset is the constant added to every norm gain: 1 with
// NormOffset, else 0.
func (c Config) NormGainOffset() float32 {
	if c.NormOffset {
		return 1
	}
	return 0
}

// EmbedMultiplier is the token embedding's factor: √d with EmbedScale (in
// float32, as Gemma computes it), else 1.
func (c Config) EmbedMultiplier() float32 {
	if c.EmbedScale {
		return float32(math.Sqrt(float64(c.DModel)))
	}
	return 1
}

// Family returns c with the choices of a model family made: "gpt2" (learned
// positions, LayerNorm, GELU, every bias), "llama" (RMSNorm, RoPE, SwiGLU, no
// biases; also Mistral's), "qwen2" (Llama's with Q, K, V biases) or "gemma"
// (RMSNorm with a 1 + w gain, RoPE, GeGLU with tanh GELU, no biases, the
// embedding scaled by √d) or "gemma2" (Gemma's, with post-norms, attention
// and final soft-caps of 50 and 30, and every other layer windowed, from
// layer 0, when SlidingWindow is set). The shape, heads, tying, sharing and
// window size are kept.
func (c Config) Family(name string) (Config, error) {
	c.Norm, c.NormOffset, c.Positions, c.MLP, c.Bias, c.EmbedScale = "", false, "", "", "", false
	c.PostNorms, c.AttnSoftcap, c.FinalSoftcap, c.SlidingEvery = false, 0, 0, 0
	switch name {
	case "gpt2", "decoder":
	case "llama", "mistral":
		c.Norm, c.Positions, c.MLP, c.Bias = RMSNormKind, RotaryPositions, SwiGLU, BiasNone
	case "qwen2":
		c.Norm, c.Positions, c.MLP, c.Bias = RMSNormKind, RotaryPositions, SwiGLU, BiasQKV
	case "gemma", "gemma2":
		c.Norm, c.NormOffset, c.Positions, c.MLP, c.Bias, c.EmbedScale = RMSNormKind, true, RotaryPositions, GeGLU, BiasNone, true
		c.Activation = GELUTanh
		if name == "gemma2" {
			c.PostNorms, c.AttnSoftcap, c.FinalSoftcap, c.SlidingEvery = true, 50, 30, 2
		}
	default:
		return c, fmt.Errorf("unknown model family %q (want gpt2, llama, mistral, qwen2, gemma or gemma2)", name)
	}
	return c, nil
}

// Activation names a GELU form.
type Activation string

// The GELU forms.
const (
	GELUTanh Activation = "gelu_tanh" // 0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³))); the default ""
	GELUErf  Activation = "gelu_erf"  // 0.5·x·(1 + erf(x/√2))
	ReLU     Activation = "relu"      // max(0, x): the Transformer's FFN (encoder–decoders only)
)

// Eps is the LayerNorm epsilon as the kernels use it.
func (c Config) Eps() float32 {
	if c.LayerNormEps == 0 {
		return kernels.LayerNormEps
	}
	return float32(c.LayerNormEps)
}

// ErfGELU reports whether the model uses GELU's exact erf form.
func (c Config) ErfGELU() bool { return c.Activation == GELUErf }

// DefaultTypeVocab is the number of token types of an encoder whose config
// leaves TypeVocab 0 (BERT's and ALBERT's 2: sentence A and B).
const DefaultTypeVocab = 2

// IsEncoder reports whether c is an encoder.
func (c Config) IsEncoder() bool { return c.Arch == ArchEncoder }

// E is the embedding width: EmbedDim, or d when it is 0.
func (c Config) E() int {
	if c.EmbedDim == 0 {
		return c.DModel
	}
	return c.EmbedDim
}

// Factorized reports whether the embedding is factorized (E != d), which
// adds the E -> d projection and, for a decoder, the output head through E.
func (c Config) Factorized() bool { return c.E() != c.DModel }

// HasHead reports whether the output goes through the dense/GELU/LayerNorm
// head with an output bias: every encoder, and a factorized decoder.
func (c Config) HasHead() bool { return c.IsEncoder() || c.Factorized() }

// Types is the number of token types: 0 for a decoder, TypeVocab (or
// DefaultTypeVocab when 0) for an encoder.
func (c Config) Types() int {
	if !c.IsEncoder() {
		return 0
	}
	if c.TypeVocab == 0 {
		return DefaultTypeVocab
	}
	return c.TypeVocab
}

// Canonical returns c with defaults spelled one way: Arch "decoder" becomes
// "", EmbedDim = d, Activation "gelu_tanh" and LayerNormEps 1e-5 become their
// zero values (so a decoder config serialises as it did before these fields
// existed), and an encoder's TypeVocab 0 becomes DefaultTypeVocab. New
// stores the canonical form.
func (c Config) Canonical() Config {
	if c.Arch == ArchDecoder {
		c.Arch = ""
	}
	if c.EmbedDim == c.DModel {
		c.EmbedDim = 0
	}
	if c.IsEncoder() && c.TypeVocab == 0 {
		c.TypeVocab = DefaultTypeVocab
	}
	if c.Activation == GELUTanh {
		c.Activation = ""
	}
	if c.Norm == LayerNormKind {
		c.Norm = ""
	}
	if c.Positions == LearnedPositions {
		c.Positions = ""
	}
	if c.MLP == GELUMLP {
		c.MLP = ""
	}
	if c.Bias == BiasAll {
		c.Bias = ""
	}
	if c.KVHeads == c.Heads {
		c.KVHeads = 0
	}
	if c.Heads > 0 && c.DHead*c.Heads == c.DModel {
		c.DHead = 0
	}
	if c.Rotary() && c.RopeTheta == 10000 {
		c.RopeTheta = 0
	}
	if c.SlidingEvery == 1 {
		c.SlidingEvery = 0
	}
	if c.Heads > 0 && c.QueryScalar == float64(c.HeadDim()) {
		c.QueryScalar = 0
	}
	if c.IsEncDec() {
		c.Tying = c.TyingMode()
		c.Tie = c.Tying != TieNone
	}
	if c.LayerNormEps == kernels.LayerNormEps {
		c.LayerNormEps = 0
	}
	return c
}

// MaskID is the id of an encoder's [MASK] token: MaskToken when set (the
// tokenizer's own [MASK], as in Hugging Face BERT and ALBERT), else the
// last in the vocabulary (tformer reserves it above the tokenizer's ids).
func (c Config) MaskID() int32 {
	if c.MaskToken != nil {
		return *c.MaskToken
	}
	return int32(c.Vocab - 1)
}

// MaskReserved reports whether the [MASK] id is the one tformer reserves
// above the tokenizer's ids (MaskToken unset): then the tokenizer's ids are
// those below it, and masked-LM's random replacements are drawn from them.
func (c Config) MaskReserved() bool { return c.MaskToken == nil }

// WithMask returns c with [MASK] at id (the tokenizer's own mask token).
func (c Config) WithMask(id int32) Config {
	c.MaskToken = &id
	return c
}

// Tiny is the default configuration of `tformer train` on the built-in
// corpus: a byte-level model of about 0.8M parameters.
func Tiny() Config {
	return Config{Vocab: 256, DModel: 128, Layers: 4, Heads: 4, DFF: 512, MaxSeq: 128, Tie: true, Share: ShareNone, Groups: 1}
}

// TinyLlama is Tiny as a Llama: RMSNorm, rotary positions, SwiGLU with
// d_ff ≈ 8/3·d (352), no biases, 2 key/value heads for 4 query heads (GQA),
// tied: the model of `tformer train --arch llama`.
func TinyLlama() Config {
	c, _ := Tiny().Family("llama")
	c.KVHeads, c.DFF = 2, 352
	return c
}

// GPT2Small is the shape of OpenAI's GPT-2 small (124M with tying).
func GPT2Small() Config {
	return Config{Vocab: 50257, DModel: 768, Layers: 12, Heads: 12, DFF: 3072, MaxSeq: 1024, Tie: true, Share: ShareNone, Groups: 1}
}

// Validate reports the first problem with c as an error naming the field.
func (c Config) Validate() error {
	pos := []struct {
		name string
		v    int
	}{{"vocab", c.Vocab}, {"d-model", c.DModel}, {"layers", c.Layers}, {"heads", c.Heads}, {"d-ff", c.DFF}, {"max-seq", c.MaxSeq}, {"groups", c.Groups}}
	for _, p := range pos {
		if p.v <= 0 {
			return fmt.Errorf("invalid config: %s must be positive, got %d", p.name, p.v)
		}
	}
	if _, err := ParseArch(string(c.Arch)); err != nil {
		return fmt.Errorf("invalid config: %w", err)
	}
	if c.EmbedDim < 0 {
		return fmt.Errorf("invalid config: embed-dim must not be negative, got %d", c.EmbedDim)
	}
	if c.EmbedDim > c.DModel {
		return fmt.Errorf("invalid config: embed-dim (%d) cannot be larger than d-model (%d): a factorized embedding is narrower than the model (use 0 or %d for none)", c.EmbedDim, c.DModel, c.DModel)
	}
	if c.Activation != "" && c.Activation != GELUTanh && c.Activation != GELUErf && c.Activation != ReLU {
		return fmt.Errorf("invalid config: unknown activation %q (want gelu_tanh, gelu_erf or relu)", c.Activation)
	}
	if !(c.LayerNormEps >= 0 && c.LayerNormEps < 1) {
		return fmt.Errorf("invalid config: layer-norm epsilon must be in [0, 1), got %g", c.LayerNormEps)
	}
	if c.TypeVocab < 0 {
		return fmt.Errorf("invalid config: type-vocab must not be negative, got %d", c.TypeVocab)
	}
	if c.TypeVocab != 0 && !c.IsEncoder() {
		return fmt.Errorf("invalid config: token types (type-vocab %d) apply to encoders only", c.TypeVocab)
	}
	if c.IsEncoder() && c.Vocab < 2 {
		return fmt.Errorf("invalid config: an encoder needs a vocab of at least 2 (its last id is [MASK]), got %d", c.Vocab)
	}
	if c.MaskToken != nil {
		if !c.IsEncoder() {
			return fmt.Errorf("invalid config: a [MASK] id (%d) applies to encoders only", *c.MaskToken)
		}
		if id := *c.MaskToken; id < 0 || int(id) >= c.Vocab {
			return fmt.Errorf("invalid config: the [MASK] id %d is outside the vocab of %d", id, c.Vocab)
		}
	}
	if err := c.validateFamily(); err != nil {
		return fmt.Errorf("invalid config: %w", err)
	}
	if err := c.validateEncDec(); err != nil {
		return fmt.Errorf("invalid config: %w", err)
	}
	if c.DHead == 0 && c.DModel%c.Heads != 0 {
		return fmt.Errorf("invalid config: heads (%d) must divide d-model (%d) (or give head-dim)", c.Heads, c.DModel)
	}
	if _, err := ParseShare(string(c.Share)); err != nil {
		return fmt.Errorf("invalid config: %w", err)
	}
	if c.Share != ShareNone {
		if c.Groups > c.Layers {
			return fmt.Errorf("invalid config: groups (%d) cannot exceed layers (%d)", c.Groups, c.Layers)
		}
		if c.Layers%c.Groups != 0 {
			return fmt.Errorf("invalid config: groups (%d) must divide layers (%d)", c.Groups, c.Layers)
		}
		if c.IsEncDec() && (c.Groups > c.EncLayers || c.EncLayers%c.Groups != 0) {
			return fmt.Errorf("invalid config: groups (%d) must divide enc-layers (%d): each stack shares within its own groups", c.Groups, c.EncLayers)
		}
	}
	// Keep every tensor addressable by int on 64-bit platforms and sane.
	const maxElems = 1 << 40
	if int64(c.QKVDim())*int64(c.DModel) > maxElems || int64(c.Vocab)*int64(c.DModel) > maxElems || int64(c.Types())*int64(c.DModel) > maxElems || int64(c.DModel)*int64(c.DFF) > maxElems || int64(c.MaxSeq)*int64(c.DModel) > maxElems {
		return errors.New("invalid config: tensor sizes are implausibly large")
	}
	return nil
}

// HeadDim is every head's width: DHead, or d / heads when it is 0.
func (c Config) HeadDim() int {
	if c.DHead != 0 {
		return c.DHead
	}
	return c.DModel / c.Heads
}

// validateFamily checks the family choices, naming the field at fault.
func (c Config) validateFamily() error {
	switch c.Norm {
	case "", LayerNormKind, RMSNormKind:
	default:
		return fmt.Errorf("unknown norm %q (want layernorm or rmsnorm)", c.Norm)
	}
	switch c.Positions {
	case "", LearnedPositions, RotaryPositions, SinusoidalPositions:
	default:
		return fmt.Errorf("unknown positions %q (want learned, rope or sinusoidal)", c.Positions)
	}
	switch c.MLP {
	case "", GELUMLP, SwiGLU, GeGLU:
	default:
		return fmt.Errorf("unknown mlp %q (want gelu, swiglu or geglu)", c.MLP)
	}
	switch c.Bias {
	case "", BiasAll, BiasNone, BiasQKV:
	default:
		return fmt.Errorf("unknown bias %q (want all, none or qkv)", c.Bias)
	}
	if c.KVHeads < 0 || c.DHead < 0 {
		return fmt.Errorf("kv-heads (%d) and head-dim (%d) must not be negative", c.KVHeads, c.DHead)
	}
	if c.Heads > 0 && c.Heads%c.KV() != 0 {
		return fmt.Errorf("kv-heads (%d) must divide heads (%d)", c.KV(), c.Heads)
	}
	if c.SlidingWindow < 0 || c.SlidingEvery < 0 {
		return fmt.Errorf("sliding-window (%d) and sliding-every (%d) must not be negative", c.SlidingWindow, c.SlidingEvery)
	}
	if c.SlidingWindow > 0 && (c.IsEncoder() || c.IsEncDec()) {
		return errors.New("sliding-window: a sliding window applies to decoders only")
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"attn-softcap", c.AttnSoftcap}, {"final-softcap", c.FinalSoftcap}, {"query-scalar", c.QueryScalar}} {
		if !(f.v >= 0) || math.IsInf(f.v, 0) {
			return fmt.Errorf("%s must be a positive number (0: none), got %g", f.name, f.v)
		}
		if f.v != 0 && (c.IsEncoder() || c.IsEncDec()) {
			return fmt.Errorf("%s applies to decoders only", f.name)
		}
	}
	if c.PostNorms && (!c.RMS() || c.IsEncoder() || c.IsEncDec()) {
		return errors.New("post-norms (Gemma 2's) apply to rmsnorm decoders only")
	}
	if c.NormOffset && !c.RMS() {
		return errors.New("norm-offset (a 1 + w gain) applies to rmsnorm only")
	}
	if !(c.RopeTheta >= 0) || math.IsInf(c.RopeTheta, 0) {
		return fmt.Errorf("rope-theta must be a positive number, got %g", c.RopeTheta)
	}
	if !c.Rotary() && (c.RopeTheta != 0 || c.RopeScaling != nil) {
		return errors.New("rope-theta and rope-scaling apply to rotary positions (positions rope) only")
	}
	if c.Rotary() && c.Heads > 0 && c.HeadDim()%2 != 0 {
		return fmt.Errorf("rotary positions need an even head-dim, got %d", c.HeadDim())
	}
	if r := c.RopeScaling; r != nil {
		if !(r.Factor >= 1) || !(r.LowFreqFactor > 0) || !(r.HighFreqFactor > r.LowFreqFactor) || r.OrigContext <= 0 || math.IsInf(r.Factor+r.HighFreqFactor, 0) {
			return fmt.Errorf("rope-scaling needs factor >= 1, 0 < low_freq_factor < high_freq_factor and original_max_position_embeddings > 0, got %+v", *r)
		}
	}
	if c.IsEncoder() {
		for _, f := range []struct {
			name string
			set  bool
		}{{"norm", c.RMS()}, {"positions", c.Rotary() || c.Sinusoidal()}, {"mlp", c.Gated()}, {"kv-heads", c.KVHeads != 0 && c.KVHeads != c.Heads},
			{"head-dim", c.DHead != 0 && c.DHead*c.Heads != c.DModel}, {"bias", c.Bias != "" && c.Bias != BiasAll}, {"embed-scale", c.EmbedScale}} {
			if f.set {
				return fmt.Errorf("%s: the encoder is BERT's design; the Llama-family choices apply to decoders only", f.name)
			}
		}
	}
	return nil
}

func (c Config) groupOf(l int) int { return l / (c.Layers / c.Groups) }

// AttnBlocks is the number of stored attention sub-blocks.
func (c Config) AttnBlocks() int {
	if c.Share == ShareAll || c.Share == ShareAttention {
		return c.Groups
	}
	return c.Layers
}

// FFNBlocks is the number of stored FFN sub-blocks.
func (c Config) FFNBlocks() int {
	if c.Share == ShareAll || c.Share == ShareFFN {
		return c.Groups
	}
	return c.Layers
}

// AttnIndex returns the stored attention block layer l uses.
func (c Config) AttnIndex(l int) int {
	if c.Share == ShareAll || c.Share == ShareAttention {
		return c.groupOf(l)
	}
	return l
}

// FFNIndex returns the stored FFN block layer l uses.
func (c Config) FFNIndex(l int) int {
	if c.Share == ShareAll || c.Share == ShareFFN {
		return c.groupOf(l)
	}
	return l
}

// JSON returns the config as compact JSON (the form stored in checkpoints).
func (c Config) JSON() string {
	b, _ := json.Marshal(c)
	return string(b)
}

// ParseConfig decodes and validates a config from its JSON form.
func ParseConfig(s string) (Config, error) {
	var c Config
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return c, fmt.Errorf("parse model config: %w", err)
	}
	if c.Share == "" {
		c.Share = ShareNone
	}
	if c.Groups == 0 {
		c.Groups = 1
	}
	c = c.Canonical()
	return c, c.Validate()
}

// Package model defines tformer's transformers: a GPT-style decoder and a
// BERT/ALBERT-style encoder trained by masked language modelling. It holds
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
)

// ParseArch parses an architecture name ("" is the decoder).
func ParseArch(s string) (Arch, error) {
	switch Arch(s) {
	case "", ArchDecoder:
		return ArchDecoder, nil
	case ArchEncoder:
		return ArchEncoder, nil
	}
	return "", fmt.Errorf("unknown architecture %q (want decoder or encoder)", s)
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
}

// Activation names a GELU form.
type Activation string

// The GELU forms.
const (
	GELUTanh Activation = "gelu_tanh" // 0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³))); the default ""
	GELUErf  Activation = "gelu_erf"  // 0.5·x·(1 + erf(x/√2))
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
	if c.LayerNormEps == kernels.LayerNormEps {
		c.LayerNormEps = 0
	}
	return c
}

// MaskID is the id of an encoder's [MASK] token, the last in the vocabulary
// (tformer reserves it above the tokenizer's ids).
func (c Config) MaskID() int32 { return int32(c.Vocab - 1) }

// Tiny is the default configuration of `tformer train` on the built-in
// corpus: a byte-level model of about 0.8M parameters.
func Tiny() Config {
	return Config{Vocab: 256, DModel: 128, Layers: 4, Heads: 4, DFF: 512, MaxSeq: 128, Tie: true, Share: ShareNone, Groups: 1}
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
	if c.Activation != "" && c.Activation != GELUTanh && c.Activation != GELUErf {
		return fmt.Errorf("invalid config: unknown activation %q (want gelu_tanh or gelu_erf)", c.Activation)
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
	if c.DModel%c.Heads != 0 {
		return fmt.Errorf("invalid config: heads (%d) must divide d-model (%d)", c.Heads, c.DModel)
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
	}
	// Keep every tensor addressable by int on 64-bit platforms and sane.
	const maxElems = 1 << 40
	if int64(c.Vocab)*int64(c.DModel) > maxElems || int64(c.Types())*int64(c.DModel) > maxElems || int64(c.DModel)*int64(c.DFF) > maxElems || int64(c.MaxSeq)*int64(c.DModel) > maxElems {
		return errors.New("invalid config: tensor sizes are implausibly large")
	}
	return nil
}

// HeadDim is d / heads.
func (c Config) HeadDim() int { return c.DModel / c.Heads }

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

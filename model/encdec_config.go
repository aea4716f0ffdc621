package model

import (
	"errors"
	"fmt"
)

// An encoder–decoder (Arch "encdec") is the Transformer of Vaswani et al.
// (2017) as data: an encoder stack of EncLayers layers (bidirectional
// self-attention with a key padding mask, FFN) over the source, and a
// decoder stack of Layers layers (causal self-attention, cross-attention
// over the encoder's output, FFN) over the target, trained by teacher-forced
// cross-entropy on the target tokens.
//
// Both stacks share the config's width, heads, d_ff, norm, FFN form, biases
// and GELU form. PostLN picks post-LN blocks (x = LN(x + f(x)); the paper
// and BART) or pre-LN ones (x = x + f(LN(x)) with a final norm per stack);
// Positions "" (learned: one MaxSeq×d table per stack) or "sinusoidal" (the
// paper's fixed table); EmbedScale multiplies the token embeddings by √d;
// Tying is the three-way tie (all, decoder, none). Share and Groups apply
// within each stack: decoder layers share their self-attention and
// cross-attention blocks together under ShareAttention and ShareAll.
// MaxSeq bounds the source and the target length.

// validateEncDec checks the encoder–decoder fields: that only an
// encoder–decoder sets them, and that an encoder–decoder makes no choice
// the engine lacks for it.
func (c Config) validateEncDec() error {
	if !c.IsEncDec() {
		switch {
		case c.EncLayers != 0:
			return fmt.Errorf("enc-layers (%d) applies to encoder-decoders (arch encdec) only", c.EncLayers)
		case c.PostLN:
			return errors.New("post-ln applies to encoder-decoders (arch encdec) only: a decoder is pre-LN, an encoder post-LN")
		case c.Tying != "":
			return fmt.Errorf("tying %q (three-way) applies to encoder-decoders (arch encdec) only; decoders and encoders tie with tie", c.Tying)
		case c.Sinusoidal():
			return errors.New("sinusoidal positions apply to encoder-decoders (arch encdec) only")
		case c.Activation == ReLU:
			return errors.New("activation relu applies to encoder-decoders (arch encdec) only")
		case c.ShareStacks:
			return errors.New("share-stacks applies to encoder-decoders (arch encdec) only")
		case c.EmbedNorm:
			return errors.New("embed-norm applies to encoder-decoders (arch encdec) only")
		case c.PosOffset != 0:
			return fmt.Errorf("pos-offset (%d) applies to encoder-decoders (arch encdec) only", c.PosOffset)
		}
		return nil
	}
	if c.EncLayers <= 0 {
		return fmt.Errorf("enc-layers must be positive for an encoder-decoder, got %d", c.EncLayers)
	}
	if c.EncLayers > 1<<16 || c.Layers > 1<<16 {
		return fmt.Errorf("enc-layers (%d) and layers (%d) are implausibly large", c.EncLayers, c.Layers)
	}
	if c.Tying != "" {
		if _, err := ParseTying(string(c.Tying)); err != nil {
			return err
		}
	}
	switch {
	case c.PosOffset < 0 || c.PosOffset > 1<<10:
		return fmt.Errorf("pos-offset must be in [0, 1024], got %d", c.PosOffset)
	case c.PosOffset != 0 && c.Sinusoidal():
		return fmt.Errorf("pos-offset %d applies to learned positions, not sinusoidal ones", c.PosOffset)
	case c.Rotary():
		return errors.New("positions rope: an encoder-decoder has learned or sinusoidal positions")
	case c.Sinusoidal() && c.DModel%2 != 0:
		return fmt.Errorf("sinusoidal positions need an even d-model, got %d", c.DModel)
	case c.EmbedDim != 0 && c.EmbedDim != c.DModel:
		return fmt.Errorf("embed-dim %d: factorized embeddings apply to decoders and encoders, not encoder-decoders", c.EmbedDim)
	case c.KVHeads != 0 && c.KVHeads != c.Heads:
		return fmt.Errorf("kv-heads %d: an encoder-decoder's attention is multi-head (kv-heads = heads)", c.KVHeads)
	case c.DHead != 0 && c.DHead*c.Heads != c.DModel:
		return fmt.Errorf("head-dim %d: an encoder-decoder's heads split d-model (head-dim = d-model / heads)", c.DHead)
	case c.Activation == ReLU && c.Gated():
		return fmt.Errorf("activation relu with mlp %s: a gated FFN's activation is its own (SwiGLU) or a GELU (GeGLU)", c.MLP)
	case c.ShareStacks && (c.EncoderStack().AttnBlocks() != c.AttnBlocks() || c.EncoderStack().FFNBlocks() != c.FFNBlocks()):
		return fmt.Errorf("share-stacks: the encoder stores %d attention and %d FFN blocks, the decoder %d and %d; sharing between the stacks needs the same (equal enc-layers and layers, or sharing in the same groups)",
			c.EncoderStack().AttnBlocks(), c.EncoderStack().FFNBlocks(), c.AttnBlocks(), c.FFNBlocks())
	case c.Bias == BiasQKV:
		return errors.New("bias qkv: an encoder-decoder has biases on every linear layer (all) or none")
	}
	return nil
}

// TinyEncDec is a small encoder–decoder for the built-in tasks: 2 + 2
// layers of width 128, 4 heads, d_ff 512, post-LN, sinusoidal positions,
// the embedding scaled by √d, a ReLU FFN and three-way tying (the paper's
// choices at toy size), a byte vocabulary plus 4 special ids and 64
// positions.
func TinyEncDec() Config {
	return Config{Arch: ArchEncDec, Vocab: 260, DModel: 128, EncLayers: 2, Layers: 2, Heads: 4, DFF: 512, MaxSeq: 64,
		Tie: true, Tying: TieAll, Share: ShareNone, Groups: 1, PostLN: true, Positions: SinusoidalPositions, EmbedScale: true, Activation: ReLU}
}

// TransformerBase is the base model of Vaswani et al. (2017) as the engine
// builds it: 6 + 6 post-LN layers of width 512, 8 heads, a ReLU FFN of
// 2048, sinusoidal positions (MaxSeq 1024 only bounds the lengths), the
// embedding scaled by √d and one matrix of a 37,000-token shared
// vocabulary tied three ways.
func TransformerBase() Config {
	return Config{Arch: ArchEncDec, Vocab: 37000, DModel: 512, EncLayers: 6, Layers: 6, Heads: 8, DFF: 2048, MaxSeq: 1024,
		Tie: true, Tying: TieAll, Share: ShareNone, Groups: 1, PostLN: true, Positions: SinusoidalPositions, EmbedScale: true, Activation: ReLU}
}

// TransformerBig is Vaswani et al.'s big model: TransformerBase at width
// 1024 with 16 heads and an FFN of 4096.
func TransformerBig() Config {
	c := TransformerBase()
	c.DModel, c.Heads, c.DFF = 1024, 16, 4096
	return c
}

// BARTBase is the shape of facebook/bart-base: 6 + 6 post-LN layers of
// width 768, 12 heads, an erf-GELU FFN of 3072, learned positions of 1024
// after BART's 2 offset rows, a LayerNorm after each stack's embedding and
// a 50,265-token vocabulary tied three ways (final_logits_bias, a buffer
// of zeros in the published checkpoints, is not modelled).
func BARTBase() Config {
	return Config{Arch: ArchEncDec, Vocab: 50265, DModel: 768, EncLayers: 6, Layers: 6, Heads: 12, DFF: 3072, MaxSeq: 1024,
		Tie: true, Tying: TieAll, Share: ShareNone, Groups: 1, PostLN: true, EmbedNorm: true, PosOffset: 2, Activation: GELUErf}
}

// BARTLarge is facebook/bart-large's shape: BARTBase with 12 + 12 layers
// of width 1024, 16 heads and an FFN of 4096.
func BARTLarge() Config {
	c := BARTBase()
	c.DModel, c.EncLayers, c.Layers, c.Heads, c.DFF = 1024, 12, 12, 16, 4096
	return c
}

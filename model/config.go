// Package model defines tformer's GPT-style decoder: its configuration, the
// layout of its parameters with input–output tying and ALBERT-style
// cross-layer sharing, and an explicit per-layer forward and backward pass
// over one flat slab of parameters and one of gradients.
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

// Config describes a model. The attention sub-block of a layer is its
// pre-attention LayerNorm, the fused QKV projection and the output
// projection; the FFN sub-block is its pre-FFN LayerNorm and the two FFN
// matmuls. Biases everywhere, GELU (tanh form), LayerNorm eps 1e-5, learned
// positions, causal self-attention, a final LayerNorm — GPT-2's design.
type Config struct {
	Vocab  int   `json:"vocab"`    // vocabulary size K
	DModel int   `json:"d_model"`  // width d
	Layers int   `json:"layers"`   // number of Transformer layers applied
	Heads  int   `json:"heads"`    // attention heads; must divide DModel
	DFF    int   `json:"d_ff"`     // FFN inner width (4·d by convention)
	MaxSeq int   `json:"max_seq"`  // context length (number of learned positions)
	Tie    bool  `json:"tie"`      // logits use the token embedding E (no separate output matrix)
	Share  Share `json:"share"`    // cross-layer sharing mode
	Groups int   `json:"groups"`   // number of contiguous layer groups that share (ignored with ShareNone)
}

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
	if int64(c.Vocab)*int64(c.DModel) > maxElems || int64(c.DModel)*int64(c.DFF) > maxElems || int64(c.MaxSeq)*int64(c.DModel) > maxElems {
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
	return c, c.Validate()
}

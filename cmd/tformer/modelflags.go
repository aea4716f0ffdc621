package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/tformer/tformer/model"
)

// modelFlags are the flags that define a model's shape, family and sharing,
// declared once here and shared by train, cost and profile so that the three
// commands spell and document them the same way.
type modelFlags struct {
	fs    *pflag.FlagSet
	c     model.Config // the flags' values
	noTie bool
	share string
	arch  string
}

// modelFlagNames are the names of every model flag (train --init refuses
// them: the model file fixes the shape).
var modelFlagNames = []string{"vocab", "d-model", "layers", "heads", "d-ff", "max-seq", "tie", "no-tie", "share", "groups", "arch", "embed-dim", "type-vocab"}

// addModelFlags declares the model flags on fs with def's values as the
// defaults (d-ff 0 means 4·d-model). withVocab adds --vocab (train takes the
// vocabulary from its tokenizer instead).
func addModelFlags(fs *pflag.FlagSet, def model.Config, withVocab bool) *modelFlags {
	mf := &modelFlags{fs: fs}
	if withVocab {
		fs.IntVar(&mf.c.Vocab, "vocab", def.Vocab, "vocabulary size K")
	}
	fs.IntVar(&mf.c.DModel, "d-model", def.DModel, "model width d")
	fs.IntVar(&mf.c.Layers, "layers", def.Layers, "number of Transformer layers")
	fs.IntVar(&mf.c.Heads, "heads", def.Heads, "attention heads (must divide --d-model)")
	fs.IntVar(&mf.c.DFF, "d-ff", 0, "FFN inner width (0: 4·d-model)")
	fs.IntVar(&mf.c.MaxSeq, "max-seq", def.MaxSeq, "context length (learned positions)")
	fs.BoolVar(&mf.c.Tie, "tie", true, "tie the output projection (or masked-LM decoder) to the token embedding (logits = h·Eᵀ)")
	fs.BoolVar(&mf.noTie, "no-tie", false, "use a separate output matrix (same as --tie=false)")
	fs.StringVar(&mf.share, "share", "none", "cross-layer sharing: none, all (ALBERT), attention or ffn")
	fs.IntVar(&mf.c.Groups, "groups", 1, "split layers into G contiguous groups that each share one set of weights")
	fs.StringVar(&mf.arch, "arch", "decoder", "architecture: decoder (GPT-2 style, next-token loss) or encoder (BERT/ALBERT style, masked-LM)")
	fs.IntVar(&mf.c.EmbedDim, "embed-dim", 0, "factorized embedding width E < d-model (ALBERT): K×E tables, an E->d projection, output through E (0: d-model)")
	fs.IntVar(&mf.c.TypeVocab, "type-vocab", 0, "encoder token types (0: 2, as BERT and ALBERT; the built-in data uses type 0)")
	return mf
}

// changed reports whether the user gave flag name.
func (mf *modelFlags) changed(name string) bool { return mf.fs.Changed(name) }

// changedAny returns the first model flag the user gave, or "".
func (mf *modelFlags) changedAny() string {
	for _, f := range modelFlagNames {
		if mf.fs.Lookup(f) != nil && mf.changed(f) {
			return f
		}
	}
	return ""
}

// override sets on c every model flag the user gave, leaving the rest of c
// (a preset's or a config file's values) alone. A new --d-model without
// --d-ff resets d-ff to 4·d-model; a zero d-ff becomes 4·d-model. --arch is
// left to the caller (cost and the engine name architectures differently).
func (mf *modelFlags) override(c *model.Config) error {
	set := func(name string, dst *int, v int) {
		if mf.changed(name) {
			*dst = v
		}
	}
	if mf.fs.Lookup("vocab") != nil {
		set("vocab", &c.Vocab, mf.c.Vocab)
	}
	set("d-model", &c.DModel, mf.c.DModel)
	set("layers", &c.Layers, mf.c.Layers)
	set("heads", &c.Heads, mf.c.Heads)
	set("max-seq", &c.MaxSeq, mf.c.MaxSeq)
	set("groups", &c.Groups, mf.c.Groups)
	set("embed-dim", &c.EmbedDim, mf.c.EmbedDim)
	set("type-vocab", &c.TypeVocab, mf.c.TypeVocab)
	if mf.changed("d-ff") {
		c.DFF = mf.c.DFF
	} else if mf.changed("d-model") {
		c.DFF = 0
	}
	if c.DFF == 0 {
		c.DFF = 4 * c.DModel
	}
	if mf.changed("tie") {
		c.Tie = mf.c.Tie
	}
	if mf.noTie {
		c.Tie = false
	}
	if mf.changed("share") {
		sh, err := model.ParseShare(mf.share)
		if err != nil {
			return fmt.Errorf("--share: %w", err)
		}
		c.Share = sh
	}
	return nil
}

// config builds the model config of `tformer train` for a tokenizer of vocab
// ids from every flag's value. An encoder gets one more id, [MASK] (= vocab).
func (mf *modelFlags) config(vocab int) (model.Config, error) {
	c := mf.c
	arch, err := model.ParseArch(mf.arch)
	if err != nil {
		return c, err
	}
	c.Arch = arch
	c.Vocab = vocab
	if arch == model.ArchEncoder {
		c.Vocab = vocab + 1
	}
	if mf.noTie {
		c.Tie = false
	}
	if c.DFF == 0 {
		c.DFF = 4 * c.DModel
	}
	sh, err := model.ParseShare(mf.share)
	if err != nil {
		return c, err
	}
	c.Share = sh
	return c, c.Validate()
}

package main

import (
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/tformer/tformer/modelio"
	"github.com/tformer/tformer/train"
)

// evalMaskedLM is eval on a Hugging Face BERT or ALBERT directory: the
// text is encoded with the model's own tokenizer, each window is
// [CLS] + seq−2 text tokens + [SEP] (the frame of the tokenizer's
// post-processor), and the text tokens are masked as for a tformer encoder
// but with the tokenizer's [MASK] id.
func evalMaskedLM(o *evalOptions, split string, stdout, stderr io.Writer) error {
	if o.Stride != 0 {
		return fmt.Errorf("--stride applies to decoders; an encoder's windows are scored whole")
	}
	l, err := modelio.LoadMaskedLM(o.Model, o.Tokenizer)
	if err != nil {
		if errors.Is(err, modelio.ErrNoTokenizer) {
			return fmt.Errorf("--model %s has no tokenizer.json, spiece.model or vocab.txt; pass --tokenizer", o.Model)
		}
		return fmt.Errorf("--model: %w", err)
	}
	for _, n := range l.Notes {
		fmt.Fprintln(stderr, "note:", n)
	}
	c := l.Model.Config
	seq := o.Seq
	if seq == 0 {
		seq = c.MaxSeq
	}
	if seq > c.MaxSeq {
		return fmt.Errorf("--seq %d exceeds the model's %d positions", seq, c.MaxSeq)
	}
	if frame := len(l.Prefix) + len(l.Suffix); seq <= frame {
		return fmt.Errorf("--seq %d leaves no room for text between the tokenizer's %d special tokens", seq, frame)
	}
	if o.Batch > train.MaxBatchTokens/seq {
		return fmt.Errorf("--batch %d × --seq %d is more than %d tokens per forward pass", o.Batch, seq, train.MaxBatchTokens)
	}
	ids, name, err := loadTokensAs(o.Data, l.Tokenizer, o.SpecialText)
	if err != nil {
		return err
	}
	if split == "val" {
		ids = train.HeldOut(ids)
		name += fmt.Sprintf(", held-out split (last %d%%)", int(100*train.ValFraction))
	}
	pr := newEvalProgress(stderr)
	r, err := train.EvaluateMLMWith(l.Model, ids, train.MLMEvalOptions{Seq: seq, Batch: o.Batch, Seed: o.MaskSeed,
		Prefix: l.Prefix, Suffix: l.Suffix, Progress: pr.update})
	pr.done()
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := checkFiniteResult(o.Model, name, r.Loss); err != nil {
		return err
	}
	if o.JSON {
		return printJSON(stdout, struct {
			train.MLMEvalResult
			Split  string `json:"split"`
			MaskID int32  `json:"mask_id"`
		}{r, split, c.MaskID()})
	}
	text := seq - len(l.Prefix) - len(l.Suffix)
	mask, _ := l.Tokenizer.TokenString(c.MaskID())
	fmt.Fprintf(stdout, "%s: masked-LM loss %.4f nats/masked token (%.3f bits), accuracy %.2f%% over %s masked of %s tokens (%s windows of %d text tokens between the tokenizer's special tokens; mask %s, id %d)\n",
		name, r.Loss, r.Loss/math.Ln2, 100*r.Accuracy, commas(int64(r.Masked)), commas(int64(r.Tokens)), commas(int64(r.Tokens/text)), text, mask, c.MaskID())
	return nil
}

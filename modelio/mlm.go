package modelio

import (
	"errors"
	"fmt"

	"github.com/tformer/tformer/hfbert"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/tokenizer"
)

// MaskedLM is a Hugging Face BERT or ALBERT masked LM with its own
// tokenizer, ready to score or fill masks in text.
type MaskedLM struct {
	Model     *model.Model  // an encoder whose Config.MaskToken is the tokenizer's [MASK]
	Type      string        // "bert" or "albert"
	Tokenizer *tokenizer.HF // tokenizer.json, spiece.model or vocab.txt
	// Prefix and Suffix are the special tokens the tokenizer puts around
	// one sequence ([CLS] and [SEP]).
	Prefix, Suffix []int32
	Notes          []string // what the reader assumed or changed
}

// IsMaskedLM reports whether dir is a Hugging Face BERT or ALBERT
// directory (by its config.json's model_type).
func IsMaskedLM(dir string) bool {
	_, err := hfbert.Detect(dir)
	return err == nil
}

// LoadMaskedLM reads the BERT or ALBERT masked LM in dir with the tokenizer
// at tokPath (a tokenizer.json, or a directory holding one or ALBERT's
// spiece.model or BERT's vocab.txt; "" means dir). The model's [MASK] becomes the tokenizer's
// (BERT's id 103, ALBERT's 4), so masking uses the id the model was
// trained with; every special id must be inside the model's vocabulary.
func LoadMaskedLM(dir, tokPath string) (*MaskedLM, error) {
	l, err := hfbert.Load(dir)
	if err != nil {
		return nil, err
	}
	if tokPath == "" {
		tokPath = dir
		if !tokenizer.IsHFPath(tokPath) {
			return nil, fmt.Errorf("%s has no tokenizer.json, spiece.model or vocab.txt: %w", dir, ErrNoTokenizer)
		}
	}
	tok, err := tokenizer.LoadHF(tokPath)
	if err != nil {
		return nil, err
	}
	mask, ok := tok.MaskToken()
	if !ok {
		return nil, errors.New("the tokenizer has no [MASK] (or <mask>) token")
	}
	c := l.Model.Config
	pre, suf := tok.Frame()
	for _, id := range append(append([]int32{mask}, pre...), suf...) {
		if int(id) >= c.Vocab {
			s, _ := tok.TokenString(id)
			return nil, fmt.Errorf("the tokenizer's %s is id %d, outside the model's vocabulary of %d: the tokenizer is not this model's", s, id, c.Vocab)
		}
	}
	if tok.VocabSize() > c.Vocab {
		return nil, fmt.Errorf("the tokenizer has %d ids, more than the model's vocabulary of %d: the tokenizer is not this model's", tok.VocabSize(), c.Vocab)
	}
	l.Model.Config = c.WithMask(mask)
	return &MaskedLM{Model: l.Model, Type: l.Type, Tokenizer: tok, Prefix: pre, Suffix: suf, Notes: l.Notes}, nil
}

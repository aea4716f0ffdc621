package main

import (
	"fmt"
	"io"

	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/tokenizer"
)

// loadModel reads a model for use — a tformer checkpoint, a Hugging Face
// GPT-2 directory or an llm.c checkpoint — with its tokenizer, printing any
// notes about the conversion to w.
func loadModel(path string, w io.Writer) (*model.Model, tokenizer.Tokenizer, error) {
	am, err := loadAnyModel(path)
	if err != nil {
		return nil, nil, err
	}
	for _, n := range am.notes {
		fmt.Fprintln(w, "note:", n)
	}
	if am.tok == nil {
		if am.tokName != "" {
			return nil, nil, fmt.Errorf("%s: unknown tokenizer %q", path, am.tokName)
		}
		return nil, nil, fmt.Errorf("%s names no tokenizer and its vocabulary of %d matches none tformer knows; convert it with --tokenizer byte|gpt2", path, am.model.Config.Vocab)
	}
	return am.model, am.tok, nil
}

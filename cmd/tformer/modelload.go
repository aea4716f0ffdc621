package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/modelio"
	"github.com/tformer/tformer/tokenizer"
)

// loadModel reads a model for use — a tformer checkpoint, a Hugging Face
// GPT-2 or Llama-family directory or an llm.c checkpoint — with its tokenizer, printing any
// notes about the conversion to w.
func loadModel(path string, w io.Writer) (*model.Model, tokenizer.Tokenizer, error) {
	l, err := modelio.Load(path)
	if err != nil {
		if errors.Is(err, modelio.ErrNoTokenizer) {
			return nil, nil, fmt.Errorf("%w; record one with tformer convert --tokenizer byte|gpt2", err)
		}
		return nil, nil, err
	}
	for _, n := range l.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	return l.Model, l.Tokenizer, nil
}

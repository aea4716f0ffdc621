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
	if l, err = loaded(l, err, w); err != nil {
		return nil, nil, err
	}
	return l.Model, l.Tokenizer, nil
}

// loaded finishes a modelio load for the CLI: the missing-tokenizer error
// says how to record one, and the loader's notes are printed to w.
func loaded(l *modelio.Loaded, err error, w io.Writer) (*modelio.Loaded, error) {
	if errors.Is(err, modelio.ErrNoTokenizer) {
		return nil, fmt.Errorf("%w; record one with tformer convert --tokenizer byte|gpt2", err)
	}
	if err != nil {
		return nil, err
	}
	for _, n := range l.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	return l, nil
}

package main

import (
	"fmt"
	"os"

	"github.com/tformer/tformer/corpus"
	"github.com/tformer/tformer/llmc"
	"github.com/tformer/tformer/tokenizer"
)

// loadText reads the data file, or returns the built-in corpus for "".
func loadText(path string) ([]byte, string, error) {
	if path == "" {
		return corpus.Default(), "built-in corpus", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("read data: %w", err)
	}
	if len(b) == 0 {
		return nil, "", fmt.Errorf("data file %s is empty", path)
	}
	return b, path, nil
}

// loadTokens reads and tokenizes the data. An llm.c token file (as
// `tformer tokenize` writes) is recognised by its magic number and its ids
// are used as they are, after checking that they fit tok's vocabulary.
//
// The tokenizer's special tokens (GPT-2's <|endoftext|>, which separates
// documents) become their one id; loadTokensAs can keep them as text.
func loadTokens(path string, tok tokenizer.Tokenizer) ([]int32, string, error) {
	return loadTokensAs(path, tok, false)
}

// loadTokensAs is loadTokens, with specialsAsText encoding special tokens'
// text like any other text.
func loadTokensAs(path string, tok tokenizer.Tokenizer, specialsAsText bool) ([]int32, string, error) {
	text, name, err := loadText(path)
	if err != nil {
		return nil, "", err
	}
	if !llmc.IsTokenFile(text) {
		return encodeText(tok, text, specialsAsText), name, nil
	}
	ids, err := llmc.ParseTokens(text)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	for i, id := range ids {
		if int(id) >= tok.VocabSize() {
			return nil, "", fmt.Errorf("token file %s: token %d has id %d, outside the %s tokenizer's %d tokens (was it made with another --tokenizer?)",
				path, i, id, tok.Name(), tok.VocabSize())
		}
	}
	return ids, name + " (llm.c token file)", nil
}

func humanCount(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

// encodeText encodes text with tok, its special tokens as their ids unless
// asText.
func encodeText(tok tokenizer.Tokenizer, text []byte, asText bool) []int32 {
	if asText {
		return tok.Encode(text)
	}
	return tokenizer.EncodeSpecial(tok, text, tokenizer.Specials(tok))
}

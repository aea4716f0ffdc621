package main

import (
	"fmt"
	"os"

	"github.com/tformer/tformer/corpus"
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

// loadTokens reads and tokenizes the data.
func loadTokens(path string, tok tokenizer.Tokenizer) ([]int32, string, error) {
	text, name, err := loadText(path)
	if err != nil {
		return nil, "", err
	}
	return tok.Encode(text), name, nil
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

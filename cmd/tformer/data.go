package main

import (
	"fmt"
	"io"
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
	b, err := readData(path)
	if err != nil {
		return nil, "", fmt.Errorf("read data: %w", err)
	}
	if len(b) == 0 {
		return nil, "", fmt.Errorf("data file %s is empty", path)
	}
	return b, path, nil
}

// maxDataBytes bounds a data file (tokenize or train text, a token file):
// a regular file larger than this is refused before reading, and a pipe
// or device (/dev/zero) is read up to it.
var maxDataBytes int64 = 4 << 30

// readData reads a data file, bounded by maxDataBytes.
func readData(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > maxDataBytes {
		return nil, fmt.Errorf("%s is %d bytes, more than the %d a data file may have", path, st.Size(), maxDataBytes)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxDataBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(b)) > maxDataBytes {
		return nil, fmt.Errorf("%s yields more than %d bytes, the most a data file may have (is it a device such as /dev/zero?)", path, maxDataBytes)
	}
	return b, nil
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
	ids, info, err := llmc.ParseTokenFile(text)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	if err := checkTokenFileTokenizer(path, info, tok); err != nil {
		return nil, "", err
	}
	for i, id := range ids {
		if int(id) >= tok.VocabSize() {
			return nil, "", fmt.Errorf("token file %s: token %d has id %d, outside the %s tokenizer's %d tokens (was it made with another --tokenizer?)",
				path, i, id, tok.Name(), tok.VocabSize())
		}
	}
	return ids, name + " (llm.c token file)", nil
}

// checkTokenFileTokenizer refuses a token file whose header names a
// tokenizer other than tok.
func checkTokenFileTokenizer(path string, info llmc.TokenFileInfo, tok tokenizer.Tokenizer) error {
	if !info.Known() {
		return nil // llm.c's own files do not say
	}
	if info.Vocab == tok.VocabSize() && info.Fingerprint == tokenizer.Fingerprint(tok) {
		return nil
	}
	name := info.Tokenizer
	if name == "" {
		name = "another tokenizer"
	}
	return fmt.Errorf("token file %s was made with the %s tokenizer (%d tokens), not with %s (%d tokens): tokenize the text again, or use a model of that tokenizer",
		path, name, info.Vocab, tok.Name(), tok.VocabSize())
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
	return tokenizer.EncodeSpecial(tok, text, tokenizer.SpecialTokens(tok))
}

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tformer/tformer/llmc"
	"github.com/tformer/tformer/tokenizer"
)

// TestTokenFileCarriesTokenizer checks that train takes a token file's
// tokenizer when --tokenizer is not given, and that a tokenizer.json path
// works as a tokenizer name in tokenize and train.
func TestTokenFileCarriesTokenizer(t *testing.T) {
	dir := t.TempDir()
	data := writeText(t, dir)
	g := filepath.Join(dir, "g.bin")
	mustRun(t, "tokenize", "--tokenizer", "gpt2", data, g)
	if got := dataTokenizer(g, "byte", false); got != "gpt2" {
		t.Errorf("dataTokenizer = %q, want gpt2", got)
	}
	if got := dataTokenizer(g, "byte", true); got != "byte" {
		t.Errorf("dataTokenizer with --tokenizer given = %q, want byte", got)
	}
	tiny := []string{"--steps", "1", "--sample", "0", "--d-model", "8", "--layers", "1", "--heads", "2", "--max-seq", "16", "--seq", "16", "--batch", "1", "--eval-windows", "1"}
	_, errOut := mustRun(t, append([]string{"train", "--data", g, "--out", filepath.Join(dir, "g.safetensors")}, tiny...)...)
	if !strings.Contains(errOut, "llm.c token file") {
		t.Errorf("train output:\n%s", errOut)
	}
	wantError(t, "was made with the gpt2 tokenizer", append([]string{"train", "--tokenizer", "byte", "--data", g, "--out", filepath.Join(dir, "x.safetensors")}, tiny...)...)

	// A tokenizer.json directory as the tokenizer, in tokenize and train.
	hf, err := filepath.Abs(filepath.Join("..", "..", "tokenizer", "testdata", "hf", "llama2"))
	if err != nil {
		t.Fatal(err)
	}
	h := filepath.Join(dir, "h.bin")
	out, _ := mustRun(t, "tokenize", "--tokenizer", hf, data, h)
	if !strings.Contains(out, "as uint16") {
		t.Errorf("tokenize output %q", out)
	}
	tok, err := tokenizer.New(hf)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := os.ReadFile(data)
	raw, _ := os.ReadFile(h)
	ids, info, err := llmc.ParseTokenFile(raw)
	if err != nil || !slices.Equal(ids, tok.Encode(text)) || info.Tokenizer != hf {
		t.Fatalf("token file: %d ids, %+v, %v", len(ids), info, err)
	}
	mustRun(t, append([]string{"train", "--data", h, "--out", filepath.Join(dir, "h.safetensors")}, tiny...)...)
}

// TestTokenizeWide checks the uint32 layout for a vocabulary beyond 65536
// ids, with a WordPiece tokenizer.json of 70000 words written here.
func TestTokenizeWide(t *testing.T) {
	dir := t.TempDir()
	vocab := map[string]int{"[UNK]": 0}
	for i := 1; i < 70000; i++ {
		vocab[fmt.Sprintf("w%d", i)] = i
	}
	j, _ := json.Marshal(map[string]any{
		"normalizer": nil, "pre_tokenizer": map[string]any{"type": "BertPreTokenizer"},
		"post_processor": nil, "decoder": map[string]any{"type": "WordPiece"}, "added_tokens": []any{},
		"model": map[string]any{"type": "WordPiece", "unk_token": "[UNK]", "vocab": vocab},
	})
	tj := filepath.Join(dir, "tokenizer.json")
	if err := os.WriteFile(tj, j, 0o644); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "in.txt")
	os.WriteFile(in, []byte("w69999 w1 w65536 nope w7"), 0o644)
	out := filepath.Join(dir, "out.bin")
	stdout, _ := mustRun(t, "tokenize", "--tokenizer", tj, in, out)
	if !strings.Contains(stdout, "as uint32") {
		t.Errorf("tokenize output %q", stdout)
	}
	raw, _ := os.ReadFile(out)
	ids, info, err := llmc.ParseTokenFile(raw)
	if err != nil || !slices.Equal(ids, []int32{69999, 1, 65536, 0, 7}) || info.Vocab != 70000 {
		t.Errorf("ids %v, info %+v, err %v", ids, info, err)
	}
	wantError(t, "model.type", "tokenize", "--tokenizer", writeFile(t, dir, "bad.json", `{"model":{"type":"WordLevel","vocab":{}}}`), in, out)
}

func writeFile(t *testing.T, dir, name, s string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

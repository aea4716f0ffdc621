package server

import (
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tformer/tformer/generate"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/tokenizer"
)

// A SentencePiece tokenizer (the Llama-2 fixture: ▁ for spaces, a
// first-space strip, byte fallback) decodes its ids one by one with no
// spaces; the server's text, whole or streamed, is what Decode gives for
// the prompt and the completion together, after the prompt's own.
func TestCompletionTextOfSentencePieceTokenizer(t *testing.T) {
	tok, err := tokenizer.LoadHF(filepath.Join("..", "tokenizer", "testdata", "hf", "llama2"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.New(model.Config{Vocab: tok.VocabSize(), DModel: 32, Layers: 1, Heads: 2, DFF: 64, MaxSeq: 128, Tie: true, Share: model.ShareNone, Groups: 1})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(5)
	s, err := New(Config{Model: m, Tokenizer: tok, Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	const prompt = "The cat sat on"
	ids := tok.Encode([]byte(prompt))
	var gen []int32
	o := generate.Options{Tokens: 60, Temperature: 1, Seed: 2}
	if err := generate.Generate(m, ids, o, func(t int32) error { gen = append(gen, t); return nil }); err != nil {
		t.Fatal(err)
	}
	all := tok.Decode(append(append([]int32{}, ids...), gen...))
	// (invalid UTF-8, from stray byte-fallback ids, is sent as U+FFFD)
	want := strings.ToValidUTF8(string(all[len(tok.Decode(ids)):]), "\uFFFD")
	var alone strings.Builder
	for _, id := range gen {
		alone.Write(tok.Decode([]int32{id}))
	}
	if alone.String() == want || !strings.Contains(want, " ") {
		t.Fatalf("the ids decoded alone (%q) are the whole's text (%q): the test shows nothing", alone.String(), want)
	}
	body := map[string]any{"prompt": prompt, "max_tokens": 60, "temperature": 1, "seed": 2}
	code, r := post(t, ts.URL+"/v1/completions", body)
	if code != 200 {
		t.Fatalf("%d %v", code, r)
	}
	if got := choice(t, r)["text"]; got != want {
		t.Errorf("completion text %q, want %q", got, want)
	}
	body["stream"] = true
	var streamed strings.Builder
	pieces := 0
	for _, c := range stream(t, ts.URL+"/v1/completions", body) {
		if p := choice(t, c)["text"].(string); p != "" {
			streamed.WriteString(p)
			pieces++
		}
	}
	if streamed.String() != want || pieces < 10 {
		t.Errorf("streamed %q in %d pieces, want %q", streamed.String(), pieces, want)
	}
}

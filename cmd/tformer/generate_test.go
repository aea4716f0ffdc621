package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tformer/tformer/checkpoint"
	"github.com/tformer/tformer/generate"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/tokenizer"
)

func TestGeneratePromptSources(t *testing.T) {
	path := tinyCheckpoint(t, tinyByteConfig)
	file := filepath.Join(t.TempDir(), "prompt.txt")
	os.WriteFile(file, []byte("from a file"), 0o644)
	gen := func(o generateOptions, stdin string) (string, string, error) {
		o.Model = path
		o.Gen.Tokens, o.Gen.Seed, o.Gen.TopK = 5, 1, 40
		var out, errw bytes.Buffer
		err := generateRun(&o, strings.NewReader(stdin), &out, &errw)
		return out.String(), errw.String(), err
	}
	for _, c := range []struct {
		o      generateOptions
		stdin  string
		prefix string
	}{
		{generateOptions{Prompt: "Hello"}, "", "Hello"},
		{generateOptions{Prompt: "-"}, "from stdin", "from stdin"},
		{generateOptions{PromptFile: file}, "", "from a file"},
	} {
		out, errOut, err := gen(c.o, c.stdin)
		if err != nil || !strings.HasPrefix(out, c.prefix) || len(out) != len(c.prefix)+5+1 {
			t.Errorf("%+v: %q, %v", c.o, out, err)
		}
		if !strings.Contains(errOut, "generated 5 tokens in") || !strings.Contains(errOut, "tokens/s") || !strings.Contains(errOut, fmt.Sprintf("s after the %d-token prompt", len(c.prefix))) {
			t.Errorf("stderr %q lacks the speed", errOut)
		}
	}
	// Too long: cut from the left, with a warning, and the kept text echoed.
	out, errOut, err := gen(generateOptions{Prompt: "0123456789abcdefXYZ"}, "")
	if err != nil || !strings.HasPrefix(out, "3456789abcdefXYZ") || !strings.Contains(errOut, "warning: the prompt is 19 tokens, longer than the model's context of 16; keeping its last 16") {
		t.Errorf("long prompt: %q %q %v", out, errOut, err)
	}
	for _, c := range []struct {
		o    generateOptions
		want string
	}{
		{generateOptions{}, "--prompt TEXT, --prompt - (standard input) or --prompt-file FILE"},
		{generateOptions{Prompt: "a", PromptFile: file}, "not both"},
		{generateOptions{PromptFile: filepath.Join(t.TempDir(), "none")}, "--prompt-file"},
	} {
		if _, _, err := gen(c.o, ""); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.o, err, c.want)
		}
	}
}

// A GPT-2-vocabulary model that always predicts <|endoftext|> stops at once;
// with --no-stop it runs on; the prompt's <|endoftext|> is one token.
func TestGenerateStopsAtEndOfText(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a GPT-2-vocabulary model")
	}
	c := model.Config{Vocab: tokenizer.GPT2Vocab, DModel: 8, Layers: 1, Heads: 1, DFF: 8, MaxSeq: 8, Tie: true, Share: model.ShareNone, Groups: 1}
	m, err := model.New(c)
	if err != nil {
		t.Fatal(err)
	}
	// Zero weights, then make the end-of-text row of the tied embedding
	// the only one that lines up with the final LayerNorm's bias.
	for i := range m.Params {
		m.Params[i] = 0
	}
	set := func(name string, f func([]float32)) {
		s := m.Layout.Slice(m.Params, name)
		f(s)
	}
	set("lnf.b", func(s []float32) {
		for i := range s {
			s[i] = 1
		}
	})
	set("wte", func(s []float32) {
		for i := range c.DModel {
			s[tokenizer.GPT2EndOfText*c.DModel+i] = 1
		}
	})
	path := filepath.Join(t.TempDir(), "eot.safetensors")
	if err := checkpoint.Save(path, &checkpoint.Checkpoint{Model: m, Tokenizer: "gpt2"}); err != nil {
		t.Fatal(err)
	}
	var out, errw bytes.Buffer
	o := generateOptions{Model: path, Prompt: "a<|endoftext|>b", Gen: defaultGen(0)}
	if err := generateRun(&o, nil, &out, &errw); err != nil {
		t.Fatal(err)
	}
	if out.String() != "a<|endoftext|>b\n" || !strings.Contains(errw.String(), "generated 0 tokens") || !strings.Contains(errw.String(), "stopped at end of text") {
		t.Errorf("stdout %q stderr %q", out.String(), errw.String())
	}
	out.Reset()
	errw.Reset()
	o.NoStop = true
	if err := generateRun(&o, nil, &out, &errw); err != nil {
		t.Fatal(err)
	}
	if out.String() != "a<|endoftext|>b"+strings.Repeat("<|endoftext|>", 3)+"\n" {
		t.Errorf("--no-stop: %q", out.String())
	}
}

func defaultGen(temp float64) (g generate.Options) {
	g.Tokens, g.Temperature, g.Seed = 3, temp, 1
	return g
}

func TestVersion(t *testing.T) {
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"--version"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "tformer ") || !strings.Contains(out.String(), "go1.") {
		t.Errorf("--version printed %q", out.String())
	}
}

// A model whose tokenizer is a SentencePiece tokenizer.json (the Llama-2
// fixture) prints the text Decode gives for the prompt and the generated
// ids together: with its spaces, which its ids decoded one by one lose.
func TestGenerateSentencePieceText(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("..", "..", "tokenizer", "testdata", "hf", "llama2"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.New(model.Config{Vocab: tok.VocabSize(), DModel: 16, Layers: 1, Heads: 2, DFF: 32, MaxSeq: 64, Tie: true, Share: model.ShareNone, Groups: 1})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(4)
	path := filepath.Join(t.TempDir(), "sp.safetensors")
	if err := checkpoint.Save(path, &checkpoint.Checkpoint{Model: m, Tokenizer: dir}); err != nil {
		t.Fatal(err)
	}
	const prompt = "The cat sat on"
	o := generateOptions{Model: path, Prompt: prompt, Gen: generate.Options{Tokens: 40, Temperature: 1, Seed: 3}, NoStop: true}
	var out, errw bytes.Buffer
	if err := generateRun(&o, nil, &out, &errw); err != nil {
		t.Fatal(err)
	}
	ids := tok.Encode([]byte(prompt))
	var gen []int32
	if err := generate.Generate(m, ids, o.Gen, func(t int32) error { gen = append(gen, t); return nil }); err != nil {
		t.Fatal(err)
	}
	all := tok.Decode(append(append([]int32{}, ids...), gen...))
	want := prompt + string(all[len(tok.Decode(ids)):]) + "\n"
	if out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}
}

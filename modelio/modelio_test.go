package modelio

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tformer/tformer/checkpoint"
	"github.com/tformer/tformer/hf"
	"github.com/tformer/tformer/hfgpt2"
	"github.com/tformer/tformer/llmc"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/tokenizer"
)

func tiny(t *testing.T, vocab int) *model.Model {
	t.Helper()
	m, err := model.New(model.Config{Vocab: vocab, DModel: 16, Layers: 1, Heads: 2, DFF: 64, MaxSeq: 8, Tie: true, Share: model.ShareNone, Groups: 1})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestOpenEveryFormat(t *testing.T) {
	dir := t.TempDir()
	m := tiny(t, 256)
	ck := filepath.Join(dir, "m.safetensors")
	if err := checkpoint.Save(ck, &checkpoint.Checkpoint{Model: m, Tokenizer: "byte"}); err != nil {
		t.Fatal(err)
	}
	hf := filepath.Join(dir, "hf")
	if _, err := hfgpt2.Save(hf, m, nil, hfgpt2.Options{}); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "m.bin")
	if err := llmc.WriteCheckpoint(bin, m, llmc.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, format string }{{ck, Tformer}, {hf, HF}, {bin, LLMC}} {
		l, err := Load(c.path)
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		if l.Format != c.format || l.TokenizerName != "byte" || l.Model.Config.DModel != 16 {
			t.Errorf("%s: format %q tokenizer %q d %d", c.path, l.Format, l.TokenizerName, l.Model.Config.DModel)
		}
	}
}

func TestLoadUnknownTokenizer(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "m.bin")
	if err := llmc.WriteCheckpoint(bin, tiny(t, 300), llmc.Options{}); err != nil {
		t.Fatal(err)
	}
	if l, err := Open(bin); err != nil || l.Tokenizer != nil {
		t.Fatalf("Open: %v, tokenizer %v", err, l)
	}
	if _, err := Load(bin); !errors.Is(err, ErrNoTokenizer) {
		t.Fatalf("Load: got %v, want ErrNoTokenizer", err)
	}
}

func TestDetectBadInput(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte{1, 2}, 0o644)
	tok := filepath.Join(dir, "tok.bin")
	b := make([]byte, 1024)
	binary.LittleEndian.PutUint32(b, llmc.TokensMagic)
	os.WriteFile(tok, b, 0o644)
	junk := filepath.Join(dir, "junk.safetensors")
	os.WriteFile(junk, []byte("not a model at all"), 0o644)
	for _, c := range []struct{ path, want string }{
		{filepath.Join(dir, "missing"), "no such file"},
		{short, "too short"},
		{tok, "token file"},
		{junk, "not a model file"},
	} {
		_, err := Open(c.path)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.path, err, c.want)
		}
	}
}

// TestOpenLlamaDirectory opens a Llama-family directory written by
// hf.Save with a tokenizer.json (and tokenizer_config.json), and the
// independently written fixtures (which have no tokenizer).
func TestOpenLlamaDirectory(t *testing.T) {
	tok, err := tokenizer.LoadHF("../tokenizer/testdata/hf/llama3")
	if err != nil {
		t.Fatal(err)
	}
	c := model.TinyLlama()
	c.Vocab, c.DModel, c.Layers, c.DFF, c.MaxSeq = 963, 16, 1, 24, 16
	m, err := model.New(c)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(3)
	dir := filepath.Join(t.TempDir(), "llama")
	if _, err := hf.Save(dir, m, tok, hf.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, filepath.Join(dir, "model.safetensors")} {
		if f, err := Detect(p); err != nil || f != HF {
			t.Errorf("Detect(%s) = %q, %v", p, f, err)
		}
		l, err := Load(p)
		if err != nil {
			t.Fatal(err)
		}
		if l.Format != HF || l.Detail != "llama, F32" || l.TokenizerName != dir || !slices.Equal(l.Model.Params, m.Params) {
			t.Errorf("%s: format %q detail %q tokenizer %q", p, l.Format, l.Detail, l.TokenizerName)
		}
		if got, want := l.Tokenizer.Encode([]byte("Hello, world!")), tok.Encode([]byte("Hello, world!")); !slices.Equal(got, want) {
			t.Errorf("tokenizer encodes %v, want %v", got, want)
		}
	}
	// GPT-2's BPE travels as vocab.json and merges.txt.
	gpt2, err := tokenizer.NewGPT2()
	if err != nil {
		t.Fatal(err)
	}
	c.Vocab = gpt2.VocabSize()
	g, err := model.New(c)
	if err != nil {
		t.Fatal(err)
	}
	gdir := filepath.Join(t.TempDir(), "llama-gpt2")
	if _, err := hf.Save(gdir, g, gpt2, hf.Options{}); err != nil {
		t.Fatal(err)
	}
	if l, err := Load(gdir); err != nil || l.TokenizerName != "gpt2" {
		t.Errorf("Llama directory with GPT-2's tokenizer: %v, %+v", err, l)
	}
	fx := "../testdata/hf/llama/llama3_bf16_sharded"
	if f, err := Detect(filepath.Join(fx, hf.IndexFile)); err != nil || f != HF {
		t.Errorf("Detect(index) = %q, %v", f, err)
	}
	l, err := Open(fx)
	if err != nil || l.Detail != "llama, BF16" || l.Tokenizer != nil {
		t.Fatalf("Open(%s): %+v, %v", fx, l, err)
	}
	if _, err := Load(fx); !errors.Is(err, ErrNoTokenizer) {
		t.Errorf("Load without a tokenizer: %v", err)
	}
}

package hfgpt2_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/tformer/tformer/hfgpt2"
	"github.com/tformer/tformer/llmc"
)

// Load a Hugging Face GPT-2 directory and write it as an llm.c checkpoint.
func ExampleLoad() {
	l, err := hfgpt2.Load("../testdata/interop/hf_tied")
	if err != nil {
		panic(err)
	}
	c := l.Model.Config
	fmt.Printf("vocab %d, d %d, layers %d, heads %d, tied %v, stored as %s\n", c.Vocab, c.DModel, c.Layers, c.Heads, c.Tie, l.DType)

	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	if err := llmc.WriteCheckpoint(filepath.Join(dir, "model.bin"), l.Model, llmc.Options{}); err != nil {
		panic(err)
	}
	_, h, err := llmc.ReadCheckpoint(filepath.Join(dir, "model.bin"))
	if err != nil {
		panic(err)
	}
	fmt.Printf("llm.c version %d, vocabulary %d padded to %d\n", h.Version, h.Vocab, h.PaddedVocab)
	// Output:
	// vocab 61, d 16, layers 2, heads 4, tied true, stored as F32
	// llm.c version 3, vocabulary 61 padded to 128
}

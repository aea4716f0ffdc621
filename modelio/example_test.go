package modelio_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/tformer/tformer/checkpoint"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/modelio"
)

// Open a model without knowing its format: here a tformer checkpoint that
// a byte-level model was just saved to; a Hugging Face directory or an
// llm.c .bin opens the same way.
func ExampleLoad() {
	dir, _ := os.MkdirTemp("", "modelio")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "tiny.safetensors")
	m, _ := model.New(model.Config{Vocab: 256, DModel: 16, Layers: 1, Heads: 2, DFF: 32, MaxSeq: 8, Tie: true, Share: model.ShareNone, Groups: 1})
	if err := checkpoint.Save(path, &checkpoint.Checkpoint{Model: m, Tokenizer: "byte"}); err != nil {
		fmt.Println(err)
		return
	}

	l, err := modelio.Load(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	ids := l.Tokenizer.Encode([]byte("hi"))
	fmt.Println(l.Format, l.TokenizerName, l.Model.Config.DModel, ids)
	// Output: tformer byte 16 [104 105]
}

// Open a model for inference with bf16 weights: a tformer checkpoint (or
// a GPT-2 or Llama-family directory) is read straight into bf16 storage,
// tensor by tensor, never as a float32 copy.
func ExampleOpenAs() {
	dir, _ := os.MkdirTemp("", "modelio")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "tiny.safetensors")
	m, _ := model.New(model.Tiny())
	m.Init(1)
	if err := checkpoint.Save(path, &checkpoint.Checkpoint{Model: m, Tokenizer: "byte"}); err != nil {
		fmt.Println(err)
		return
	}

	l, err := modelio.OpenAs(path, model.BF16)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(l.Model.DType(), l.Model.WeightBytes(), "bytes, f32:", model.WeightBytes(l.Model.Config, model.F32))
	// Output: bf16 1731584 bytes, f32: 3369984
}

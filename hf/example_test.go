package hf_test

import (
	"fmt"

	"github.com/tformer/tformer/hf"
)

// Load reads a Llama-family Hugging Face directory (here one of the test
// directories: Llama 3 style, untied, BF16 weights in three shards).
func ExampleLoad() {
	l, err := hf.Load("../testdata/hf/llama/llama3_bf16_sharded")
	if err != nil {
		fmt.Println(err)
		return
	}
	c := l.Model.Config
	fmt.Println(l.Config.ModelType, l.DType, c.Layers, "layers,", c.Heads, "query heads,", c.KV(), "kv head, tied:", c.Tie)
	// Output: llama BF16 2 layers, 4 query heads, 1 kv head, tied: false
}

package hfbart_test

import (
	"fmt"

	"github.com/tformer/tformer/hfbart"
	"github.com/tformer/tformer/model"
)

// Load reads a BartForConditionalGeneration directory (here one of the test
// directories: 2 + 2 layers, F16 weights, scale_embedding) and Greedy
// decodes a source from its decoder start id.
func ExampleLoad() {
	l, err := hfbart.Load("../testdata/bart/bart_scaled_gelunew_f16")
	if err != nil {
		fmt.Println(err)
		return
	}
	c := l.Model.Config
	ids, _ := l.IDs()
	fmt.Println(l.DType, c.EncLayers, "+", c.Layers, "layers, tying", c.TyingMode(), "embed scale", c.EmbedScale, "start id", ids.DecoderStart)
	h, err := l.Model.Greedy([]int32{ids.BOS, 40, 77, ids.EOS}, model.GenerateOptions{BOS: ids.DecoderStart, EOS: ids.EOS, MaxLen: 6})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(h.Tokens) <= 6)
	// Output:
	// F16 2 + 2 layers, tying all embed scale true start id 2
	// true
}

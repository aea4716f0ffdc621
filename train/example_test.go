package train_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/tokenizer"
	"github.com/tformer/tformer/train"
)

// Training a small tied model from Go: tokenize, split, train, evaluate.
func ExampleTrainer_Run() {
	text := strings.Repeat("a stitch in time saves nine. ", 200)
	ids := tokenizer.Byte{}.Encode([]byte(text))
	ds, err := train.Split(ids, 32)
	if err != nil {
		panic(err)
	}
	m, err := model.New(model.Config{Vocab: 256, DModel: 32, Layers: 2, Heads: 2, DFF: 128, MaxSeq: 32, Tie: true, Share: model.ShareAll, Groups: 1})
	if err != nil {
		panic(err)
	}
	m.Init(1)
	o := train.DefaultOptions()
	o.Steps, o.Batch, o.Seq, o.Warmup, o.EvalEvery = 60, 4, 32, 5, 0
	tr, err := train.New(m, ds, o)
	if err != nil {
		panic(err)
	}
	var first, last float64
	err = tr.Run(context.Background(), "", 0, train.Hooks{OnEval: func(step int, v float64) {
		if step == 0 {
			first = v
		}
		last = v
	}})
	if err != nil {
		panic(err)
	}
	fmt.Printf("validation loss fell by more than half: %v\n", last < first/2)
	// Output: validation loss fell by more than half: true
}

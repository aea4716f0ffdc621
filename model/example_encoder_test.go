package model_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/tformer/tformer/kernels"
	"github.com/tformer/tformer/model"
)

// A masked-LM step of an ALBERT-style encoder (factorized embedding E = 16,
// all layers shared): mask 15% of each window, then run the head on the
// masked positions only.
func ExampleModel_ForwardMLM() {
	c := model.Config{Arch: model.ArchEncoder, Vocab: 257, DModel: 32, Layers: 4, Heads: 4, DFF: 128, MaxSeq: 32,
		Tie: true, Share: model.ShareAll, Groups: 1, EmbedDim: 16} // byte tokenizer + [MASK] = 257 ids
	m, err := model.New(c)
	if err != nil {
		panic(err)
	}
	m.Init(1)
	m.Flops = &kernels.Counter{}
	text := []byte("the cat sat on the mat, the dog sat on the log. ")
	b, t := 2, 20
	tokens := make([]int32, b*t)
	for i := range tokens {
		tokens[i] = int32(text[i])
	}
	rng := rand.New(rand.NewPCG(1, 2))
	positions, targets, err := model.NewMasker(m.Config).Mask(rng, tokens, b, t, nil, nil, nil)
	if err != nil {
		panic(err)
	}
	r, err := m.ForwardMLM(model.MLMBatch{B: b, T: t, Tokens: tokens, Positions: positions, Targets: targets})
	if err != nil {
		panic(err)
	}
	m.ZeroGrad()
	_ = m.Backward()
	fmt.Printf("%d masked positions of %d, loss %.1f\n", r.Count, b*t, r.Loss)
	fmt.Println("stored parameters:", c.UniqueParams(), "applied:", c.AppliedParams())
	fmt.Println("logits FLOPs (6 rows x 16 x 257, with bias):", m.Flops.Get(kernels.Forward, kernels.Logits))
	// Output:
	// 6 masked positions of 40, loss 5.6
	// stored parameters: 18753 applied: 60977
	// logits FLOPs (6 rows x 16 x 257, with bias): 50886
}

package model_test

import (
	"fmt"
	"math"

	"github.com/tformer/tformer/kernels"
	"github.com/tformer/tformer/model"
)

// A tied, fully shared (ALBERT-style) model stores one block and the
// embedding once, yet applies 6 blocks and the embedding twice.
func ExampleConfig_UniqueParams() {
	c := model.Config{Vocab: 256, DModel: 64, Layers: 6, Heads: 4, DFF: 256, MaxSeq: 64, Tie: true, Share: model.ShareAll, Groups: 1}
	fmt.Println("unique:", c.UniqueParams())
	fmt.Println("applied:", c.AppliedParams())
	// Output:
	// unique: 70592
	// applied: 336896
}

// One training-style forward (2 layers, 4 heads of 8, 16 causal positions:
// 2·8·136 pairs·4 heads·2 layers = 17408 FLOPs of QKᵀ) and backward pass, with the FLOPs the kernels
// performed counted per component.
func ExampleModel_Forward() {
	m, err := model.New(model.Config{Vocab: 256, DModel: 32, Layers: 2, Heads: 4, DFF: 128, MaxSeq: 16, Tie: true, Share: model.ShareNone, Groups: 1})
	if err != nil {
		panic(err)
	}
	m.Init(1)
	m.Flops = &kernels.Counter{}
	text := []byte("hello, tformer!!!")
	tokens, targets := make([]int32, 16), make([]int32, 16)
	for i := range tokens {
		tokens[i], targets[i] = int32(text[i]), int32(text[i+1])
	}
	loss, _ := m.Forward(tokens, targets, 1, 16)
	m.ZeroGrad()
	_ = m.Backward()
	fmt.Printf("loss %.2f (uniform guessing: %.2f)\n", loss, math.Log(256))
	fmt.Println("forward scores FLOPs:", m.Flops.Get(kernels.Forward, kernels.Scores))
	// Output:
	// loss 5.47 (uniform guessing: 5.55)
	// forward scores FLOPs: 17408
}

// A prompt prefilled in one batched pass, then decoding on from it: the
// first new token's logits equal those of feeding the prompt one Step a
// token, up to float32 rounding.
func ExampleDecoder_Prefill() {
	m, err := model.New(model.Config{Vocab: 256, DModel: 32, Layers: 2, Heads: 4, DFF: 128, MaxSeq: 64, Tie: true, Share: model.ShareNone, Groups: 1})
	if err != nil {
		panic(err)
	}
	m.Init(1)
	prompt := []int32{'h', 'e', 'l', 'l', 'o', ','}
	dec := m.NewDecoder()
	logits, err := dec.Prefill(prompt)
	if err != nil {
		panic(err)
	}
	first := append([]float32(nil), logits...)
	step := m.NewDecoder()
	for _, tok := range prompt {
		logits, _ = step.Step(tok)
	}
	diff := 0.0
	for i := range first {
		diff = math.Max(diff, math.Abs(float64(first[i]-logits[i])))
	}
	fmt.Println("position after the prompt:", dec.Pos())
	fmt.Println("same logits as stepping:", diff < 1e-5)
	_, err = dec.Prefill(make([]int32, 60))
	fmt.Println(err)
	// Output:
	// position after the prompt: 6
	// same logits as stepping: true
	// decode: 60 tokens after the 6 already fed exceed the model's context of 64
}

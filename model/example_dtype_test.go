package model_test

import (
	"fmt"

	"github.com/tformer/tformer/model"
)

// A model converted to int8 weights for inference: a quarter of the
// weight memory (plus a scale per row), and the same decoder API.
func ExampleModel_Quantize() {
	m, err := model.New(model.Tiny())
	if err != nil {
		panic(err)
	}
	m.Init(1)
	fmt.Println("f32 bytes:", m.WeightBytes())
	if err := m.Quantize(model.Int8); err != nil {
		panic(err)
	}
	fmt.Println(m.DType(), "bytes:", m.WeightBytes())
	dec := m.NewDecoder()
	logits, err := dec.Step(65)
	if err != nil {
		panic(err)
	}
	fmt.Println("logits:", len(logits))
	// Output:
	// f32 bytes: 3369984
	// int8 bytes: 931840
	// logits: 256
}

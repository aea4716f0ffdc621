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

// A model built directly in bf16 and filled tensor by tensor, as the
// loaders do it: no float32 copy of the weight matrices is ever held.
func ExampleNewInference() {
	c := model.Tiny()
	m, err := model.NewInference(c, model.BF16)
	if err != nil {
		panic(err)
	}
	for _, t := range m.Layout.Tensors {
		v := make([]float32, t.Size) // e.g. one tensor read from a file
		for i := range v {
			v[i] = 0.01
		}
		if err := m.SetFloat32(t.Name, 0, v); err != nil {
			panic(err)
		}
	}
	w, _ := m.Weights("attn.0.qkv.w")
	fmt.Println(m.DType(), m.WeightBytes() == model.WeightBytes(c, model.BF16), len(w.BF16), w.F32 == nil)
	// Output: bf16 true 49152 true
}

package model

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkTrainStepTiny measures one forward+backward of the default
// built-in-corpus model (Tiny) at batch 8 x 128 tokens.
func BenchmarkTrainStepTiny(b *testing.B) {
	c := Tiny()
	m, err := New(c)
	if err != nil {
		b.Fatal(err)
	}
	m.Init(1)
	rng := rand.New(rand.NewPCG(1, 1))
	B, T := 8, 128
	tok, tgt := randTokens(rng, B*T, c.Vocab), randTokens(rng, B*T, c.Vocab)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Forward(tok, tgt, B, T); err != nil {
			b.Fatal(err)
		}
		m.ZeroGrad()
		if err := m.Backward(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(B*T*b.N)/b.Elapsed().Seconds(), "tok/s")
}

// BenchmarkDecodeGPT2 measures one KV-cache decoding step of the GPT-2
// small shape (random weights) with float32, bf16 and int8 weights, at
// positions 0..63 (so the attention over the cache stays small: the
// weights' bytes dominate, as in short generations).
func BenchmarkDecodeGPT2(b *testing.B) {
	for _, dt := range []DType{F32, BF16, Int8} {
		b.Run(dt.String(), func(b *testing.B) {
			m, err := New(GPT2Small())
			if err != nil {
				b.Fatal(err)
			}
			m.Init(1)
			if err := m.Quantize(dt); err != nil {
				b.Fatal(err)
			}
			dec := m.NewDecoder()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if dec.Pos() == 64 {
					dec.Reset()
				}
				if _, err := dec.Step(int32(i % 50257)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
		})
	}
}

// BenchmarkForwardDType measures a batched forward pass with loss (what
// eval runs) of the default model at batch 8 × 128 with float32, bf16 and
// int8 weights: the narrow ones widen their matrices block by block into
// the float32 GEMM.
func BenchmarkForwardDType(b *testing.B) {
	for _, dt := range []DType{F32, BF16, Int8} {
		b.Run(dt.String(), func(b *testing.B) {
			c := Tiny()
			m, err := New(c)
			if err != nil {
				b.Fatal(err)
			}
			m.Init(1)
			if err := m.Quantize(dt); err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 1))
			B, T := 8, 128
			tok, tgt := randTokens(rng, B*T, c.Vocab), randTokens(rng, B*T, c.Vocab)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := m.Forward(tok, tgt, B, T); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(B*T*b.N)/b.Elapsed().Seconds(), "tok/s")
		})
	}
}

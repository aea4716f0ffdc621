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

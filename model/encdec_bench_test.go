package model

import (
	"math/rand/v2"
	"testing"

	"github.com/tformer/tformer/kernels"
)

// BenchmarkEncDecTrainStep is one forward and backward pass of TinyEncDec
// over 8 pairs of 32 source and 32 target tokens; it reports the FLOPs the
// engine counted per second and the source plus target tokens per second.
func BenchmarkEncDecTrainStep(b *testing.B) {
	c := TinyEncDec()
	m, err := New(c)
	if err != nil {
		b.Fatal(err)
	}
	m.Init(1)
	rng := rand.New(rand.NewPCG(1, 1))
	B, ts, tt := 8, 32, 32
	x := Seq2SeqBatch{B: B, SrcT: ts, TgtT: tt, Src: randTokens(rng, B*ts, c.Vocab), Tgt: randTokens(rng, B*tt, c.Vocab), Targets: randTokens(rng, B*tt, c.Vocab)}
	var cnt kernels.Counter
	m.Flops = &cnt
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.ForwardSeq2Seq(x); err != nil {
			b.Fatal(err)
		}
		m.ZeroGrad()
		if err := m.Backward(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cnt.Total(kernels.Forward)+cnt.Total(kernels.Backward))/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	b.ReportMetric(float64(B*(ts+tt)*b.N)/b.Elapsed().Seconds(), "tok/s")
}

// BenchmarkSeq2SeqDecodeStep is one cached decoding step of TinyEncDec
// over a 32-token source (positions 0..31, then again).
func BenchmarkSeq2SeqDecodeStep(b *testing.B) {
	c := TinyEncDec()
	m, err := New(c)
	if err != nil {
		b.Fatal(err)
	}
	m.Init(1)
	src, err := m.EncodeSource(randTokens(rand.New(rand.NewPCG(1, 1)), 32, c.Vocab))
	if err != nil {
		b.Fatal(err)
	}
	dec, err := m.NewSeq2SeqDecoder(src)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if dec.Pos() == 32 {
			dec.pos = 0
		}
		if _, err := dec.Step(int32(i % c.Vocab)); err != nil {
			b.Fatal(err)
		}
	}
}

package kernels

import (
	"fmt"
	"testing"
)

// reportGFLOPS reports the FLOP rate of a benchmark that ran b.N calls of
// flops FLOPs each.
func reportGFLOPS(b *testing.B, flops int64) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(flops)*float64(b.N)/s/1e9, "GFLOP/s")
	}
}

// benchShapes are m×n×k: square 256 and 512, and the FFN-up shape of a
// 768-wide model over 768 positions (768×3072 output, inner 768) and its
// transpose-like counterpart with inner dimension 3072.
var benchShapes = []mmShape{
	{256, 256, 256},
	{512, 512, 512},
	{768, 3072, 768},
	{768, 768, 3072},
}

func benchMatMul(b *testing.B, kd mmKind) {
	for _, sh := range benchShapes {
		b.Run(shapeName(sh.m, sh.n, sh.k), func(b *testing.B) {
			r := newRNG(1)
			la, lb := kd.lens(sh.m, sh.n, sh.k)
			a, bb := randVec(r, la, 1), randVec(r, lb, 1)
			c := make([]float32, sh.m*sh.n)
			for b.Loop() {
				runMatMul(kd, c, a, bb, sh.m, sh.n, sh.k, false)
			}
			reportGFLOPS(b, 2*int64(sh.m)*int64(sh.n)*int64(sh.k))
		})
	}
}

func BenchmarkMatMulNT(b *testing.B) { benchMatMul(b, kindNT) }
func BenchmarkMatMulNN(b *testing.B) { benchMatMul(b, kindNN) }
func BenchmarkMatMulTN(b *testing.B) { benchMatMul(b, kindTN) }

func BenchmarkAttentionForward(b *testing.B) {
	const bs, t, d, h = 1, 128, 128, 4
	for _, causal := range []bool{true, false} {
		b.Run(fmt.Sprintf("b%d_t%d_d%d_h%d_causal=%v", bs, t, d, h, causal), func(b *testing.B) {
			qkv := randVec(newRNG(2), bs*t*3*d, 1)
			out := make([]float32, bs*t*d)
			lse := make([]float32, bs*h*t)
			var cnt Counter
			AttentionForward(&cnt, out, lse, qkv, bs, t, d, h, causal)
			flops := cnt.Total(Forward)
			for b.Loop() {
				AttentionForward(nil, out, lse, qkv, bs, t, d, h, causal)
			}
			reportGFLOPS(b, flops)
		})
	}
}

func BenchmarkAttentionBackward(b *testing.B) {
	const bs, t, d, h = 1, 128, 128, 4
	qkv := randVec(newRNG(3), bs*t*3*d, 1)
	dout := randVec(newRNG(4), bs*t*d, 1)
	out := make([]float32, bs*t*d)
	lse := make([]float32, bs*h*t)
	dqkv := make([]float32, len(qkv))
	AttentionForward(nil, out, lse, qkv, bs, t, d, h, true)
	var cnt Counter
	AttentionBackward(&cnt, dqkv, dout, qkv, out, lse, bs, t, d, h, true)
	flops := cnt.Total(Backward)
	for b.Loop() {
		AttentionBackward(nil, dqkv, dout, qkv, out, lse, bs, t, d, h, true)
	}
	reportGFLOPS(b, flops)
}

// BenchmarkAttentionTrain times causal forward+backward at d = 512, 8 heads
// (the shape of the attention target), counting the FLOPs the
// kernels report.
func BenchmarkAttentionTrain(b *testing.B) {
	const bs, d, h = 1, 512, 8
	for _, t := range []int{256, 1024, 4096} {
		b.Run(fmt.Sprintf("n%d", t), func(b *testing.B) {
			r := newRNG(5)
			qkv, dout := randVec(r, bs*t*3*d, 1), randVec(r, bs*t*d, 1)
			out, lse, dqkv := make([]float32, bs*t*d), make([]float32, bs*h*t), make([]float32, bs*t*3*d)
			var cnt Counter
			AttentionForward(&cnt, out, lse, qkv, bs, t, d, h, true)
			AttentionBackward(&cnt, dqkv, dout, qkv, out, lse, bs, t, d, h, true)
			for b.Loop() {
				AttentionForward(nil, out, lse, qkv, bs, t, d, h, true)
				AttentionBackward(nil, dqkv, dout, qkv, out, lse, bs, t, d, h, true)
			}
			reportGFLOPS(b, cnt.Total(Forward)+cnt.Total(Backward))
		})
	}
}

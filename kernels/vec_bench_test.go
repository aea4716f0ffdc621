package kernels

import (
	"testing"
)

// Benchmarks of the vector kernels, assembly against pure Go side by side
// (the machines are shared and noisy: compare the two within one run).
// Each reports ns/elem; n = 1024 floats stays in L1.

const vecBenchN = 1024

// benchVec runs body (which processes n elements per call) under the
// assembly kernels ("asm", when the CPU has them) and pure Go ("go").
func benchVec(b *testing.B, n int, body func()) {
	for _, asm := range []bool{true, false} {
		name := "go"
		if asm {
			if bestVec == nil {
				continue
			}
			name = "asm"
		}
		b.Run(name, func(b *testing.B) {
			was := SetAssembly(asm)
			defer SetAssembly(was)
			b.SetBytes(int64(n) * 4)
			for b.Loop() {
				body()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/elem")
		})
	}
}

func BenchmarkExpSum(b *testing.B) {
	src := randVec(newRNG(1), vecBenchN, 3)
	dst := make([]float32, vecBenchN)
	benchVec(b, vecBenchN, func() { expSumTo(dst, src, 1, -3) })
}

func BenchmarkMaxOf(b *testing.B) {
	x := randVec(newRNG(1), vecBenchN, 3)
	benchVec(b, vecBenchN, func() { maxOf(x) })
}

func BenchmarkScaleTo(b *testing.B) {
	x := randVec(newRNG(1), vecBenchN, 3)
	benchVec(b, vecBenchN, func() { scaleTo(x, 1.0000001) })
}

func BenchmarkSoftmaxGrad(b *testing.B) {
	r := newRNG(1)
	p, dp := randVec(r, vecBenchN, 1), randVec(r, vecBenchN, 1)
	ds := make([]float32, vecBenchN)
	benchVec(b, vecBenchN, func() { softmaxGrad(ds, p, dp, 0.1, 0.125) })
}

func BenchmarkGELUForward(b *testing.B) {
	x := randVec(newRNG(1), vecBenchN, 2)
	out := make([]float32, vecBenchN)
	benchVec(b, vecBenchN, func() { geluForward(out, x) })
}

func BenchmarkGELUBackward(b *testing.B) {
	r := newRNG(1)
	x, dout := randVec(r, vecBenchN, 2), randVec(r, vecBenchN, 1)
	dinp := make([]float32, vecBenchN)
	benchVec(b, vecBenchN, func() { geluBackward(dinp, x, dout) })
}

// LayerNorm rows of GPT-2 small's width.
const lnBenchD = 768

func BenchmarkLayerNormRow(b *testing.B) {
	r := newRNG(1)
	x, w, bias := randVec(r, lnBenchD, 1), randVec(r, lnBenchD, 1), randVec(r, lnBenchD, 1)
	out := make([]float32, lnBenchD)
	benchVec(b, lnBenchD, func() { layerNormRow(out, x, w, bias, 1e-5) })
}

func BenchmarkLayerNormBackwardRow(b *testing.B) {
	r := newRNG(1)
	x, w, g := randVec(r, lnBenchD, 1), randVec(r, lnBenchD, 1), randVec(r, lnBenchD, 1)
	dx, dw, db := make([]float32, lnBenchD), make([]float32, lnBenchD), make([]float32, lnBenchD)
	benchVec(b, lnBenchD, func() { layerNormBackwardRow(dx, dw, db, g, x, w, 0.1, 1.2) })
}

// BenchmarkSoftmaxRow is CrossEntropyForward's row: max, exp-sum, normalise
// (a row of 8192 logits, 32 KiB, in L1/L2).
func BenchmarkSoftmaxRow(b *testing.B) {
	const v = 8192
	z := randVec(newRNG(1), v, 3)
	p := make([]float32, v)
	benchVec(b, v, func() {
		mx := maxOf(z)
		s := expSumTo(p, z, 1, -mx)
		scaleTo(p, 1/s)
	})
}

// BenchmarkAdamW updates one optimizer segment (65536 parameters, 1 MiB of
// parameters, gradients and moments: L2-resident on Zen 3).
func BenchmarkAdamW(b *testing.B) {
	const n = 1 << 16
	r := newRNG(1)
	p, g, m, v := randVec(r, n, 1), randVec(r, n, 0.01), make([]float32, n), make([]float32, n)
	s := AdamWStep{LR: 1e-4, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1, BiasCorr1: 0.1, BiasCorr2: 0.05}
	benchVec(b, n, func() { AdamW(p, g, m, v, s) })
}

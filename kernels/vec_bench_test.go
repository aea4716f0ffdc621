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

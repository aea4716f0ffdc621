package kernels

import (
	"fmt"
	"testing"
	"time"
)

// gemmBenchCase is one GEMM benchmark: a product form and its m×n×k.
type gemmBenchCase struct {
	kind    mmKind
	m, n, k int
}

// gemmBenchCases are the square sizes in all three forms and the matrix
// products of one GPT-2-small training step at B·T = 256 rows, d = 768:
// forward projections (NT: x·Wᵀ for qkv, attn out, FFN up, FFN down, tied
// logits) and, per linear layer of n rows, in inputs and out outputs, the
// input gradient (NN, 256 × in × out) and the weight gradient (TN,
// out × in × 256). bench/gemm_numpy.py times numpy at the same list.
var gemmBenchCases = []gemmBenchCase{
	{kindNT, 256, 256, 256}, {kindNN, 256, 256, 256}, {kindTN, 256, 256, 256},
	{kindNT, 512, 512, 512}, {kindNN, 512, 512, 512}, {kindTN, 512, 512, 512},
	{kindNT, 1024, 1024, 1024}, {kindNN, 1024, 1024, 1024}, {kindTN, 1024, 1024, 1024},
	{kindNT, 2048, 2048, 2048}, {kindNN, 2048, 2048, 2048}, {kindTN, 2048, 2048, 2048},
	// forward
	{kindNT, 256, 2304, 768},  // qkv
	{kindNT, 256, 768, 768},   // attention output
	{kindNT, 256, 3072, 768},  // FFN up
	{kindNT, 256, 768, 3072},  // FFN down
	{kindNT, 256, 50257, 768}, // tied logits
	// backward: input gradients
	{kindNN, 256, 768, 2304},
	{kindNN, 256, 768, 768},
	{kindNN, 256, 768, 3072},
	{kindNN, 256, 3072, 768},
	{kindNN, 256, 768, 50257},
	// backward: weight gradients
	{kindTN, 2304, 768, 256},
	{kindTN, 768, 768, 256},
	{kindTN, 3072, 768, 256},
	{kindTN, 768, 3072, 256},
	{kindTN, 50257, 768, 256},
}

// BenchmarkGEMM reports GFLOP/s (2·m·n·k per call) for every case at 1 and 2
// threads, with the kernels chosen for this CPU. Names are form/mxnxk/tT,
// matched by bench/gemm_numpy.py.
func BenchmarkGEMM(b *testing.B) { benchGEMM(b) }

// BenchmarkGoGEMM is BenchmarkGEMM with the pure-Go kernels.
func BenchmarkGoGEMM(b *testing.B) {
	was := SetAssembly(false)
	defer SetAssembly(was)
	benchGEMM(b)
}

func benchGEMM(b *testing.B) {
	for _, th := range []int{1, 2} {
		for _, bc := range gemmBenchCases {
			name := fmt.Sprintf("%v/%s/t%d", bc.kind, shapeName(bc.m, bc.n, bc.k), th)
			b.Run(name, func(b *testing.B) {
				withThreads(b, th)
				r := newRNG(1)
				la, lb := bc.kind.lens(bc.m, bc.n, bc.k)
				a, bb := randVec(r, la, 1), randVec(r, lb, 1)
				c := make([]float32, bc.m*bc.n)
				runMatMul(bc.kind, c, a, bb, bc.m, bc.n, bc.k, false) // warm up buffers and workers
				b.ResetTimer()
				for b.Loop() {
					runMatMul(bc.kind, c, a, bb, bc.m, bc.n, bc.k, false)
				}
				reportGFLOPS(b, 2*int64(bc.m)*int64(bc.n)*int64(bc.k))
			})
		}
	}
}

// BenchmarkFMAPeak reports the single-core FMA limit measured by the
// assembly loop (0 where there is none).
func BenchmarkFMAPeak(b *testing.B) {
	var g float64
	for b.Loop() {
		g = FMAPeakGFLOPS(20 * time.Millisecond)
	}
	b.ReportMetric(g, "GFLOP/s")
}

// BenchmarkForkJoin is the cost of one parallel section that does no work,
// on the persistent workers (2 threads), called back to back.
func BenchmarkForkJoin(b *testing.B) {
	withThreads(b, 2)
	var sink [2]int
	for b.Loop() {
		parallelFor(2, minParallelWork, func(lo, hi int) { sink[lo]++ })
	}
}

//go:build amd64 && !purego

package kernels

import (
	"fmt"
	"math"
	"testing"
)

// TestGELUAVX512MatchesAVX2 checks the AVX-512 GELU kernels against the
// AVX2 ones, which the reference tests check against float64 and the pure-Go
// twins: the same operations per element, so equal bits, on every length up
// to 100 (all tail widths of both), unaligned starts and special values
// (±0, ±Inf, NaN, the clamp at ±9, the exp range limits), writing nothing
// outside the slices. The reference tests themselves run the AVX-512 set
// on this CPU (it is bestVec).
func TestGELUAVX512MatchesAVX2(t *testing.T) {
	needAVX512(t)
	if bestVec != vecAVX512 {
		t.Fatalf("bestVec is not the AVX-512 set on an AVX-512 CPU")
	}
	r := newRNG(21)
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), nan32(),
		9, -9, 9.0001, -9.0001, 44, -44, 50, -50, 1e-30, -1e-30, 3e38, -3e38}
	for n := 0; n <= 100; n++ {
		for _, off := range []int{0, 1, 3} {
			x := randVec(r, n, 6)
			for i := 0; i < n; i += 7 {
				x[i] = special[(i/7+n)%len(special)]
			}
			dout := randVec(r, n, 1)
			acc := randVec(r, n, 1)
			name := fmt.Sprintf("n=%d off=%d", n, off)

			buf1, out1 := guarded(make([]float32, n), off)
			_, out2 := guarded(make([]float32, n), off)
			vecAVX512.geluFwd(out1, x)
			vecAVX2.geluFwd(out2, x)
			checkGuard(t, "geluFwd avx512", buf1, off, n)
			checkBits(t, name+" forward", out1, out2)

			buf1, d1 := guarded(acc, off)
			_, d2 := guarded(acc, off)
			_, xs := guarded(x, off)
			_, ds := guarded(dout, off)
			vecAVX512.geluBwd(d1, xs, ds)
			vecAVX2.geluBwd(d2, xs, ds)
			checkGuard(t, "geluBwd avx512", buf1, off, n)
			checkBits(t, name+" backward", d1, d2)
		}
	}
}

// checkBits fails unless got and want hold the same float32 bit patterns
// (NaNs included).
func checkBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: [%d] = %g (%#x), want %g (%#x)", what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

// BenchmarkGELUArch times GELU forward and backward on every vector kernel
// set the CPU supports, over one FFN activation of a GPT-2 small step
// (256 × 3072 values, 3 MB: from L3), on one thread.
func BenchmarkGELUArch(b *testing.B) {
	const n = 256 * 3072
	x, dout := randVec(newRNG(1), n, 3), randVec(newRNG(2), n, 1)
	out := make([]float32, n)
	for _, k := range supportedVecs() {
		b.Run(k.name+"/fwd", func(b *testing.B) {
			for b.Loop() {
				k.vk.geluFwd(out, x)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/elem")
		})
		b.Run(k.name+"/bwd", func(b *testing.B) {
			for b.Loop() {
				k.vk.geluBwd(out, x, dout)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/elem")
		})
	}
}

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

// BenchmarkAdamWArch times the AdamW update on every vector kernel set the
// CPU supports: one 64K segment (cache-resident) and the 124M parameters
// of GPT-2 small streamed from memory, split across the kernel threads in
// 64K segments as train.AdamW does.
func BenchmarkAdamWArch(b *testing.B) {
	s := AdamWStep{LR: 1e-4, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1, BiasCorr1: 0.1, BiasCorr2: 0.05}
	for _, n := range []int{1 << 16, 124439808} {
		r := newRNG(1)
		p, g, m, v := randVec(r, n, 1), randVec(r, n, 0.01), make([]float32, n), make([]float32, n)
		for _, k := range supportedVecs() {
			b.Run(fmt.Sprintf("%s/n%d", k.name, n), func(b *testing.B) {
				j := &adamWBench{f: k.vk.adamW, p: p, g: g, m: m, v: v, s: s}
				segs := (n + 1<<16 - 1) >> 16
				for b.Loop() {
					ParallelFor(segs, int64(n), j)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/elem")
			})
		}
	}
}

type adamWBench struct {
	f          func(p, g, m, v []float32, s AdamWStep)
	p, g, m, v []float32
	s          AdamWStep
}

func (j *adamWBench) Range(lo, hi int) {
	a, e := lo<<16, min(hi<<16, len(j.p))
	j.f(j.p[a:e], j.g[a:e], j.m[a:e], j.v[a:e], j.s)
}

// TestAdamWAVX512MatchesAVX2 checks the AVX-512 AdamW update against the
// AVX2 one (which TestAdamWReference checks against float64 and the pure-Go
// twin): the same operations per element, so equal bits in p, m and v, on
// every length up to 100, unaligned starts, with and without weight decay
// and a gradient scale, writing nothing outside the slices.
func TestAdamWAVX512MatchesAVX2(t *testing.T) {
	needAVX512(t)
	r := newRNG(22)
	for n := 0; n <= 100; n++ {
		for _, off := range []int{0, 1, 5} {
			for _, s := range []AdamWStep{
				{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, BiasCorr1: 0.1, BiasCorr2: 0.001},
				{LR: 3e-4, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1, BiasCorr1: 0.5, BiasCorr2: 0.3, GradScale: 0.25},
			} {
				p, g := randVec(r, n, 1), randVec(r, n, 0.1)
				m, v := randVec(r, n, 0.01), randVec(r, n, 0.001)
				for i := range v {
					v[i] *= v[i] // second moments are not negative
				}
				bp1, p1 := guarded(p, off)
				bm1, m1 := guarded(m, off)
				bv1, v1 := guarded(v, off)
				_, p2 := guarded(p, off)
				_, m2 := guarded(m, off)
				_, v2 := guarded(v, off)
				vecAVX512.adamW(p1, g, m1, v1, s)
				vecAVX2.adamW(p2, g, m2, v2, s)
				name := fmt.Sprintf("n=%d off=%d wd=%g", n, off, s.WeightDecay)
				checkGuard(t, "adamW p", bp1, off, n)
				checkGuard(t, "adamW m", bm1, off, n)
				checkGuard(t, "adamW v", bv1, off, n)
				checkBits(t, name+" p", p1, p2)
				checkBits(t, name+" m", m1, m2)
				checkBits(t, name+" v", v1, v2)
			}
		}
	}
}

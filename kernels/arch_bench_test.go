package kernels

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkGEMMArch times the square and GPT-2 GEMMs on every assembly
// kernel set the CPU supports, side by side in one run (AVX-512F against
// AVX2 on a CPU with both, and each blocking of a set that has one per
// kind of CPU). Names are arch[/blocking]/form/mxnxk/tT.
func BenchmarkGEMMArch(b *testing.B) {
	for _, ar := range benchArches() {
		name := ar.name
		if ar.blocking != "" {
			name += "/" + ar.blocking
		}
		b.Run(name, func(b *testing.B) {
			for _, th := range []int{1, 2} {
				for _, bc := range gemmBenchCases {
					name := fmt.Sprintf("%v/%s/t%d", bc.kind, shapeName(bc.m, bc.n, bc.k), th)
					b.Run(name, func(b *testing.B) {
						withThreads(b, th)
						r := newRNG(1)
						la, lb := bc.kind.lens(bc.m, bc.n, bc.k)
						a, bb := randVec(r, la, 1), randVec(r, lb, 1)
						cc := make([]float32, bc.m*bc.n)
						runArch(ar, bc.kind, cc, a, bb, bc.m, bc.n, bc.k, false)
						b.ResetTimer()
						for b.Loop() {
							runArch(ar, bc.kind, cc, a, bb, bc.m, bc.n, bc.k, false)
						}
						reportGFLOPS(b, 2*int64(bc.m)*int64(bc.n)*int64(bc.k))
					})
				}
			}
		})
	}
}

// benchArches lists every assembly kernel set the CPU supports and, for a
// set with a blocking per kind of CPU, each of its blockings (the one in
// use first).
func benchArches() []*gemmArch {
	var out []*gemmArch
	for _, c := range archCandidates() {
		if !c.supported() {
			continue
		}
		out = append(out, c.arch)
		for _, ar := range c.alt {
			if ar.blocking != c.arch.blocking {
				out = append(out, ar)
			}
		}
	}
	return out
}

// BenchmarkFMAPeaks reports the single-core FMA limit of every vector width
// the CPU runs (one sub-benchmark per ISA).
func BenchmarkFMAPeaks(b *testing.B) {
	for _, l := range fmaLoops() {
		b.Run(l.isa, func(b *testing.B) {
			var g float64
			for b.Loop() {
				g = measureFMA(l, 20*time.Millisecond)
			}
			b.ReportMetric(g, "GFLOP/s")
		})
	}
}

// BenchmarkAttentionArch is BenchmarkAttentionTrain (causal forward +
// backward, d 512, 8 heads, and GPT-2's d 768, 12 heads at n 64) on every
// assembly kernel set the CPU supports, side by side: arch/shape/tT.
func BenchmarkAttentionArch(b *testing.B) {
	for _, c := range archCandidates() {
		if !c.supported() {
			continue
		}
		ar := c.arch
		b.Run(ar.name, func(b *testing.B) {
			for _, sh := range []struct{ bs, t, d, h int }{{1, 256, 512, 8}, {1, 1024, 512, 8}, {4, 64, 768, 12}} {
				for _, th := range []int{1, 2} {
					b.Run(fmt.Sprintf("b%d_n%d_d%d_h%d/t%d", sh.bs, sh.t, sh.d, sh.h, th), func(b *testing.B) {
						was := useArch.Swap(ar)
						defer useArch.Store(was)
						withThreads(b, th)
						bs, t, d, h := sh.bs, sh.t, sh.d, sh.h
						r := newRNG(5)
						qkv, dout := randVec(r, bs*t*3*d, 1), randVec(r, bs*t*d, 1)
						out, lse, dqkv := make([]float32, bs*t*d), make([]float32, bs*h*t), make([]float32, bs*t*3*d)
						var cnt Counter
						AttentionForward(&cnt, out, lse, qkv, bs, t, d, h, true)
						AttentionBackward(&cnt, dqkv, dout, qkv, out, lse, bs, t, d, h, true)
						b.ResetTimer()
						for b.Loop() {
							AttentionForward(nil, out, lse, qkv, bs, t, d, h, true)
							AttentionBackward(nil, dqkv, dout, qkv, out, lse, bs, t, d, h, true)
						}
						reportGFLOPS(b, cnt.Total(Forward)+cnt.Total(Backward))
					})
				}
			}
		})
	}
}

// BenchmarkMatVecBF16 times one decode-step matrix-vector product of GPT-2
// small's shapes (rows×cols: qkv, FFN up, FFN down, tied logits) with
// float32 weights (MatMulNT with one row), bf16 weights (MatVecBF16) and
// int8 weights (MatVecInt8), side by side; GB/s counts the weight bytes.
func BenchmarkMatVecBF16(b *testing.B) {
	for _, th := range []int{1, 2} {
		for _, sh := range [][2]int{{2304, 768}, {3072, 768}, {768, 3072}, {50257, 768}} {
			rows, cols := sh[0], sh[1]
			w, wf, x := bf16Inputs(1, rows, cols)
			y := make([]float32, rows)
			name := fmt.Sprintf("%dx%d/t%d", rows, cols, th)
			b.Run("f32/"+name, func(b *testing.B) {
				withThreads(b, th)
				for b.Loop() {
					MatMulNT(y, x, wf, 1, rows, cols, false)
				}
				b.ReportMetric(float64(4*rows*cols)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
			})
			b.Run("bf16/"+name, func(b *testing.B) {
				withThreads(b, th)
				for b.Loop() {
					MatVecBF16(nil, QKV, y, w, x, rows, cols)
				}
				b.ReportMetric(float64(2*rows*cols)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
			})
			q, sc, _, _ := int8Inputs(b, 1, rows, cols)
			b.Run("int8/"+name, func(b *testing.B) {
				withThreads(b, th)
				for b.Loop() {
					MatVecInt8(nil, QKV, y, q, sc, x, rows, cols)
				}
				b.ReportMetric(float64(rows*cols)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
			})
		}
	}
}

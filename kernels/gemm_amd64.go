//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// Assembly kernels in gemm_amd64.s.

//go:noescape
func sgemm6x16(k int, a, b, c *float32, ldc int, accum bool)

//go:noescape
func dotAVX2(x, y *float32, n int) float32

//go:noescape
func axpyAVX2(y, x *float32, n int, a float32)

//go:noescape
func fmaPeakAVX2(n int)

//go:noescape
func packB16T(dst, src *float32, ld, groups int)

//go:noescape
func packA6T(dst, src *float32, ld, groups int)

//go:noescape
func packB16C(dst, src *float32, ld, kc int)

//go:noescape
func packA6C(dst, src *float32, ld, kc int)

// archAVX2 is the AVX2+FMA kernel set: a 6×16 micro-kernel holding the C
// tile in 12 YMM accumulators (a broadcast of A times two 8-wide loads of B
// per row and step). Blocking for Zen 3 (32 KiB L1d, 512 KiB L2 per core,
// shared L3): a 16-column panel of packed B at kc = 256 is 16 KiB, a packed
// A block of mc × kc = 144 × 256 is 144 KiB.
var archAVX2 = &gemmArch{
	name:   "avx2+fma",
	mr:     6,
	nr:     16,
	kc:     256,
	mc:     144,
	nc:     1024,
	kernel: sgemm6x16,
	packAT: packA6TAsm,
	packBT: packB16TAsm,
	packAC: packA6CAsm,
	packBC: packB16CAsm,
	dot:    dotAsmAVX2,
	axpy:   axpyAsmAVX2,
}

// archCandidates lists the amd64 kernel sets, best first: AVX-512F
// (gemm_avx512_amd64.go) where the CPU and OS support it, else AVX2+FMA.
// The driver, the packing fallbacks and the tests take mr, nr and the
// blocks from the gemmArch value.
func archCandidates() []archCandidate {
	return []archCandidate{
		{archAVX512, hasAVX512, avx512Blockings()},
		{archAVX2, hasAVX2, nil},
	}
}

// hasAVX2 reports whether the CPU (and OS) support AVX2 and FMA.
func hasAVX2() bool { return cpu.X86.HasAVX2 && cpu.X86.HasFMA }

func dotAsmAVX2(x, y []float32) float32 {
	if len(x) == 0 {
		return 0
	}
	y = y[:len(x)]
	return dotAVX2(&x[0], &y[0], len(x))
}

func axpyAsmAVX2(y []float32, a float32, x []float32) {
	if len(y) == 0 {
		return
	}
	x = x[:len(y)]
	axpyAVX2(&y[0], &x[0], len(y), a)
}

// packA6TAsm packs six rows (see gemmArch.packAT): 8x8 transposes in
// assembly, the last kc mod 8 columns in Go.
func packA6TAsm(dst, src []float32, off, ld, kc int) {
	_ = src[off+5*ld+kc-1]
	_ = dst[6*kc-1]
	g := kc / 8
	if kc%8 == 0 && len(dst) < 6*kc+2 {
		g-- // the last group's 8-float stores would run past dst
	}
	if g > 0 {
		packA6T(&dst[0], &src[off], ld, g)
	}
	packTGo(dst, src, off, ld, 8*g, kc, 6, 6)
}

// packB16TAsm packs sixteen rows (see gemmArch.packBT).
func packB16TAsm(dst, src []float32, off, ld, kc int) {
	_ = src[off+15*ld+kc-1]
	_ = dst[16*kc-1]
	g := kc / 8
	if g > 0 {
		packB16T(&dst[0], &src[off], ld, g)
	}
	packTGo(dst, src, off, ld, 8*g, kc, 16, 16)
}

// packA6CAsm packs six contiguous values per p (see gemmArch.packAC).
func packA6CAsm(dst, src []float32, off, ld, kc int) {
	_ = src[off+(kc-1)*ld+5]
	_ = dst[6*kc-1]
	packA6C(&dst[0], &src[off], ld, kc)
}

// packB16CAsm packs sixteen contiguous values per p (see gemmArch.packBC).
func packB16CAsm(dst, src []float32, off, ld, kc int) {
	_ = src[off+(kc-1)*ld+15]
	_ = dst[16*kc-1]
	packB16C(&dst[0], &src[off], ld, kc)
}

// fmaLoops lists the FMA-peak loops this CPU runs, widest first.
func fmaLoops() []fmaLoop {
	var l []fmaLoop
	if hasAVX512() {
		l = append(l, fmaLoop{"avx512f", 512, func(n int) float64 {
			fmaPeakAVX512(n)
			return float64(n) * 24 * 16 * 2
		}})
	}
	if hasAVX2() {
		l = append(l, fmaLoop{"avx2+fma", 256, func(n int) float64 {
			fmaPeakAVX2(n)
			return float64(n) * 24 * 8 * 2
		}})
	}
	return l
}

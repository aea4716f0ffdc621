//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// AVX-512F kernels in gemm_avx512_amd64.s.

//go:noescape
func sgemm12x32(k int, a, b, c *float32, ldc int, accum bool)

//go:noescape
func fmaPeakAVX512(n int)

//go:noescape
func packB32T(dst, src *float32, ld, groups int)

//go:noescape
func packA12T(dst, src *float32, ld, groups int)

//go:noescape
func packB32C(dst, src *float32, ld, kc int)

//go:noescape
func packA12C(dst, src *float32, ld, kc int)

// hasAVX512 reports whether the CPU has AVX-512F and the OS saves the ZMM
// state (x/sys/cpu checks XCR0 through XGETBV before it sets HasAVX512F),
// along with the AVX2 and FMA the vector kernels of this set use.
func hasAVX512() bool {
	return cpu.X86.HasAVX512F && cpu.X86.HasAVX2 && cpu.X86.HasFMA
}

// archAVX512 is the AVX-512F kernel set: a 12×32 micro-kernel holding the
// C tile in 24 ZMM accumulators (two 16-wide loads of B and twelve
// broadcasts of A per step). 12×32 measured as fast as 14×32 here (both
// about 0.8 of the FMA limit on L1-resident panels, within the noise of
// each other in the blocked GEMM) and, unlike 14, 12 divides the attention
// tile (AttentionTile = 96), so the fused attention runs on it unchanged.
// Blocking for Sapphire/Emerald Rapids (48 KiB L1d, 2 MiB L2 per core),
// from sweeps of kc 192..1024, mc 96..1008 and nc 512..4096 at 1024³ and
// 2048³ on 1 and 2 threads (a flat optimum within the noise of a shared
// machine; 94% of the time is in the micro-kernel): kc = 384 (a 48 KiB B
// panel), mc = 336 (a 504 KiB packed A block), nc = 1024 (a 1.5 MiB packed
// B block, which stays in L2 across the A blocks instead of being re-read
// from the shared L3). Running the A panel outermost (keeping the
// broadcast operand in L1, as BLIS does) measured no faster. dot and axpy
// are the AVX2 ones.
var archAVX512 = &gemmArch{
	name:   "avx512f",
	mr:     12,
	nr:     32,
	kc:     384,
	mc:     336,
	nc:     1024,
	kernel: sgemm12x32,
	packAT: packA12TAsm,
	packBT: packB32TAsm,
	packAC: packA12CAsm,
	packBC: packB32CAsm,
	dot:    dotAsmAVX2,
	axpy:   axpyAsmAVX2,
}

// packA12TAsm packs twelve rows (see gemmArch.packAT): 8x8 transposes in
// assembly, the last kc mod 8 columns in Go.
func packA12TAsm(dst, src []float32, off, ld, kc int) {
	_ = src[off+11*ld+kc-1]
	_ = dst[12*kc-1]
	g := kc / 8
	if kc%8 == 0 && len(dst) < 12*kc+4 {
		g-- // the last group's spill would run past dst
	}
	if g > 0 {
		packA12T(&dst[0], &src[off], ld, g)
	}
	packTGo(dst, src, off, ld, 8*g, kc, 12, 12)
}

// packB32TAsm packs thirty-two rows (see gemmArch.packBT).
func packB32TAsm(dst, src []float32, off, ld, kc int) {
	_ = src[off+31*ld+kc-1]
	_ = dst[32*kc-1]
	g := kc / 8
	if g > 0 {
		packB32T(&dst[0], &src[off], ld, g)
	}
	packTGo(dst, src, off, ld, 8*g, kc, 32, 32)
}

// packA12CAsm packs twelve contiguous values per p (see gemmArch.packAC).
func packA12CAsm(dst, src []float32, off, ld, kc int) {
	_ = src[off+(kc-1)*ld+11]
	_ = dst[12*kc-1]
	packA12C(&dst[0], &src[off], ld, kc)
}

// packB32CAsm packs thirty-two contiguous values per p (see gemmArch.packBC).
func packB32CAsm(dst, src []float32, off, ld, kc int) {
	_ = src[off+(kc-1)*ld+31]
	_ = dst[32*kc-1]
	packB32C(&dst[0], &src[off], ld, kc)
}

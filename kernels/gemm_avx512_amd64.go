//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// AVX-512F kernels in gemm_avx512_amd64.s.

//go:noescape
func sgemm12x32(k int, a, b, c *float32, ldc int, accum bool)

//go:noescape
func fmaPeakAVX512(n int)

// cpuid runs CPUID with EAX = leaf and ECX = sub.
func cpuid(leaf, sub uint32) (eax, ebx, ecx, edx uint32)

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
// broadcasts of A per step). 12×32 measured as fast as 14×32 on a Xeon
// (both about 0.8 of the FMA limit on L1-resident panels there, within the
// noise of each other in the blocked GEMM) and, unlike 14, 12 divides the
// attention tile (AttentionTile = 96), so the fused attention runs on it
// unchanged. On a Zen 5 EPYC the kernel alone runs at the FMA limit
// (0.97–1.0 of it on panels in L1 or L2). The cache blocking is chosen at
// start by the per-core L2 size (see avx512Blocking).
var archAVX512 = avx512Blocking(l2KiB())

// avx512Blockings are the AVX-512F kernel set with each of its cache
// blockings: for a per-core L2 of 2 MiB or more, then smaller.
func avx512Blockings() []*gemmArch {
	return []*gemmArch{avx512Blocking(2048), avx512Blocking(1024)}
}

// avx512Blocking returns the AVX-512F kernel set blocked for a per-core L2
// of l2 KiB (0: unknown, taken as large). Both blockings use kc = 384, so
// results do not depend on which one runs.
//
// L2 ≥ 2 MiB (Sapphire/Emerald Rapids: 48 KiB L1d, 2 MiB L2), from sweeps
// of kc 192..1024, mc 96..1008 and nc 512..4096 at 1024³ and 2048³ on 1 and
// 2 threads (a flat optimum within the noise of a shared machine; 94% of
// the time is in the micro-kernel): kc = 384 (a 48 KiB B panel), mc = 336 (a
// 504 KiB packed A block), nc = 1024 (a 1.5 MiB packed B block, which stays
// in L2 across the A blocks instead of being re-read from the shared L3),
// B panels outermost. Running the A panels outermost measured no faster
// there.
//
// L2 < 2 MiB (Zen 4 and Zen 5: 48 KiB L1d, 1 MiB L2): the 1.5 MiB B block
// does not fit, so the A panels run outermost (aOuter: an 18 KiB A panel
// stays in L1, the B block streams from L2) with nc = 512, a 768 KiB B
// block, in cells of several column blocks (a cell of one block keeps B
// panels outermost); A is packed once per product where that saves two or
// more packings. On a Zen 5 EPYC this measured equal to the other
// blocking on one thread and 0–9% faster on two at 2048³, on a shared,
// noisy machine (BENCHMARKS.md).
func avx512Blocking(l2 int) *gemmArch {
	ar := &gemmArch{
		name:     "avx512f",
		blocking: "l2-2MiB",
		mr:       12,
		nr:       32,
		kc:       384,
		mc:       336,
		nc:       1024,
		kernel:   sgemm12x32,
		packAT:   packA12TAsm,
		packBT:   packB32TAsm,
		packAC:   packA12CAsm,
		packBC:   packB32CAsm,
		dot:      dotAsmAVX2,
		axpy:     axpyAsmAVX2,
	}
	if l2 > 0 && l2 < 2048 {
		ar.blocking = "l2-1MiB"
		ar.nc = 512
		ar.aOuter = true
	}
	return ar
}

// l2KiB returns the per-core L2 cache size in KiB that CPUID leaf
// 0x80000006 reports (ECX bits 31..16; AMD and Intel both fill it in), 0
// where the leaf is missing.
func l2KiB() int {
	if top, _, _, _ := cpuid(0x80000000, 0); top < 0x80000006 {
		return 0
	}
	_, _, ecx, _ := cpuid(0x80000006, 0)
	return int(ecx >> 16)
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

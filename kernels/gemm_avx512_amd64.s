//go:build amd64 && !purego

#include "textflag.h"

// AVX-512F kernels: the 12x32 GEMM micro-kernel, its panel packers and the
// 512-bit FMA-peak loop. Go assembler operand order is reversed from
// Intel's: VFMADD231PS B, A, D computes D += A*B.

// One step p of the 12x32 micro-kernel: two 16-wide loads of the packed B
// row (offset ob from DI) into Z24, Z25, twelve broadcasts of the packed A
// column (offset oa from SI) alternating in Z26, Z27, and 24 FMAs into the
// accumulators Z0..Z23 (row r in Z(2r), Z(2r+1)). Two FMA pipes at four
// cycles' latency need eight chains in flight; 24 leave room for the loads.
#define STEP12x32(oa, ob) \
	VMOVUPS      ob+0(DI), Z24; \
	VMOVUPS      ob+64(DI), Z25; \
	VBROADCASTSS oa+0(SI), Z26; \
	VFMADD231PS  Z24, Z26, Z0; \
	VFMADD231PS  Z25, Z26, Z1; \
	VBROADCASTSS oa+4(SI), Z27; \
	VFMADD231PS  Z24, Z27, Z2; \
	VFMADD231PS  Z25, Z27, Z3; \
	VBROADCASTSS oa+8(SI), Z26; \
	VFMADD231PS  Z24, Z26, Z4; \
	VFMADD231PS  Z25, Z26, Z5; \
	VBROADCASTSS oa+12(SI), Z27; \
	VFMADD231PS  Z24, Z27, Z6; \
	VFMADD231PS  Z25, Z27, Z7; \
	VBROADCASTSS oa+16(SI), Z26; \
	VFMADD231PS  Z24, Z26, Z8; \
	VFMADD231PS  Z25, Z26, Z9; \
	VBROADCASTSS oa+20(SI), Z27; \
	VFMADD231PS  Z24, Z27, Z10; \
	VFMADD231PS  Z25, Z27, Z11; \
	VBROADCASTSS oa+24(SI), Z26; \
	VFMADD231PS  Z24, Z26, Z12; \
	VFMADD231PS  Z25, Z26, Z13; \
	VBROADCASTSS oa+28(SI), Z27; \
	VFMADD231PS  Z24, Z27, Z14; \
	VFMADD231PS  Z25, Z27, Z15; \
	VBROADCASTSS oa+32(SI), Z26; \
	VFMADD231PS  Z24, Z26, Z16; \
	VFMADD231PS  Z25, Z26, Z17; \
	VBROADCASTSS oa+36(SI), Z27; \
	VFMADD231PS  Z24, Z27, Z18; \
	VFMADD231PS  Z25, Z27, Z19; \
	VBROADCASTSS oa+40(SI), Z26; \
	VFMADD231PS  Z24, Z26, Z20; \
	VFMADD231PS  Z25, Z26, Z21; \
	VBROADCASTSS oa+44(SI), Z27; \
	VFMADD231PS  Z24, Z27, Z22; \
	VFMADD231PS  Z25, Z27, Z23

// func sgemm12x32(k int, a, b, c *float32, ldc int, accum bool)
TEXT ·sgemm12x32(SB), NOSPLIT, $0-41
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8

	// Touch the C tile early so its lines arrive while we compute.
	MOVQ DX, R9
	PREFETCHT0 (R9)
	PREFETCHT0 64(R9)
	ADDQ       R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 64(R9)
	ADDQ       R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 64(R9)
	ADDQ       R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 64(R9)
	ADDQ       R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 64(R9)
	ADDQ       R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 64(R9)
	ADDQ       R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 64(R9)
	ADDQ       R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 64(R9)
	ADDQ       R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 64(R9)
	ADDQ       R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 64(R9)
	ADDQ       R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 64(R9)
	ADDQ       R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 64(R9)

	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23

	MOVQ CX, R9
	SHRQ $2, R9
	JZ   tail

loop4:
	STEP12x32(0, 0)
	STEP12x32(48, 128)
	STEP12x32(96, 256)
	STEP12x32(144, 384)
	ADDQ $192, SI
	ADDQ $512, DI
	DECQ R9
	JNZ  loop4

tail:
	ANDQ $3, CX
	JZ   store

loop1:
	STEP12x32(0, 0)
	ADDQ $48, SI
	ADDQ $128, DI
	DECQ CX
	JNZ  loop1

store:
	MOVBQZX accum+40(FP), AX
	TESTQ   AX, AX
	JNZ     add
	VMOVUPS Z0, 0(DX)
	VMOVUPS Z1, 64(DX)
	ADDQ    R8, DX
	VMOVUPS Z2, 0(DX)
	VMOVUPS Z3, 64(DX)
	ADDQ    R8, DX
	VMOVUPS Z4, 0(DX)
	VMOVUPS Z5, 64(DX)
	ADDQ    R8, DX
	VMOVUPS Z6, 0(DX)
	VMOVUPS Z7, 64(DX)
	ADDQ    R8, DX
	VMOVUPS Z8, 0(DX)
	VMOVUPS Z9, 64(DX)
	ADDQ    R8, DX
	VMOVUPS Z10, 0(DX)
	VMOVUPS Z11, 64(DX)
	ADDQ    R8, DX
	VMOVUPS Z12, 0(DX)
	VMOVUPS Z13, 64(DX)
	ADDQ    R8, DX
	VMOVUPS Z14, 0(DX)
	VMOVUPS Z15, 64(DX)
	ADDQ    R8, DX
	VMOVUPS Z16, 0(DX)
	VMOVUPS Z17, 64(DX)
	ADDQ    R8, DX
	VMOVUPS Z18, 0(DX)
	VMOVUPS Z19, 64(DX)
	ADDQ    R8, DX
	VMOVUPS Z20, 0(DX)
	VMOVUPS Z21, 64(DX)
	ADDQ    R8, DX
	VMOVUPS Z22, 0(DX)
	VMOVUPS Z23, 64(DX)
	ADDQ    R8, DX
	VZEROUPPER
	RET

add:
	VADDPS  0(DX), Z0, Z0
	VADDPS  64(DX), Z1, Z1
	VMOVUPS Z0, 0(DX)
	VMOVUPS Z1, 64(DX)
	ADDQ    R8, DX
	VADDPS  0(DX), Z2, Z2
	VADDPS  64(DX), Z3, Z3
	VMOVUPS Z2, 0(DX)
	VMOVUPS Z3, 64(DX)
	ADDQ    R8, DX
	VADDPS  0(DX), Z4, Z4
	VADDPS  64(DX), Z5, Z5
	VMOVUPS Z4, 0(DX)
	VMOVUPS Z5, 64(DX)
	ADDQ    R8, DX
	VADDPS  0(DX), Z6, Z6
	VADDPS  64(DX), Z7, Z7
	VMOVUPS Z6, 0(DX)
	VMOVUPS Z7, 64(DX)
	ADDQ    R8, DX
	VADDPS  0(DX), Z8, Z8
	VADDPS  64(DX), Z9, Z9
	VMOVUPS Z8, 0(DX)
	VMOVUPS Z9, 64(DX)
	ADDQ    R8, DX
	VADDPS  0(DX), Z10, Z10
	VADDPS  64(DX), Z11, Z11
	VMOVUPS Z10, 0(DX)
	VMOVUPS Z11, 64(DX)
	ADDQ    R8, DX
	VADDPS  0(DX), Z12, Z12
	VADDPS  64(DX), Z13, Z13
	VMOVUPS Z12, 0(DX)
	VMOVUPS Z13, 64(DX)
	ADDQ    R8, DX
	VADDPS  0(DX), Z14, Z14
	VADDPS  64(DX), Z15, Z15
	VMOVUPS Z14, 0(DX)
	VMOVUPS Z15, 64(DX)
	ADDQ    R8, DX
	VADDPS  0(DX), Z16, Z16
	VADDPS  64(DX), Z17, Z17
	VMOVUPS Z16, 0(DX)
	VMOVUPS Z17, 64(DX)
	ADDQ    R8, DX
	VADDPS  0(DX), Z18, Z18
	VADDPS  64(DX), Z19, Z19
	VMOVUPS Z18, 0(DX)
	VMOVUPS Z19, 64(DX)
	ADDQ    R8, DX
	VADDPS  0(DX), Z20, Z20
	VADDPS  64(DX), Z21, Z21
	VMOVUPS Z20, 0(DX)
	VMOVUPS Z21, 64(DX)
	ADDQ    R8, DX
	VADDPS  0(DX), Z22, Z22
	VADDPS  64(DX), Z23, Z23
	VMOVUPS Z22, 0(DX)
	VMOVUPS Z23, 64(DX)
	ADDQ    R8, DX
	VZEROUPPER
	RET

// func fmaPeakAVX512(n int)
// n iterations of 24 independent-chain 512-bit FMAs (12 accumulators, each
// updated twice): 24·16·2 = 768 FLOPs per iteration. The operands are zero,
// so no value ever becomes denormal or overflows.
TEXT ·fmaPeakAVX512(SB), NOSPLIT, $0-8
	MOVQ   n+0(FP), CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	TESTQ  CX, CX
	JZ     peakdone

peakloop:
	VFMADD231PS Z12, Z13, Z0
	VFMADD231PS Z12, Z13, Z1
	VFMADD231PS Z12, Z13, Z2
	VFMADD231PS Z12, Z13, Z3
	VFMADD231PS Z12, Z13, Z4
	VFMADD231PS Z12, Z13, Z5
	VFMADD231PS Z12, Z13, Z6
	VFMADD231PS Z12, Z13, Z7
	VFMADD231PS Z12, Z13, Z8
	VFMADD231PS Z12, Z13, Z9
	VFMADD231PS Z12, Z13, Z10
	VFMADD231PS Z12, Z13, Z11
	VFMADD231PS Z12, Z13, Z0
	VFMADD231PS Z12, Z13, Z1
	VFMADD231PS Z12, Z13, Z2
	VFMADD231PS Z12, Z13, Z3
	VFMADD231PS Z12, Z13, Z4
	VFMADD231PS Z12, Z13, Z5
	VFMADD231PS Z12, Z13, Z6
	VFMADD231PS Z12, Z13, Z7
	VFMADD231PS Z12, Z13, Z8
	VFMADD231PS Z12, Z13, Z9
	VFMADD231PS Z12, Z13, Z10
	VFMADD231PS Z12, Z13, Z11
	DECQ        CX
	JNZ         peakloop

peakdone:
	VZEROUPPER
	RET

// Transpose the 8x8 block of rows Y0..Y7 into columns Y8..Y15 (Y8 holds
// element 0 of every row, ...). Clobbers Y0..Y7.
#define TRANSPOSE8 \
	VUNPCKLPS  Y1, Y0, Y8;          \
	VUNPCKHPS  Y1, Y0, Y9;          \
	VUNPCKLPS  Y3, Y2, Y10;         \
	VUNPCKHPS  Y3, Y2, Y11;         \
	VUNPCKLPS  Y5, Y4, Y12;         \
	VUNPCKHPS  Y5, Y4, Y13;         \
	VUNPCKLPS  Y7, Y6, Y14;         \
	VUNPCKHPS  Y7, Y6, Y15;         \
	VSHUFPS    $0x44, Y10, Y8, Y0;  \
	VSHUFPS    $0xEE, Y10, Y8, Y1;  \
	VSHUFPS    $0x44, Y11, Y9, Y2;  \
	VSHUFPS    $0xEE, Y11, Y9, Y3;  \
	VSHUFPS    $0x44, Y14, Y12, Y4; \
	VSHUFPS    $0xEE, Y14, Y12, Y5; \
	VSHUFPS    $0x44, Y15, Y13, Y6; \
	VSHUFPS    $0xEE, Y15, Y13, Y7; \
	VPERM2F128 $0x20, Y4, Y0, Y8;   \
	VPERM2F128 $0x20, Y5, Y1, Y9;   \
	VPERM2F128 $0x20, Y6, Y2, Y10;  \
	VPERM2F128 $0x20, Y7, Y3, Y11;  \
	VPERM2F128 $0x31, Y4, Y0, Y12;  \
	VPERM2F128 $0x31, Y5, Y1, Y13;  \
	VPERM2F128 $0x31, Y6, Y2, Y14;  \
	VPERM2F128 $0x31, Y7, Y3, Y15

// Load 8 floats from each of the 8 rows at R11, R11+AX, ..., R11+7AX
// (BX = 3AX) into Y0..Y7, and advance R11 by 8 rows.
#define LOAD8ROWS \
	VMOVUPS (R11), Y0;       \
	VMOVUPS (R11)(AX*1), Y1; \
	VMOVUPS (R11)(AX*2), Y2; \
	VMOVUPS (R11)(BX*1), Y3; \
	LEAQ    (R11)(AX*4), R11; \
	VMOVUPS (R11), Y4;       \
	VMOVUPS (R11)(AX*1), Y5; \
	VMOVUPS (R11)(AX*2), Y6; \
	VMOVUPS (R11)(BX*1), Y7; \
	LEAQ    (R11)(AX*4), R11

// Store the transposed columns Y8..Y15 at DI+off, DI+off+s, ..., DI+off+7s.
#define STORE8COLS(off, s) \
	VMOVUPS Y8, off(DI);      \
	VMOVUPS Y9, off+s(DI);    \
	VMOVUPS Y10, off+2*s(DI); \
	VMOVUPS Y11, off+3*s(DI); \
	VMOVUPS Y12, off+4*s(DI); \
	VMOVUPS Y13, off+5*s(DI); \
	VMOVUPS Y14, off+6*s(DI); \
	VMOVUPS Y15, off+7*s(DI)

// func packB32T(dst, src *float32, ld, groups int)
// Packs 32 rows of src (row stride ld floats) as columns of a 32-wide
// panel: dst[p*32+j] = src[j*ld+p] for p < 8*groups.
TEXT ·packB32T(SB), NOSPLIT, $0-32
	MOVQ  dst+0(FP), DI
	MOVQ  src+8(FP), SI
	MOVQ  ld+16(FP), AX
	MOVQ  groups+24(FP), CX
	SHLQ  $2, AX
	LEAQ  (AX)(AX*2), BX
	TESTQ CX, CX
	JZ    pbtdone

pbtloop:
	MOVQ SI, R11
	LOAD8ROWS
	TRANSPOSE8
	STORE8COLS(0, 128)
	LOAD8ROWS
	TRANSPOSE8
	STORE8COLS(32, 128)
	LOAD8ROWS
	TRANSPOSE8
	STORE8COLS(64, 128)
	LOAD8ROWS
	TRANSPOSE8
	STORE8COLS(96, 128)
	ADDQ $32, SI
	ADDQ $1024, DI
	DECQ CX
	JNZ  pbtloop

pbtdone:
	VZEROUPPER
	RET

// func packB32C(dst, src *float32, ld, kc int)
// dst[p*32+j] = src[p*ld+j] for j < 32, p < kc.
TEXT ·packB32C(SB), NOSPLIT, $0-32
	MOVQ  dst+0(FP), DI
	MOVQ  src+8(FP), SI
	MOVQ  ld+16(FP), AX
	MOVQ  kc+24(FP), CX
	SHLQ  $2, AX
	TESTQ CX, CX
	JZ    pbcdone

pbcloop:
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ    AX, SI
	ADDQ    $128, DI
	DECQ    CX
	JNZ     pbcloop

pbcdone:
	VZEROUPPER
	RET

// func packA12T(dst, src *float32, ld, groups int)
// Packs 12 rows of src (row stride ld floats) as a 12-wide panel:
// dst[p*12+i] = src[i*ld+p] for p < 8*groups. Rows 8..11 (and four zero
// rows) are transposed and stored first, with 8-float stores whose last
// four floats (zeros) run into the next p; rows 0..7 are stored after and
// overwrite them. The last p's spill lands 4 floats past the groups; the
// caller leaves room.
TEXT ·packA12T(SB), NOSPLIT, $0-32
	MOVQ  dst+0(FP), DI
	MOVQ  src+8(FP), SI
	MOVQ  ld+16(FP), AX
	MOVQ  groups+24(FP), CX
	SHLQ  $2, AX
	LEAQ  (AX)(AX*2), BX
	TESTQ CX, CX
	JZ    pa12done

pa12loop:
	LEAQ    (SI)(AX*8), R11
	VMOVUPS (R11), Y0
	VMOVUPS (R11)(AX*1), Y1
	VMOVUPS (R11)(AX*2), Y2
	VMOVUPS (R11)(BX*1), Y3
	VXORPS  Y4, Y4, Y4
	VXORPS  Y5, Y5, Y5
	VXORPS  Y6, Y6, Y6
	VXORPS  Y7, Y7, Y7
	TRANSPOSE8
	STORE8COLS(32, 48)
	MOVQ SI, R11
	LOAD8ROWS
	TRANSPOSE8
	STORE8COLS(0, 48)
	ADDQ $32, SI
	ADDQ $384, DI
	DECQ CX
	JNZ  pa12loop

pa12done:
	VZEROUPPER
	RET

// func packA12C(dst, src *float32, ld, kc int)
// dst[p*12+i] = src[p*ld+i] for i < 12, p < kc.
TEXT ·packA12C(SB), NOSPLIT, $0-32
	MOVQ  dst+0(FP), DI
	MOVQ  src+8(FP), SI
	MOVQ  ld+16(FP), AX
	MOVQ  kc+24(FP), CX
	SHLQ  $2, AX
	TESTQ CX, CX
	JZ    pa12cdone

pa12cloop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), X1
	VMOVUPS Y0, (DI)
	VMOVUPS X1, 32(DI)
	ADDQ    AX, SI
	ADDQ    $48, DI
	DECQ    CX
	JNZ     pa12cloop

pa12cdone:
	VZEROUPPER
	RET

// func cpuid(leaf, sub uint32) (eax, ebx, ecx, edx uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL leaf+0(FP), AX
	MOVL sub+4(FP), CX
	CPUID
	MOVL AX, eax+8(FP)
	MOVL BX, ebx+12(FP)
	MOVL CX, ecx+16(FP)
	MOVL DX, edx+20(FP)
	RET

//go:build amd64 && !purego

#include "textflag.h"

// AVX2+FMA kernels: the 6x16 GEMM micro-kernel, dot, axpy and the FMA-peak
// loop. Go assembler operand order is reversed from Intel's:
// VFMADD231PS B, A, D computes D += A*B.

// One step p of the 6x16 micro-kernel: two 8-wide loads of the packed B row
// (offset ob from DI), six broadcasts of the packed A column (offset oa from
// SI), twelve FMAs into the accumulators Y0..Y11 (row r in Y(2r), Y(2r+1)).
#define STEP6x16(oa, ob) \
	VMOVUPS      ob(DI), Y12;     \
	VMOVUPS      ob+32(DI), Y13;  \
	VBROADCASTSS oa(SI), Y14;     \
	VBROADCASTSS oa+4(SI), Y15;   \
	VFMADD231PS  Y12, Y14, Y0;    \
	VFMADD231PS  Y13, Y14, Y1;    \
	VFMADD231PS  Y12, Y15, Y2;    \
	VFMADD231PS  Y13, Y15, Y3;    \
	VBROADCASTSS oa+8(SI), Y14;   \
	VBROADCASTSS oa+12(SI), Y15;  \
	VFMADD231PS  Y12, Y14, Y4;    \
	VFMADD231PS  Y13, Y14, Y5;    \
	VFMADD231PS  Y12, Y15, Y6;    \
	VFMADD231PS  Y13, Y15, Y7;    \
	VBROADCASTSS oa+16(SI), Y14;  \
	VBROADCASTSS oa+20(SI), Y15;  \
	VFMADD231PS  Y12, Y14, Y8;    \
	VFMADD231PS  Y13, Y14, Y9;    \
	VFMADD231PS  Y12, Y15, Y10;   \
	VFMADD231PS  Y13, Y15, Y11

// Store (or add into) one 16-wide row of C at DX from accumulators lo, hi,
// then advance DX by the row stride R8.
#define STOREROW(lo, hi) \
	VMOVUPS lo, (DX);    \
	VMOVUPS hi, 32(DX);  \
	ADDQ    R8, DX

#define ADDROW(lo, hi) \
	VADDPS  (DX), lo, lo;   \
	VADDPS  32(DX), hi, hi; \
	VMOVUPS lo, (DX);       \
	VMOVUPS hi, 32(DX);     \
	ADDQ    R8, DX

// func sgemm6x16(k int, a, b, c *float32, ldc int, accum bool)
TEXT ·sgemm6x16(SB), NOSPLIT, $0-41
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8

	// Touch the C tile early so its lines arrive while we compute.
	MOVQ       DX, R9
	PREFETCHT0 (R9)
	PREFETCHT0 60(R9)
	ADDQ       R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 60(R9)
	ADDQ       R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 60(R9)
	ADDQ       R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 60(R9)
	ADDQ       R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 60(R9)
	ADDQ       R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 60(R9)

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

	MOVQ CX, R9
	SHRQ $2, R9
	JZ   tail

loop4:
	STEP6x16(0, 0)
	STEP6x16(24, 64)
	STEP6x16(48, 128)
	STEP6x16(72, 192)
	ADDQ $96, SI
	ADDQ $256, DI
	DECQ R9
	JNZ  loop4

tail:
	ANDQ $3, CX
	JZ   store

loop1:
	STEP6x16(0, 0)
	ADDQ $24, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  loop1

store:
	MOVBQZX accum+40(FP), AX
	TESTQ   AX, AX
	JNZ     add
	STOREROW(Y0, Y1)
	STOREROW(Y2, Y3)
	STOREROW(Y4, Y5)
	STOREROW(Y6, Y7)
	STOREROW(Y8, Y9)
	STOREROW(Y10, Y11)
	VZEROUPPER
	RET

add:
	ADDROW(Y0, Y1)
	ADDROW(Y2, Y3)
	ADDROW(Y4, Y5)
	ADDROW(Y6, Y7)
	ADDROW(Y8, Y9)
	ADDROW(Y10, Y11)
	VZEROUPPER
	RET

// func dotAVX2(x, y *float32, n int) float32
// Four 8-wide FMA accumulators over 32 elements a step, then 8-wide steps,
// then scalar FMAs into lane 0; the lanes are summed pairwise at the end.
TEXT ·dotAVX2(SB), NOSPLIT, $0-28
	MOVQ   x+0(FP), SI
	MOVQ   y+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	CMPQ   CX, $32
	JLT    dot8

dot32:
	VMOVUPS     (SI), Y4
	VMOVUPS     32(SI), Y5
	VMOVUPS     64(SI), Y6
	VMOVUPS     96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	CMPQ        CX, $32
	JGE         dot32

dot8:
	CMPQ CX, $8
	JLT  dotsum

dot8loop:
	VMOVUPS     (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	CMPQ        CX, $8
	JGE         dot8loop

dotsum:
	VADDPS       Y1, Y0, Y0
	VADDPS       Y3, Y2, Y2
	VADDPS       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVHLPS     X0, X0, X1
	VADDPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VADDSS       X1, X0, X0
	TESTQ        CX, CX
	JZ           dotdone

dot1:
	VMOVSS      (SI), X4
	VFMADD231SS (DI), X4, X0
	ADDQ        $4, SI
	ADDQ        $4, DI
	DECQ        CX
	JNZ         dot1

dotdone:
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func axpyAVX2(y, x *float32, n int, a float32)
// y[i] = fma(a, x[i], y[i]).
TEXT ·axpyAVX2(SB), NOSPLIT, $0-28
	MOVQ         y+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS a+24(FP), Y15
	CMPQ         CX, $32
	JLT          axpy8

axpy32:
	VMOVUPS      (SI), Y0
	VMOVUPS      32(SI), Y1
	VMOVUPS      64(SI), Y2
	VMOVUPS      96(SI), Y3
	VFMADD213PS  (DI), Y15, Y0
	VFMADD213PS  32(DI), Y15, Y1
	VFMADD213PS  64(DI), Y15, Y2
	VFMADD213PS  96(DI), Y15, Y3
	VMOVUPS      Y0, (DI)
	VMOVUPS      Y1, 32(DI)
	VMOVUPS      Y2, 64(DI)
	VMOVUPS      Y3, 96(DI)
	ADDQ         $128, SI
	ADDQ         $128, DI
	SUBQ         $32, CX
	CMPQ         CX, $32
	JGE          axpy32

axpy8:
	CMPQ CX, $8
	JLT  axpy1

axpy8loop:
	VMOVUPS     (SI), Y0
	VFMADD213PS (DI), Y15, Y0
	VMOVUPS     Y0, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	CMPQ        CX, $8
	JGE         axpy8loop

axpy1:
	TESTQ CX, CX
	JZ    axpydone

axpy1loop:
	VMOVSS      (SI), X0
	VFMADD213SS (DI), X15, X0
	VMOVSS      X0, (DI)
	ADDQ        $4, SI
	ADDQ        $4, DI
	DECQ        CX
	JNZ         axpy1loop

axpydone:
	VZEROUPPER
	RET

// func fmaPeakAVX2(n int)
// n iterations of 24 independent-chain FMAs (12 accumulators, each updated
// twice): 24·8·2 = 384 FLOPs per iteration. The operands are zero, so no
// value ever becomes denormal or overflows.
TEXT ·fmaPeakAVX2(SB), NOSPLIT, $0-8
	MOVQ   n+0(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	TESTQ  CX, CX
	JZ     peakdone

peakloop:
	VFMADD231PS Y12, Y13, Y0
	VFMADD231PS Y12, Y13, Y1
	VFMADD231PS Y12, Y13, Y2
	VFMADD231PS Y12, Y13, Y3
	VFMADD231PS Y12, Y13, Y4
	VFMADD231PS Y12, Y13, Y5
	VFMADD231PS Y12, Y13, Y6
	VFMADD231PS Y12, Y13, Y7
	VFMADD231PS Y12, Y13, Y8
	VFMADD231PS Y12, Y13, Y9
	VFMADD231PS Y12, Y13, Y10
	VFMADD231PS Y12, Y13, Y11
	VFMADD231PS Y12, Y13, Y0
	VFMADD231PS Y12, Y13, Y1
	VFMADD231PS Y12, Y13, Y2
	VFMADD231PS Y12, Y13, Y3
	VFMADD231PS Y12, Y13, Y4
	VFMADD231PS Y12, Y13, Y5
	VFMADD231PS Y12, Y13, Y6
	VFMADD231PS Y12, Y13, Y7
	VFMADD231PS Y12, Y13, Y8
	VFMADD231PS Y12, Y13, Y9
	VFMADD231PS Y12, Y13, Y10
	VFMADD231PS Y12, Y13, Y11
	DECQ        CX
	JNZ         peakloop

peakdone:
	VZEROUPPER
	RET

// Transpose the 8x8 block of rows Y0..Y7 into columns Y8..Y15 (Y8 holds
// element 0 of every row, ...). Clobbers Y0..Y7.
#define TRANSPOSE8 \
	VUNPCKLPS  Y1, Y0, Y8;         \
	VUNPCKHPS  Y1, Y0, Y9;         \
	VUNPCKLPS  Y3, Y2, Y10;        \
	VUNPCKHPS  Y3, Y2, Y11;        \
	VUNPCKLPS  Y5, Y4, Y12;        \
	VUNPCKHPS  Y5, Y4, Y13;        \
	VUNPCKLPS  Y7, Y6, Y14;        \
	VUNPCKHPS  Y7, Y6, Y15;        \
	VSHUFPS    $0x44, Y10, Y8, Y0; \
	VSHUFPS    $0xEE, Y10, Y8, Y1; \
	VSHUFPS    $0x44, Y11, Y9, Y2; \
	VSHUFPS    $0xEE, Y11, Y9, Y3; \
	VSHUFPS    $0x44, Y14, Y12, Y4; \
	VSHUFPS    $0xEE, Y14, Y12, Y5; \
	VSHUFPS    $0x44, Y15, Y13, Y6; \
	VSHUFPS    $0xEE, Y15, Y13, Y7; \
	VPERM2F128 $0x20, Y4, Y0, Y8;  \
	VPERM2F128 $0x20, Y5, Y1, Y9;  \
	VPERM2F128 $0x20, Y6, Y2, Y10; \
	VPERM2F128 $0x20, Y7, Y3, Y11; \
	VPERM2F128 $0x31, Y4, Y0, Y12; \
	VPERM2F128 $0x31, Y5, Y1, Y13; \
	VPERM2F128 $0x31, Y6, Y2, Y14; \
	VPERM2F128 $0x31, Y7, Y3, Y15

// Load 8 floats from each of the rows at R11, R11+AX, R11+2AX, R11+BX
// (BX = 3AX) into a, b, c, d.
#define LOAD4ROWS(a, b, c, d) \
	VMOVUPS (R11), a;        \
	VMOVUPS (R11)(AX*1), b;  \
	VMOVUPS (R11)(AX*2), c;  \
	VMOVUPS (R11)(BX*1), d

// func packB16T(dst, src *float32, ld, groups int)
// Packs 16 rows of src (row stride ld floats) as columns of a 16-wide
// panel: dst[p*16+j] = src[j*ld+p] for p < 8*groups.
TEXT ·packB16T(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), AX
	MOVQ groups+24(FP), CX
	SHLQ $2, AX
	LEAQ (AX)(AX*2), BX
	TESTQ CX, CX
	JZ   pbtdone

pbtloop:
	// rows 0..7 -> lanes 0..7 of the panel
	MOVQ SI, R11
	LOAD4ROWS(Y0, Y1, Y2, Y3)
	LEAQ (R11)(AX*4), R11
	LOAD4ROWS(Y4, Y5, Y6, Y7)
	TRANSPOSE8
	VMOVUPS Y8, (DI)
	VMOVUPS Y9, 64(DI)
	VMOVUPS Y10, 128(DI)
	VMOVUPS Y11, 192(DI)
	VMOVUPS Y12, 256(DI)
	VMOVUPS Y13, 320(DI)
	VMOVUPS Y14, 384(DI)
	VMOVUPS Y15, 448(DI)
	// rows 8..15 -> lanes 8..15
	LEAQ (R11)(AX*4), R11
	LOAD4ROWS(Y0, Y1, Y2, Y3)
	LEAQ (R11)(AX*4), R11
	LOAD4ROWS(Y4, Y5, Y6, Y7)
	TRANSPOSE8
	VMOVUPS Y8, 32(DI)
	VMOVUPS Y9, 96(DI)
	VMOVUPS Y10, 160(DI)
	VMOVUPS Y11, 224(DI)
	VMOVUPS Y12, 288(DI)
	VMOVUPS Y13, 352(DI)
	VMOVUPS Y14, 416(DI)
	VMOVUPS Y15, 480(DI)
	ADDQ $32, SI
	ADDQ $512, DI
	DECQ CX
	JNZ  pbtloop

pbtdone:
	VZEROUPPER
	RET

// func packA6T(dst, src *float32, ld, groups int)
// Packs 6 rows of src (row stride ld floats) as a 6-wide panel:
// dst[p*6+i] = src[i*ld+p] for p < 8*groups. Each p is written with an
// 8-float store, so it also writes 2 floats (zeros) past its 6; the
// caller leaves room for them after the last p.
TEXT ·packA6T(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), AX
	MOVQ groups+24(FP), CX
	SHLQ $2, AX
	LEAQ (AX)(AX*2), BX
	TESTQ CX, CX
	JZ   patdone

patloop:
	MOVQ    SI, R11
	LOAD4ROWS(Y0, Y1, Y2, Y3)
	LEAQ    (R11)(AX*4), R11
	VMOVUPS (R11), Y4
	VMOVUPS (R11)(AX*1), Y5
	VXORPS  Y6, Y6, Y6
	VXORPS  Y7, Y7, Y7
	TRANSPOSE8
	VMOVUPS Y8, (DI)
	VMOVUPS Y9, 24(DI)
	VMOVUPS Y10, 48(DI)
	VMOVUPS Y11, 72(DI)
	VMOVUPS Y12, 96(DI)
	VMOVUPS Y13, 120(DI)
	VMOVUPS Y14, 144(DI)
	VMOVUPS Y15, 168(DI)
	ADDQ    $32, SI
	ADDQ    $192, DI
	DECQ    CX
	JNZ     patloop

patdone:
	VZEROUPPER
	RET

// func packB16C(dst, src *float32, ld, kc int)
// dst[p*16+j] = src[p*ld+j] for j < 16, p < kc.
TEXT ·packB16C(SB), NOSPLIT, $0-32
	MOVQ  dst+0(FP), DI
	MOVQ  src+8(FP), SI
	MOVQ  ld+16(FP), AX
	MOVQ  kc+24(FP), CX
	SHLQ  $2, AX
	TESTQ CX, CX
	JZ    pbcdone

pbcloop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ    AX, SI
	ADDQ    $64, DI
	DECQ    CX
	JNZ     pbcloop

pbcdone:
	VZEROUPPER
	RET

// func packA6C(dst, src *float32, ld, kc int)
// dst[p*6+i] = src[p*ld+i] for i < 6, p < kc.
TEXT ·packA6C(SB), NOSPLIT, $0-32
	MOVQ  dst+0(FP), DI
	MOVQ  src+8(FP), SI
	MOVQ  ld+16(FP), AX
	MOVQ  kc+24(FP), CX
	SHLQ  $2, AX
	TESTQ CX, CX
	JZ    pacdone

pacloop:
	VMOVUPS (SI), X0
	MOVQ    16(SI), R8
	VMOVUPS X0, (DI)
	MOVQ    R8, 16(DI)
	ADDQ    AX, SI
	ADDQ    $24, DI
	DECQ    CX
	JNZ     pacloop

pacdone:
	RET

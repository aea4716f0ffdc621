//go:build amd64 && !purego

#include "textflag.h"

// AVX2+FMA element-wise kernels (the pure-Go twins are in vec.go). Each
// runs 8 floats per YMM register and finishes a length that is not a
// multiple of 8 with masked loads and stores (VMASKMOVPS), so it never
// touches memory outside its slices. Go's operand order is reversed from
// Intel's: VFMADD213PS C, B, A computes A = B*A + C, VFMADD231PS C, B, A
// computes A += B*C, VBLENDVPS M, X, Y, D sets D = M ? X : Y and
// VCMPPS $p, B, A, D compares A with B.

// Eight copies of one float32 (given by its bits), for memory operands.
#define CONST8(name, bits) \
	DATA name<>+0(SB)/4, $bits;  \
	DATA name<>+4(SB)/4, $bits;  \
	DATA name<>+8(SB)/4, $bits;  \
	DATA name<>+12(SB)/4, $bits; \
	DATA name<>+16(SB)/4, $bits; \
	DATA name<>+20(SB)/4, $bits; \
	DATA name<>+24(SB)/4, $bits; \
	DATA name<>+28(SB)/4, $bits; \
	GLOBL name<>(SB), RODATA|NOPTR, $32

// exp: x = k·ln2 + r (ln2 in two parts, Cody and Waite), e^r by a degree-6
// polynomial fitted for relative error on |r| <= ln2/2 (the same one as
// exp32), 2^k added into the exponent bits.
CONST8(expLog2e, 0x3fb8aa3b) // log2(e)
CONST8(expLn2hi, 0x3f318000) // 0.693359375
CONST8(expLn2lo, 0xb95e8083) // -2.12194440e-4
CONST8(expC2, 0x3efffffe)
CONST8(expC3, 0x3e2aaa49)
CONST8(expC4, 0x3d2aac79)
CONST8(expC5, 0x3c091cea)
CONST8(expC6, 0x3ab51226)
CONST8(vecOne, 0x3f800000)   // 1
CONST8(expHi, 0x42b0bd71)    // 88.37: above, e^x saturates to +Inf
CONST8(expLo, 0xc2ae999a)    // -87.3: below, e^x is flushed to 0
CONST8(vecInf, 0x7f800000)   // +Inf
CONST8(vecNegInf, 0xff800000) // -Inf

// tailMask: loading 8 words from tailMask+4·(8-r) gives r all-ones words
// then 8-r zero words, the mask for the last r (1..7) elements.
DATA tailMask<>+0(SB)/8, $-1
DATA tailMask<>+8(SB)/8, $-1
DATA tailMask<>+16(SB)/8, $-1
DATA tailMask<>+24(SB)/8, $-1
DATA tailMask<>+32(SB)/8, $0
DATA tailMask<>+40(SB)/8, $0
DATA tailMask<>+48(SB)/8, $0
DATA tailMask<>+56(SB)/8, $0
GLOBL tailMask<>(SB), RODATA|NOPTR, $64

// TAILMASK loads into M the mask for the last CX (1..7) elements; it
// clobbers AX and BX.
#define TAILMASK(M) \
	LEAQ    tailMask<>+32(SB), AX; \
	MOVQ    CX, BX;                \
	SHLQ    $2, BX;                \
	SUBQ    BX, AX;                \
	VMOVUPS (AX), M

// EXP8 replaces T by e^T lane-wise, like exp32: 0 for T < -87.3 (so -Inf
// gives 0), +Inf for T > 88.37, NaN for NaN. K, R and P are scratch.
#define EXP8(T, K, R, P) \
	VMULPS       expLog2e<>(SB), T, K;  \
	VROUNDPS     $0, K, K;              \
	VMOVAPS      T, R;                  \
	VFNMADD231PS expLn2hi<>(SB), K, R;  \
	VFNMADD231PS expLn2lo<>(SB), K, R;  \
	VCVTPS2DQ    K, K;                  \
	VMOVUPS      expC6<>(SB), P;        \
	VFMADD213PS  expC5<>(SB), R, P;     \
	VFMADD213PS  expC4<>(SB), R, P;     \
	VFMADD213PS  expC3<>(SB), R, P;     \
	VFMADD213PS  expC2<>(SB), R, P;     \
	VFMADD213PS  vecOne<>(SB), R, P;    \
	VFMADD213PS  vecOne<>(SB), R, P;    \
	VPSLLD       $23, K, K;             \
	VPADDD       K, P, P;               \
	VCMPPS       $0x11, expLo<>(SB), T, K; \
	VANDNPS      P, K, P;               \
	VCMPPS       $0x1e, expHi<>(SB), T, K; \
	VBLENDVPS    K, vecInf<>(SB), P, T

// HSUM8 leaves in X the sum of the 8 lanes of Y (X is Y's low half); S is
// scratch.
#define HSUM8(Y, X, S) \
	VEXTRACTF128 $1, Y, S;  \
	VADDPS       S, X, X;   \
	VMOVHLPS     X, X, S;   \
	VADDPS       S, X, X;   \
	VMOVSHDUP    X, S;      \
	VADDSS       S, X, X

// func expSumAVX2(dst, src *float32, n int, a, b float32) float32
TEXT ·expSumAVX2(SB), NOSPLIT, $0-36
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS a+24(FP), Y15
	VBROADCASTSS b+28(FP), Y14
	VXORPS       Y12, Y12, Y12
	VXORPS       Y13, Y13, Y13

exp16:
	CMPQ        CX, $16
	JLT         exp8
	VMOVUPS     (SI), Y0
	VMOVUPS     32(SI), Y4
	VFMADD213PS Y14, Y15, Y0
	VFMADD213PS Y14, Y15, Y4
	EXP8(Y0, Y1, Y2, Y3)
	EXP8(Y4, Y5, Y6, Y7)
	VMOVUPS     Y0, (DI)
	VMOVUPS     Y4, 32(DI)
	VADDPS      Y0, Y12, Y12
	VADDPS      Y4, Y13, Y13
	ADDQ        $64, SI
	ADDQ        $64, DI
	SUBQ        $16, CX
	JMP         exp16

exp8:
	CMPQ        CX, $8
	JLT         exptail
	VMOVUPS     (SI), Y0
	VFMADD213PS Y14, Y15, Y0
	EXP8(Y0, Y1, Y2, Y3)
	VMOVUPS     Y0, (DI)
	VADDPS      Y0, Y12, Y12
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX

exptail:
	TESTQ       CX, CX
	JEQ         expdone
	TAILMASK(Y8)
	VMASKMOVPS  (SI), Y8, Y0
	VFMADD213PS Y14, Y15, Y0
	EXP8(Y0, Y1, Y2, Y3)
	VMASKMOVPS  Y0, Y8, (DI)
	VANDPS      Y8, Y0, Y0
	VADDPS      Y0, Y13, Y13

expdone:
	VADDPS Y13, Y12, Y12
	HSUM8(Y12, X12, X0)
	VMOVSS X12, ret+32(FP)
	VZEROUPPER
	RET

// func maxOfAVX2(x *float32, n int) float32
// NaN elements are skipped, as in maxOfGo (VMAXPS returns its second
// source operand, here the running maximum, when either is NaN).
TEXT ·maxOfAVX2(SB), NOSPLIT, $0-20
	MOVQ    x+0(FP), SI
	MOVQ    n+8(FP), CX
	VMOVUPS vecNegInf<>(SB), Y0
	VMOVAPS Y0, Y1
	VMOVAPS Y0, Y2
	VMOVAPS Y0, Y3

max32:
	CMPQ    CX, $32
	JLT     max8
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VMAXPS  Y0, Y4, Y0
	VMAXPS  Y1, Y5, Y1
	VMAXPS  Y2, Y6, Y2
	VMAXPS  Y3, Y7, Y3
	ADDQ    $128, SI
	SUBQ    $32, CX
	JMP     max32

max8:
	CMPQ    CX, $8
	JLT     maxtail
	VMOVUPS (SI), Y4
	VMAXPS  Y0, Y4, Y0
	ADDQ    $32, SI
	SUBQ    $8, CX
	JMP     max8

maxtail:
	TESTQ      CX, CX
	JEQ        maxdone
	TAILMASK(Y8)
	VMASKMOVPS (SI), Y8, Y4
	VBLENDVPS  Y8, Y4, Y3, Y4 // lanes past the end: Y3's (a maximum so far or -Inf)
	VMAXPS     Y1, Y4, Y1

maxdone:
	VMAXPS       Y1, Y0, Y0
	VMAXPS       Y3, Y2, Y2
	VMAXPS       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS       X1, X0, X0
	VMOVHLPS     X0, X0, X1
	VMAXPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VMAXSS       X1, X0, X0
	VMOVSS       X0, ret+16(FP)
	VZEROUPPER
	RET

// func scaleAVX2(x *float32, n int, a float32)
TEXT ·scaleAVX2(SB), NOSPLIT, $0-20
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS a+16(FP), Y15

scale32:
	CMPQ    CX, $32
	JLT     scale8
	VMULPS  (SI), Y15, Y0
	VMULPS  32(SI), Y15, Y1
	VMULPS  64(SI), Y15, Y2
	VMULPS  96(SI), Y15, Y3
	VMOVUPS Y0, (SI)
	VMOVUPS Y1, 32(SI)
	VMOVUPS Y2, 64(SI)
	VMOVUPS Y3, 96(SI)
	ADDQ    $128, SI
	SUBQ    $32, CX
	JMP     scale32

scale8:
	CMPQ    CX, $8
	JLT     scaletail
	VMULPS  (SI), Y15, Y0
	VMOVUPS Y0, (SI)
	ADDQ    $32, SI
	SUBQ    $8, CX
	JMP     scale8

scaletail:
	TESTQ      CX, CX
	JEQ        scaledone
	TAILMASK(Y8)
	VMASKMOVPS (SI), Y8, Y0
	VMULPS     Y0, Y15, Y0
	VMASKMOVPS Y0, Y8, (SI)

scaledone:
	VZEROUPPER
	RET

// func softmaxGradAVX2(ds, p, dp *float32, n int, dsum, scale float32)
// ds = (p·(dp − dsum))·scale, rounded in the same order as softmaxGradGo.
TEXT ·softmaxGradAVX2(SB), NOSPLIT, $0-40
	MOVQ         ds+0(FP), DI
	MOVQ         p+8(FP), SI
	MOVQ         dp+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSS dsum+32(FP), Y14
	VBROADCASTSS scale+36(FP), Y15

sg16:
	CMPQ    CX, $16
	JLT     sg8
	VMOVUPS (DX), Y0
	VMOVUPS 32(DX), Y1
	VSUBPS  Y14, Y0, Y0
	VSUBPS  Y14, Y1, Y1
	VMULPS  (SI), Y0, Y0
	VMULPS  32(SI), Y1, Y1
	VMULPS  Y15, Y0, Y0
	VMULPS  Y15, Y1, Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     sg16

sg8:
	CMPQ    CX, $8
	JLT     sgtail
	VMOVUPS (DX), Y0
	VSUBPS  Y14, Y0, Y0
	VMULPS  (SI), Y0, Y0
	VMULPS  Y15, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	SUBQ    $8, CX

sgtail:
	TESTQ      CX, CX
	JEQ        sgdone
	TAILMASK(Y8)
	VMASKMOVPS (DX), Y8, Y0
	VMASKMOVPS (SI), Y8, Y1
	VSUBPS     Y14, Y0, Y0
	VMULPS     Y1, Y0, Y0
	VMULPS     Y15, Y0, Y0
	VMASKMOVPS Y0, Y8, (DI)

sgdone:
	VZEROUPPER
	RET

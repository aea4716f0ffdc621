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
// clobbers AX and BX (so those hold no pointer across it).
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

// GELU, tanh form: 0.5·x·(1 + tanh(u)) with u = c·(x + a·x³), c = √(2/π),
// a = 0.044715, computed as x·σ(2u) = x / (1 + e^(−2u)) (the same function,
// one exp and one division, and accurate where 1 + tanh(u) cancels).
CONST8(geluK1, 0xbfcc422a) // −2c
CONST8(geluK2, 0xbd922279) // −2c·a, so −2u = x·(K1 + K2·x²)
CONST8(geluD0, 0x3fcc422a) // 2c
CONST8(geluD2, 0x3e5b33b6) // 6c·a, so 2·du/dx = D0 + D2·x²
CONST8(geluHi, 0x41100000) // 9: the derivative is taken at x clamped to [−9, 9]
CONST8(geluLo, 0xc1100000) // −9

// func geluFwdAVX2(out, x *float32, n int)
TEXT ·geluFwdAVX2(SB), NOSPLIT, $0-24
	MOVQ    out+0(FP), DI
	MOVQ    x+8(FP), SI
	MOVQ    n+16(FP), CX
	VMOVUPS geluK1<>(SB), Y15
	VMOVUPS geluK2<>(SB), Y14
	VMOVUPS vecOne<>(SB), Y13

gf16:
	CMPQ        CX, $16
	JLT         gf8
	VMOVUPS     (SI), Y0
	VMOVUPS     32(SI), Y5
	VMULPS      Y0, Y0, Y1
	VMULPS      Y5, Y5, Y6
	VFMADD213PS Y15, Y14, Y1
	VFMADD213PS Y15, Y14, Y6
	VMULPS      Y0, Y1, Y1
	VMULPS      Y5, Y6, Y6
	EXP8(Y1, Y2, Y3, Y4)
	EXP8(Y6, Y7, Y8, Y9)
	VADDPS      Y13, Y1, Y1
	VADDPS      Y13, Y6, Y6
	VDIVPS      Y1, Y0, Y0
	VDIVPS      Y6, Y5, Y5
	VMOVUPS     Y0, (DI)
	VMOVUPS     Y5, 32(DI)
	ADDQ        $64, SI
	ADDQ        $64, DI
	SUBQ        $16, CX
	JMP         gf16

gf8:
	CMPQ        CX, $8
	JLT         gftail
	VMOVUPS     (SI), Y0
	VMULPS      Y0, Y0, Y1
	VFMADD213PS Y15, Y14, Y1
	VMULPS      Y0, Y1, Y1
	EXP8(Y1, Y2, Y3, Y4)
	VADDPS      Y13, Y1, Y1
	VDIVPS      Y1, Y0, Y0
	VMOVUPS     Y0, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX

gftail:
	TESTQ       CX, CX
	JEQ         gfdone
	TAILMASK(Y12)
	VMASKMOVPS  (SI), Y12, Y0
	VMULPS      Y0, Y0, Y1
	VFMADD213PS Y15, Y14, Y1
	VMULPS      Y0, Y1, Y1
	EXP8(Y1, Y2, Y3, Y4)
	VADDPS      Y13, Y1, Y1
	VDIVPS      Y1, Y0, Y0
	VMASKMOVPS  Y0, Y12, (DI)

gfdone:
	VZEROUPPER
	RET

// GELUBWD8 sets Y1 to GELU'(x) for x in Y0 (clobbered), Y2..Y6 scratch:
// with x clamped to [−9, 9] (so that x² stays finite), e = e^(−2u),
// s = 1/(1+e) and 1 − s = e·s, GELU' = s + x·s·(1−s)·2u' =
// s·(1 + (1−s)·x·(D0 + D2·x²)); then 0 where x < −9 (the true value is
// below 3e-27 in magnitude there; above 9 the formula gives exactly 1).
#define GELUBWD8 \
	VCMPPS      $0x11, Y11, Y0, Y6;    \
	VMAXPS      Y0, Y11, Y0;           \
	VMINPS      Y0, Y10, Y0;           \
	VMULPS      Y0, Y0, Y1;            \
	VMOVAPS     Y1, Y5;                \
	VFMADD213PS Y15, Y14, Y1;          \
	VMULPS      Y0, Y1, Y1;            \
	EXP8(Y1, Y2, Y3, Y4);              \
	VADDPS      Y13, Y1, Y2;           \
	VDIVPS      Y2, Y13, Y2;           \
	VMULPS      Y2, Y1, Y1;            \
	VFMADD213PS geluD0<>(SB), Y9, Y5;  \
	VMULPS      Y0, Y1, Y1;            \
	VMULPS      Y5, Y1, Y1;            \
	VFMADD213PS Y2, Y2, Y1;            \
	VANDNPS     Y1, Y6, Y1

// func geluBwdAVX2(dinp, x, dout *float32, n int)
// dinp += GELU'(x)·dout.
TEXT ·geluBwdAVX2(SB), NOSPLIT, $0-32
	MOVQ    dinp+0(FP), DI
	MOVQ    x+8(FP), SI
	MOVQ    dout+16(FP), DX
	MOVQ    n+24(FP), CX
	VMOVUPS geluK1<>(SB), Y15
	VMOVUPS geluK2<>(SB), Y14
	VMOVUPS vecOne<>(SB), Y13
	VMOVUPS geluLo<>(SB), Y11
	VMOVUPS geluHi<>(SB), Y10
	VMOVUPS geluD2<>(SB), Y9

gb8:
	CMPQ        CX, $8
	JLT         gbtail
	VMOVUPS     (SI), Y0
	GELUBWD8
	VMOVUPS     (DI), Y4
	VFMADD231PS (DX), Y1, Y4
	VMOVUPS     Y4, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DX
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         gb8

gbtail:
	TESTQ       CX, CX
	JEQ         gbdone
	TAILMASK(Y12)
	VMASKMOVPS  (SI), Y12, Y0
	GELUBWD8
	VMASKMOVPS  (DX), Y12, Y3
	VMASKMOVPS  (DI), Y12, Y4
	VFMADD231PS Y3, Y1, Y4
	VMASKMOVPS  Y4, Y12, (DI)

gbdone:
	VZEROUPPER
	RET

// func layerNormRowAVX2(out, x, w, b *float32, n int, eps float32) (mean, rstd float32)
// Two passes for the statistics (sum, then squared deviations from the
// mean), rstd = 1/√(var + eps) in float64 as layerNormRowGo does, then
// out = (x − mean)·rstd·w + b. n ≥ 1.
TEXT ·layerNormRowAVX2(SB), NOSPLIT, $0-56
	MOVQ x+8(FP), SI
	MOVQ n+32(FP), CX
	MOVQ  CX, R8
	ANDQ  $7, CX
	JEQ   lnnomask
	TAILMASK(Y12)

lnnomask:
	// Pass 1: Σ x.
	MOVQ   SI, R9
	MOVQ   R8, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1

lnsum16:
	CMPQ   CX, $16
	JLT    lnsum8
	VADDPS (R9), Y0, Y0
	VADDPS 32(R9), Y1, Y1
	ADDQ   $64, R9
	SUBQ   $16, CX
	JMP    lnsum16

lnsum8:
	CMPQ   CX, $8
	JLT    lnsumtail
	VADDPS (R9), Y0, Y0
	ADDQ   $32, R9
	SUBQ   $8, CX

lnsumtail:
	TESTQ      CX, CX
	JEQ        lnsumdone
	VMASKMOVPS (R9), Y12, Y2
	VADDPS     Y2, Y1, Y1

lnsumdone:
	VADDPS    Y1, Y0, Y0
	HSUM8(Y0, X0, X1)
	VCVTSI2SSQ R8, X1, X1
	VDIVSS    X1, X0, X0          // mean
	VMOVSS    X0, mean+48(FP)
	VBROADCASTSS X0, Y15

	// Pass 2: Σ (x − mean)².
	MOVQ   SI, R9
	MOVQ   R8, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1

lnvar16:
	CMPQ        CX, $16
	JLT         lnvar8
	VMOVUPS     (R9), Y2
	VMOVUPS     32(R9), Y3
	VSUBPS      Y15, Y2, Y2
	VSUBPS      Y15, Y3, Y3
	VFMADD231PS Y2, Y2, Y0
	VFMADD231PS Y3, Y3, Y1
	ADDQ        $64, R9
	SUBQ        $16, CX
	JMP         lnvar16

lnvar8:
	CMPQ        CX, $8
	JLT         lnvartail
	VMOVUPS     (R9), Y2
	VSUBPS      Y15, Y2, Y2
	VFMADD231PS Y2, Y2, Y0
	ADDQ        $32, R9
	SUBQ        $8, CX

lnvartail:
	TESTQ       CX, CX
	JEQ         lnvardone
	VMASKMOVPS  (R9), Y12, Y2
	VSUBPS      Y15, Y2, Y2
	VANDPS      Y12, Y2, Y2
	VFMADD231PS Y2, Y2, Y1

lnvardone:
	VADDPS    Y1, Y0, Y0
	HSUM8(Y0, X0, X1)
	VCVTSI2SSQ R8, X1, X1
	VDIVSS    X1, X0, X0
	VADDSS    eps+40(FP), X0, X0
	VCVTSS2SD X0, X0, X0
	VSQRTSD   X0, X0, X0
	MOVQ      $0x3ff0000000000000, AX // 1.0
	VMOVQ     AX, X1
	VDIVSD    X0, X1, X0
	VCVTSD2SS X0, X0, X0          // rstd
	VMOVSS    X0, rstd+52(FP)
	VBROADCASTSS X0, Y14

	// Pass 3: out = (x − mean)·rstd·w + b.
	MOVQ out+0(FP), DI
	MOVQ w+16(FP), DX
	MOVQ b+24(FP), BX
	MOVQ R8, CX

lnout8:
	CMPQ        CX, $8
	JLT         lnouttail
	VMOVUPS     (SI), Y0
	VSUBPS      Y15, Y0, Y0
	VMULPS      Y14, Y0, Y0
	VMOVUPS     (BX), Y1
	VFMADD231PS (DX), Y0, Y1
	VMOVUPS     Y1, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DX
	ADDQ        $32, BX
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         lnout8

lnouttail:
	TESTQ       CX, CX
	JEQ         lndone
	VMASKMOVPS  (SI), Y12, Y0
	VMASKMOVPS  (DX), Y12, Y2
	VMASKMOVPS  (BX), Y12, Y1
	VSUBPS      Y15, Y0, Y0
	VMULPS      Y14, Y0, Y0
	VFMADD231PS Y2, Y0, Y1
	VMASKMOVPS  Y1, Y12, (DI)

lndone:
	VZEROUPPER
	RET

// func layerNormBwdRowAVX2(dx, dw, db, dout, x, w *float32, n int, mean, rstd float32)
// With nv = (x − mean)·rstd and dn = w·g: sg = mean of dn, sgn = mean of
// dn·nv; then db += g, dw += nv·g, dx += (dn − sg − nv·sgn)·rstd. n ≥ 1.
TEXT ·layerNormBwdRowAVX2(SB), NOSPLIT, $0-64
	MOVQ         dout+24(FP), DX
	MOVQ         x+32(FP), SI
	MOVQ         w+40(FP), R10
	MOVQ         n+48(FP), R8
	VBROADCASTSS mean+56(FP), Y15
	VBROADCASTSS rstd+60(FP), Y14
	TESTQ        $7, R8
	JEQ          lbnomask
	MOVQ         R8, CX
	ANDQ         $7, CX
	TAILMASK(Y12)

lbnomask:
	// Pass 1: Σ dn (Y0) and Σ dn·nv (Y1).
	MOVQ   SI, R9
	MOVQ   DX, R11
	MOVQ   R10, R12
	MOVQ   R8, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1

lbsum8:
	CMPQ        CX, $8
	JLT         lbsumtail
	VMOVUPS     (R9), Y2
	VSUBPS      Y15, Y2, Y2
	VMULPS      Y14, Y2, Y2     // nv
	VMOVUPS     (R12), Y3
	VMULPS      (R11), Y3, Y3   // dn
	VADDPS      Y3, Y0, Y0
	VFMADD231PS Y2, Y3, Y1
	ADDQ        $32, R9
	ADDQ        $32, R11
	ADDQ        $32, R12
	SUBQ        $8, CX
	JMP         lbsum8

lbsumtail:
	TESTQ       CX, CX
	JEQ         lbsumdone
	VMASKMOVPS  (R9), Y12, Y2
	VSUBPS      Y15, Y2, Y2
	VMULPS      Y14, Y2, Y2
	VMASKMOVPS  (R12), Y12, Y3
	VMASKMOVPS  (R11), Y12, Y4
	VMULPS      Y4, Y3, Y3      // 0 past the end
	VADDPS      Y3, Y0, Y0
	VFMADD231PS Y2, Y3, Y1

lbsumdone:
	VCVTSI2SSQ    R8, X5, X5
	HSUM8(Y0, X0, X2)
	VDIVSS       X5, X0, X0
	VBROADCASTSS X0, Y13         // sg
	HSUM8(Y1, X1, X2)
	VDIVSS       X5, X1, X1
	VBROADCASTSS X1, Y11         // sgn

	// Pass 2.
	MOVQ dx+0(FP), DI
	MOVQ dw+8(FP), AX
	MOVQ db+16(FP), BX
	MOVQ R8, CX

lbout8:
	CMPQ         CX, $8
	JLT          lbouttail
	VMOVUPS      (SI), Y2
	VSUBPS       Y15, Y2, Y2
	VMULPS       Y14, Y2, Y2     // nv
	VMOVUPS      (DX), Y4        // g
	VMULPS       (R10), Y4, Y3   // dn
	VADDPS       (BX), Y4, Y5
	VMOVUPS      Y5, (BX)        // db += g
	VMOVUPS      (AX), Y5
	VFMADD231PS  Y4, Y2, Y5
	VMOVUPS      Y5, (AX)        // dw += nv·g
	VSUBPS       Y13, Y3, Y3
	VFNMADD231PS Y11, Y2, Y3     // dn − sg − nv·sgn
	VMOVUPS      (DI), Y5
	VFMADD231PS  Y14, Y3, Y5
	VMOVUPS      Y5, (DI)        // dx += (…)·rstd
	ADDQ         $32, SI
	ADDQ         $32, DX
	ADDQ         $32, R10
	ADDQ         $32, AX
	ADDQ         $32, BX
	ADDQ         $32, DI
	SUBQ         $8, CX
	JMP          lbout8

lbouttail:
	TESTQ        CX, CX
	JEQ          lbdone
	VMASKMOVPS   (SI), Y12, Y2
	VSUBPS       Y15, Y2, Y2
	VMULPS       Y14, Y2, Y2
	VMASKMOVPS   (DX), Y12, Y4
	VMASKMOVPS   (R10), Y12, Y3
	VMULPS       Y4, Y3, Y3
	VMASKMOVPS   (BX), Y12, Y5
	VADDPS       Y4, Y5, Y5
	VMASKMOVPS   Y5, Y12, (BX)
	VMASKMOVPS   (AX), Y12, Y5
	VFMADD231PS  Y4, Y2, Y5
	VMASKMOVPS   Y5, Y12, (AX)
	VSUBPS       Y13, Y3, Y3
	VFNMADD231PS Y11, Y2, Y3
	VMASKMOVPS   (DI), Y12, Y5
	VFMADD231PS  Y14, Y3, Y5
	VMASKMOVPS   Y5, Y12, (DI)

lbdone:
	VZEROUPPER
	RET

// ADAMW8 updates 8 parameters from Y0 = g, Y1 = m, Y3 = v, Y4 = p, leaving
// the new m in Y1, v in Y3 and p in Y4 (Y2 scratch), in float32:
// m = β1·m + (1−β1)·g, v = β2·v + (1−β2)·g², p −= lr·(m·c1 / (√(v·c2) + eps)
// + wd·p) with c1, c2 the reciprocal bias corrections. Y5 keeps the new m.
#define ADAMW8 \
	VMULPS       Y15, Y1, Y1; \
	VFMADD231PS  Y0, Y14, Y1; \
	VMULPS       Y0, Y0, Y2;  \
	VMULPS       Y13, Y3, Y3; \
	VFMADD231PS  Y2, Y12, Y3; \
	VMULPS       Y11, Y1, Y5; \
	VMULPS       Y10, Y3, Y2; \
	VSQRTPS      Y2, Y2;      \
	VADDPS       Y9, Y2, Y2;  \
	VDIVPS       Y2, Y5, Y5;  \
	VFMADD231PS  Y4, Y7, Y5;  \
	VFNMADD231PS Y5, Y8, Y4

// func adamWAVX2(p, grad, m, v *float32, n int, b1, omb1, b2, omb2, c1, c2, eps, lr, wd float32)
TEXT ·adamWAVX2(SB), NOSPLIT, $0-76
	MOVQ         p+0(FP), DI
	MOVQ         grad+8(FP), SI
	MOVQ         m+16(FP), DX
	MOVQ         v+24(FP), R8
	MOVQ         n+32(FP), CX
	VBROADCASTSS b1+40(FP), Y15
	VBROADCASTSS omb1+44(FP), Y14
	VBROADCASTSS b2+48(FP), Y13
	VBROADCASTSS omb2+52(FP), Y12
	VBROADCASTSS c1+56(FP), Y11
	VBROADCASTSS c2+60(FP), Y10
	VBROADCASTSS eps+64(FP), Y9
	VBROADCASTSS lr+68(FP), Y8
	VBROADCASTSS wd+72(FP), Y7

ad8:
	CMPQ    CX, $8
	JLT     adtail
	VMOVUPS (SI), Y0
	VMOVUPS (DX), Y1
	VMOVUPS (R8), Y3
	VMOVUPS (DI), Y4
	ADAMW8
	VMOVUPS Y1, (DX)
	VMOVUPS Y3, (R8)
	VMOVUPS Y4, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, R8
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     ad8

adtail:
	TESTQ      CX, CX
	JEQ        addone
	TAILMASK(Y6)
	VMASKMOVPS (SI), Y6, Y0
	VMASKMOVPS (DX), Y6, Y1
	VMASKMOVPS (R8), Y6, Y3
	VMASKMOVPS (DI), Y6, Y4
	ADAMW8
	VMASKMOVPS Y1, Y6, (DX)
	VMASKMOVPS Y3, Y6, (R8)
	VMASKMOVPS Y4, Y6, (DI)

addone:
	VZEROUPPER
	RET

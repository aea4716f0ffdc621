//go:build amd64 && !purego

#include "textflag.h"

// AVX-512F element-wise kernels (the pure-Go twins are in vec.go): exp with
// sum, 16 floats per ZMM register, the last n mod 16 under an opmask so no
// memory outside the slices is touched. Same polynomial and special-value
// handling as EXP8 in vec_amd64.s.

// One float32 constant (by its bits), for broadcast memory operands.
#define CONST1(name, bits) \
	DATA name<>+0(SB)/4, $bits; \
	GLOBL name<>(SB), RODATA|NOPTR, $4

CONST1(zLog2e, 0x3fb8aa3b) // log2(e)
CONST1(zLn2hi, 0x3f318000) // 0.693359375
CONST1(zLn2lo, 0xb95e8083) // -2.12194440e-4
CONST1(zC2, 0x3efffffe)
CONST1(zC3, 0x3e2aaa49)
CONST1(zC4, 0x3d2aac79)
CONST1(zC5, 0x3c091cea)
CONST1(zC6, 0x3ab51226)
CONST1(zOne, 0x3f800000)  // 1
CONST1(zExpHi, 0x42b0bd71) // 88.37: above, e^x saturates to +Inf
CONST1(zExpLo, 0xc2ae999a) // -87.3: below, e^x is flushed to 0
CONST1(zInf, 0x7f800000)   // +Inf

// EXP16 replaces T by e^T lane-wise, like exp32: 0 for T < -87.3 (so -Inf
// gives 0), +Inf for T > 88.37, NaN for NaN. K, R and P are scratch ZMM
// registers; it clobbers the opmasks K1 and K2.
#define EXP16(T, K, R, P) \
	VMULPS.BCST        zLog2e<>(SB), T, K;     \
	VRNDSCALEPS        $0, K, K;               \
	VMOVAPS            T, R;                   \
	VFNMADD231PS.BCST  zLn2hi<>(SB), K, R;     \
	VFNMADD231PS.BCST  zLn2lo<>(SB), K, R;     \
	VCVTPS2DQ          K, K;                   \
	VBROADCASTSS       zC6<>(SB), P;           \
	VFMADD213PS.BCST   zC5<>(SB), R, P;        \
	VFMADD213PS.BCST   zC4<>(SB), R, P;        \
	VFMADD213PS.BCST   zC3<>(SB), R, P;        \
	VFMADD213PS.BCST   zC2<>(SB), R, P;        \
	VFMADD213PS.BCST   zOne<>(SB), R, P;       \
	VFMADD213PS.BCST   zOne<>(SB), R, P;       \
	VPSLLD             $23, K, K;              \
	VPADDD             K, P, P;                \
	VCMPPS.BCST        $0x11, zExpLo<>(SB), T, K1; \
	VPXORD             P, P, K1, P;            \
	VCMPPS.BCST        $0x1e, zExpHi<>(SB), T, K2; \
	VBROADCASTSS       zInf<>(SB), K2, P;      \
	VMOVAPS            P, T

// func expSumAVX512(dst, src *float32, n int, a, b float32) float32
TEXT ·expSumAVX512(SB), NOSPLIT, $0-36
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS a+24(FP), Z15
	VBROADCASTSS b+28(FP), Z14
	VPXORD       Z12, Z12, Z12
	VPXORD       Z13, Z13, Z13

exp32:
	CMPQ        CX, $32
	JLT         exp16
	VMOVUPS     (SI), Z0
	VMOVUPS     64(SI), Z4
	VFMADD213PS Z14, Z15, Z0
	VFMADD213PS Z14, Z15, Z4
	EXP16(Z0, Z1, Z2, Z3)
	EXP16(Z4, Z5, Z6, Z7)
	VMOVUPS     Z0, (DI)
	VMOVUPS     Z4, 64(DI)
	VADDPS      Z0, Z12, Z12
	VADDPS      Z4, Z13, Z13
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         exp32

exp16:
	CMPQ        CX, $16
	JLT         exptail
	VMOVUPS     (SI), Z0
	VFMADD213PS Z14, Z15, Z0
	EXP16(Z0, Z1, Z2, Z3)
	VMOVUPS     Z0, (DI)
	VADDPS      Z0, Z12, Z12
	ADDQ        $64, SI
	ADDQ        $64, DI
	SUBQ        $16, CX

exptail:
	TESTQ       CX, CX
	JEQ         expdone
	// K3 = the low CX (1..15) lanes.
	MOVQ        $1, AX
	SHLQ        CX, AX
	DECQ        AX
	KMOVW       AX, K3
	VPXORD      Z0, Z0, Z0
	VMOVUPS     (SI), K3, Z0
	VFMADD213PS Z14, Z15, Z0
	EXP16(Z0, Z1, Z2, Z3)
	VMOVUPS     Z0, K3, (DI)
	VADDPS      Z0, Z13, K3, Z13

expdone:
	VADDPS         Z13, Z12, Z12
	VEXTRACTF64X4  $1, Z12, Y0
	VADDPS         Y0, Y12, Y12
	VEXTRACTF128   $1, Y12, X0
	VADDPS         X0, X12, X12
	VMOVHLPS       X12, X12, X0
	VADDPS         X0, X12, X12
	VMOVSHDUP      X12, X0
	VADDSS         X0, X12, X12
	VMOVSS         X12, ret+32(FP)
	VZEROUPPER
	RET

// GELU, tanh form, as geluFwdAVX2 / geluBwdAVX2 in vec_amd64.s, 16 lanes
// at a time: the same operations in the same order per element (EXP16 is
// EXP8's), so the results are bitwise those of the AVX2 kernels.
CONST1(zGeluK1, 0xbfcc422a) // −2c
CONST1(zGeluK2, 0xbd922279) // −2c·a, so −2u = x·(K1 + K2·x²)
CONST1(zGeluD0, 0x3fcc422a) // 2c
CONST1(zGeluD2, 0x3e5b33b6) // 6c·a, so 2·du/dx = D0 + D2·x²
CONST1(zGeluHi, 0x41100000) // 9: the derivative is taken at x clamped to [−9, 9]
CONST1(zGeluLo, 0xc1100000) // −9

// GELUFWD16 sets Z0 = GELU(Z0) = x / (1 + e^(−2u)); Z1..Z4 scratch.
#define GELUFWD16 \
	VMULPS      Z0, Z0, Z1;      \
	VFMADD213PS Z15, Z14, Z1;    \
	VMULPS      Z0, Z1, Z1;      \
	EXP16(Z1, Z2, Z3, Z4);       \
	VADDPS      Z13, Z1, Z1;     \
	VDIVPS      Z1, Z0, Z0

// func geluFwdAVX512(out, x *float32, n int)
TEXT ·geluFwdAVX512(SB), NOSPLIT, $0-24
	MOVQ         out+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS zGeluK1<>(SB), Z15
	VBROADCASTSS zGeluK2<>(SB), Z14
	VBROADCASTSS zOne<>(SB), Z13

gf16:
	CMPQ    CX, $16
	JLT     gftail
	VMOVUPS (SI), Z0
	GELUFWD16
	VMOVUPS Z0, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     gf16

gftail:
	TESTQ   CX, CX
	JEQ     gfdone
	// K3 = the low CX (1..15) lanes.
	MOVQ    $1, AX
	SHLQ    CX, AX
	DECQ    AX
	KMOVW   AX, K3
	VPXORD  Z0, Z0, Z0
	VMOVUPS (SI), K3, Z0
	GELUFWD16
	VMOVUPS Z0, K3, (DI)

gfdone:
	VZEROUPPER
	RET

// GELUBWD16 sets Z1 to GELU'(x) for x in Z0 (clobbered), Z2..Z5 scratch,
// as GELUBWD8: x clamped to [−9, 9], e = e^(−2u), s = 1/(1+e),
// GELU' = s·(1 + e·s·x·(D0 + D2·x²)), then 0 where x < −9 (mask K4).
#define GELUBWD16 \
	VCMPPS      $0x11, Z11, Z0, K4; \
	VMAXPS      Z0, Z11, Z0;        \
	VMINPS      Z0, Z10, Z0;        \
	VMULPS      Z0, Z0, Z1;         \
	VMOVAPS     Z1, Z5;             \
	VFMADD213PS Z15, Z14, Z1;       \
	VMULPS      Z0, Z1, Z1;         \
	EXP16(Z1, Z2, Z3, Z4);          \
	VADDPS      Z13, Z1, Z2;        \
	VDIVPS      Z2, Z13, Z2;        \
	VMULPS      Z2, Z1, Z1;         \
	VFMADD213PS Z8, Z9, Z5;         \
	VMULPS      Z0, Z1, Z1;         \
	VMULPS      Z5, Z1, Z1;         \
	VFMADD213PS Z2, Z2, Z1;         \
	VPXORD      Z1, Z1, K4, Z1

// func geluBwdAVX512(dinp, x, dout *float32, n int)
// dinp += GELU'(x)·dout.
TEXT ·geluBwdAVX512(SB), NOSPLIT, $0-32
	MOVQ         dinp+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         dout+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSS zGeluK1<>(SB), Z15
	VBROADCASTSS zGeluK2<>(SB), Z14
	VBROADCASTSS zOne<>(SB), Z13
	VBROADCASTSS zGeluLo<>(SB), Z11
	VBROADCASTSS zGeluHi<>(SB), Z10
	VBROADCASTSS zGeluD2<>(SB), Z9
	VBROADCASTSS zGeluD0<>(SB), Z8

gb16:
	CMPQ        CX, $16
	JLT         gbtail
	VMOVUPS     (SI), Z0
	GELUBWD16
	VMOVUPS     (DI), Z4
	VFMADD231PS (DX), Z1, Z4
	VMOVUPS     Z4, (DI)
	ADDQ        $64, SI
	ADDQ        $64, DX
	ADDQ        $64, DI
	SUBQ        $16, CX
	JMP         gb16

gbtail:
	TESTQ       CX, CX
	JEQ         gbdone
	MOVQ        $1, AX
	SHLQ        CX, AX
	DECQ        AX
	KMOVW       AX, K3
	VPXORD      Z0, Z0, Z0
	VMOVUPS     (SI), K3, Z0
	GELUBWD16
	VPXORD      Z3, Z3, Z3
	VMOVUPS     (DX), K3, Z3
	VPXORD      Z4, Z4, Z4
	VMOVUPS     (DI), K3, Z4
	VFMADD231PS Z3, Z1, Z4
	VMOVUPS     Z4, K3, (DI)

gbdone:
	VZEROUPPER
	RET

// ADAMW16 is ADAMW8 of vec_amd64.s on 16 lanes (the same operations in the
// same order, so bitwise its results): Z0 = g, Z1 = m, Z3 = v, Z4 = p in,
// the new m in Z1, v in Z3, p in Z4; Z2 and Z5 scratch.
#define ADAMW16 \
	VMULPS       Z15, Z1, Z1; \
	VFMADD231PS  Z0, Z14, Z1; \
	VMULPS       Z0, Z0, Z2;  \
	VMULPS       Z13, Z3, Z3; \
	VFMADD231PS  Z2, Z12, Z3; \
	VMULPS       Z11, Z1, Z5; \
	VMULPS       Z10, Z3, Z2; \
	VSQRTPS      Z2, Z2;      \
	VADDPS       Z9, Z2, Z2;  \
	VDIVPS       Z2, Z5, Z5;  \
	VFMADD231PS  Z4, Z7, Z5;  \
	VFNMADD231PS Z5, Z8, Z4

// func adamWAVX512(p, grad, m, v *float32, n int, b1, omb1, b2, omb2, c1, c2, eps, lr, wd float32)
TEXT ·adamWAVX512(SB), NOSPLIT, $0-76
	MOVQ         p+0(FP), DI
	MOVQ         grad+8(FP), SI
	MOVQ         m+16(FP), DX
	MOVQ         v+24(FP), R8
	MOVQ         n+32(FP), CX
	VBROADCASTSS b1+40(FP), Z15
	VBROADCASTSS omb1+44(FP), Z14
	VBROADCASTSS b2+48(FP), Z13
	VBROADCASTSS omb2+52(FP), Z12
	VBROADCASTSS c1+56(FP), Z11
	VBROADCASTSS c2+60(FP), Z10
	VBROADCASTSS eps+64(FP), Z9
	VBROADCASTSS lr+68(FP), Z8
	VBROADCASTSS wd+72(FP), Z7

ad16:
	CMPQ    CX, $16
	JLT     adtail
	VMOVUPS (SI), Z0
	VMOVUPS (DX), Z1
	VMOVUPS (R8), Z3
	VMOVUPS (DI), Z4
	ADAMW16
	VMOVUPS Z1, (DX)
	VMOVUPS Z3, (R8)
	VMOVUPS Z4, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $64, R8
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     ad16

adtail:
	TESTQ   CX, CX
	JEQ     addone
	MOVQ    $1, AX
	SHLQ    CX, AX
	DECQ    AX
	KMOVW   AX, K3
	VPXORD  Z0, Z0, Z0
	VPXORD  Z1, Z1, Z1
	VPXORD  Z3, Z3, Z3
	VPXORD  Z4, Z4, Z4
	VMOVUPS (SI), K3, Z0
	VMOVUPS (DX), K3, Z1
	VMOVUPS (R8), K3, Z3
	VMOVUPS (DI), K3, Z4
	ADAMW16
	VMOVUPS Z1, K3, (DX)
	VMOVUPS Z3, K3, (R8)
	VMOVUPS Z4, K3, (DI)

addone:
	VZEROUPPER
	RET

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

//go:build amd64 && !purego

#include "textflag.h"

// bf16 dot products: each bf16 weight is widened to float32 in a register
// (zero-extend 16 -> 32 bits, shift left 16) and multiplied with float32 x
// by FMA; the weights are read as stored, at half the bytes of float32.

// func dotBF16AVX2(w *uint16, x *float32, n int) float32
// Four 8-wide accumulators over 32 elements a step, then 8-wide steps,
// then scalar FMAs into lane 0; the lanes are summed pairwise at the end.
TEXT ·dotBF16AVX2(SB), NOSPLIT, $0-28
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	CMPQ   CX, $32
	JLT    b8

b32:
	PREFETCHT0  1024(SI)
	VPMOVZXWD   (SI), Y4
	VPMOVZXWD   16(SI), Y5
	VPMOVZXWD   32(SI), Y6
	VPMOVZXWD   48(SI), Y7
	VPSLLD      $16, Y4, Y4
	VPSLLD      $16, Y5, Y5
	VPSLLD      $16, Y6, Y6
	VPSLLD      $16, Y7, Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ        $64, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	CMPQ        CX, $32
	JGE         b32

b8:
	CMPQ CX, $8
	JLT  bsum

b8loop:
	VPMOVZXWD   (SI), Y4
	VPSLLD      $16, Y4, Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ        $16, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	CMPQ        CX, $8
	JGE         b8loop

bsum:
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
	JZ           bdone

b1:
	MOVWLZX     (SI), AX
	SHLL        $16, AX
	MOVL        AX, X4
	VFMADD231SS (DI), X4, X0
	ADDQ        $2, SI
	ADDQ        $4, DI
	DECQ        CX
	JNZ         b1

bdone:
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func dotBF16AVX512(w *uint16, x *float32, n int) float32
// Four 16-wide accumulators over 64 elements a step, then 16-wide steps,
// then the last n mod 16 under an opmask (no memory past the slices is
// read); the lanes are summed pairwise at the end.
TEXT ·dotBF16AVX512(SB), NOSPLIT, $0-28
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   n+16(FP), CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	CMPQ   CX, $64
	JLT    z16

z64:
	// Software prefetch 8 lines ahead (two per 128-byte step), as in
	// dotInt8AVX512.
	PREFETCHT0  1024(SI)
	PREFETCHT0  1088(SI)
	VPMOVZXWD   (SI), Z4
	VPMOVZXWD   32(SI), Z5
	VPMOVZXWD   64(SI), Z6
	VPMOVZXWD   96(SI), Z7
	VPSLLD      $16, Z4, Z4
	VPSLLD      $16, Z5, Z5
	VPSLLD      $16, Z6, Z6
	VPSLLD      $16, Z7, Z7
	VFMADD231PS (DI), Z4, Z0
	VFMADD231PS 64(DI), Z5, Z1
	VFMADD231PS 128(DI), Z6, Z2
	VFMADD231PS 192(DI), Z7, Z3
	ADDQ        $128, SI
	ADDQ        $256, DI
	SUBQ        $64, CX
	CMPQ        CX, $64
	JGE         z64

z16:
	CMPQ CX, $16
	JLT  ztail

z16loop:
	VPMOVZXWD   (SI), Z4
	VPSLLD      $16, Z4, Z4
	VFMADD231PS (DI), Z4, Z0
	ADDQ        $32, SI
	ADDQ        $64, DI
	SUBQ        $16, CX
	CMPQ        CX, $16
	JGE         z16loop

ztail:
	TESTQ CX, CX
	JZ    zsum
	// K1 = the low CX (1..15) lanes; masked-off lanes load nothing and
	// are zero.
	MOVQ          $1, AX
	SHLQ          CX, AX
	DECQ          AX
	KMOVW         AX, K1
	VPMOVZXWD.Z   (SI), K1, Z4
	VMOVUPS.Z     (DI), K1, Z5
	VPSLLD        $16, Z4, Z4
	VFMADD231PS   Z5, Z4, Z1

zsum:
	VADDPS        Z1, Z0, Z0
	VADDPS        Z3, Z2, Z2
	VADDPS        Z2, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDPS        X1, X0, X0
	VMOVHLPS      X0, X0, X1
	VADDPS        X1, X0, X0
	VMOVSHDUP     X0, X1
	VADDSS        X1, X0, X0
	VMOVSS        X0, ret+24(FP)
	VZEROUPPER
	RET

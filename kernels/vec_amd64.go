//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// Assembly vector kernels in vec_amd64.s. Pointers and lengths are checked
// by the Go wrappers below; n may be 0.

//go:noescape
func expSumAVX2(dst, src *float32, n int, a, b float32) float32

//go:noescape
func maxOfAVX2(x *float32, n int) float32

//go:noescape
func scaleAVX2(x *float32, n int, a float32)

//go:noescape
func softmaxGradAVX2(ds, p, dp *float32, n int, dsum, scale float32)

// vecAVX2 is the AVX2+FMA set of vector kernels.
var vecAVX2 = &vecKernels{
	expSum:      expSumAsmAVX2,
	maxOf:       maxOfAsmAVX2,
	scale:       scaleAsmAVX2,
	softmaxGrad: softmaxGradAsmAVX2,
}

// pickVec returns the vector kernels the CPU supports (nil: pure Go only).
func pickVec() *vecKernels {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		return vecAVX2
	}
	return nil
}

func expSumAsmAVX2(dst, src []float32, a, b float32) float32 {
	if len(src) == 0 {
		return 0
	}
	dst = dst[:len(src)]
	return expSumAVX2(&dst[0], &src[0], len(src), a, b)
}

func maxOfAsmAVX2(x []float32) float32 {
	if len(x) == 0 {
		return maxOfGo(x)
	}
	return maxOfAVX2(&x[0], len(x))
}

func scaleAsmAVX2(x []float32, a float32) {
	if len(x) == 0 {
		return
	}
	scaleAVX2(&x[0], len(x), a)
}

func softmaxGradAsmAVX2(ds, p, dp []float32, dsum, scale float32) {
	if len(ds) == 0 {
		return
	}
	p = p[:len(ds)]
	dp = dp[:len(ds)]
	softmaxGradAVX2(&ds[0], &p[0], &dp[0], len(ds), dsum, scale)
}

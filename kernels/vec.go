package kernels

import "math"

// Element-wise vector kernels used by attention's softmax, the loss, GELU,
// LayerNorm and the optimizer. Each has a pure-Go version (the *Go
// functions below), which is the reference and what runs without assembly;
// the assembly versions (vec_amd64.s) are used exactly when the assembly
// GEMM kernels are, so SetAssembly(false) and the purego build tag turn
// both off together.

// vecKernels is one assembly implementation of the vector kernels; each
// field has the contract of the function of the same name below.
type vecKernels struct {
	expSum      func(dst, src []float32, a, b float32) float32 // see expSumTo
	maxOf       func(x []float32) float32
	scale       func(x []float32, a float32) // see scaleTo
	softmaxGrad func(ds, p, dp []float32, dsum, scale float32)
}

// bestVec is the best vector kernel set the CPU supports (nil: pure Go).
var bestVec = pickVec()

// vec returns the vector kernels in use, nil for pure Go: bestVec while the
// assembly kernels are on (see SetAssembly).
func vec() *vecKernels {
	if arch() == nil {
		return nil
	}
	return bestVec
}

// expSum sets x[i] = exp(a·x[i] + b) and returns the sum of the new x.
// Masked inputs (-Inf, with a > 0) and very negative arguments give exactly
// 0; the error is that of exp32 (a few float32 ulps).
func expSum(x []float32, a, b float32) float32 {
	return expSumTo(x, x, a, b)
}

// expSumTo is expSum writing dst[i] = exp(a·src[i] + b) (dst at least as
// long as src; it may be src itself, but must not otherwise overlap it).
func expSumTo(dst, src []float32, a, b float32) float32 {
	if v := vec(); v != nil {
		return v.expSum(dst, src, a, b)
	}
	return expSumGo(dst, src, a, b)
}

// maxOf returns the largest element of x (-Inf for an empty x).
func maxOf(x []float32) float32 {
	if v := vec(); v != nil {
		return v.maxOf(x)
	}
	return maxOfGo(x)
}

// scaleTo multiplies x in place by a.
func scaleTo(x []float32, a float32) {
	if v := vec(); v != nil {
		v.scale(x, a)
		return
	}
	scaleToGo(x, a)
}

// softmaxGrad sets ds[i] = p[i]·(dp[i] − dsum)·scale, the gradient of the
// softmax input given probabilities p, their gradient dp and dsum = Σ p·dp.
// p and dp must be at least as long as ds.
func softmaxGrad(ds, p, dp []float32, dsum, scale float32) {
	if v := vec(); v != nil {
		v.softmaxGrad(ds, p, dp, dsum, scale)
		return
	}
	softmaxGradGo(ds, p, dp, dsum, scale)
}

// expSumGo is the pure-Go expSumTo: four partial sums.
func expSumGo(dst, x []float32, a, b float32) float32 {
	dst = dst[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		e0 := exp32(a*x[i] + b)
		e1 := exp32(a*x[i+1] + b)
		e2 := exp32(a*x[i+2] + b)
		e3 := exp32(a*x[i+3] + b)
		dst[i], dst[i+1], dst[i+2], dst[i+3] = e0, e1, e2, e3
		s0 += e0
		s1 += e1
		s2 += e2
		s3 += e3
	}
	for ; i < len(x); i++ {
		e := exp32(a*x[i] + b)
		dst[i] = e
		s0 += e
	}
	return (s0 + s1) + (s2 + s3)
}

// maxOfGo is the pure-Go maxOf.
func maxOfGo(x []float32) float32 {
	m := float32(math.Inf(-1))
	for _, v := range x {
		if v > m {
			m = v
		}
	}
	return m
}

// scaleToGo is the pure-Go scaleTo.
func scaleToGo(x []float32, a float32) {
	for i := range x {
		x[i] *= a
	}
}

// softmaxGradGo is the pure-Go softmaxGrad.
func softmaxGradGo(ds, p, dp []float32, dsum, scale float32) {
	p = p[:len(ds)]
	dp = dp[:len(ds)]
	for i := range ds {
		ds[i] = p[i] * (dp[i] - dsum) * scale
	}
}

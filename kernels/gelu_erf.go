package kernels

import "math"

// FLOPs per element of GELU's exact (erf) form, as written below.
const (
	FlopsGELUErfFwd = 5  // x/√2, erf, 1+, ·x, ·0.5
	FlopsGELUErfBwd = 12 // x/√2, erf, 1+, ·0.5; x², ·(-0.5), exp, ·1/√(2π); x·pdf, cdf+, ·dout, accumulate
)

const (
	invSqrt2   = 0.7071067811865476 // 1/√2
	invSqrt2Pi = 0.3989422804014327 // 1/√(2π)
)

// GELUErfForwardFor applies GELU in its exact form, out = x·Φ(x) =
// 0.5·x·(1 + erf(x/√2)) (BERT's "gelu"), recording FLOPs under comp.
func GELUErfForwardFor(cnt *Counter, comp Component, out, inp []float32) {
	out = out[:len(inp)]
	RunFunc(&geluJobs, len(inp), int64(len(inp))*20, geluArgs{out: out, inp: inp}, func(a *geluArgs, lo, hi int) {
		out, inp := a.out, a.inp
		for i := lo; i < hi; i++ {
			x := float64(inp[i])
			out[i] = float32(0.5 * x * (1 + math.Erf(x*invSqrt2)))
		}
	})
	cnt.Add(Forward, comp, int64(len(inp))*FlopsGELUErfFwd)
}

// GELUErfBackwardFor accumulates dinp += (Φ(x) + x·φ(x)) · dout, the
// derivative of the exact GELU, recording FLOPs under comp.
func GELUErfBackwardFor(cnt *Counter, comp Component, dinp, inp, dout []float32) {
	dinp = dinp[:len(inp)]
	dout = dout[:len(inp)]
	RunFunc(&geluJobs, len(inp), int64(len(inp))*30, geluArgs{out: dinp, inp: inp, dout: dout}, func(a *geluArgs, lo, hi int) {
		dinp, inp, dout := a.out, a.inp, a.dout
		for i := lo; i < hi; i++ {
			x := float64(inp[i])
			cdf := 0.5 * (1 + math.Erf(x*invSqrt2))
			pdf := math.Exp(-0.5*x*x) * invSqrt2Pi
			dinp[i] += float32(cdf+x*pdf) * dout[i]
		}
	})
	cnt.Add(Backward, comp, int64(len(inp))*FlopsGELUErfBwd)
}

package kernels

import "math"

// RMSNorm (Zhang & Sennrich, 2019), as Llama, Mistral, Qwen2 and Gemma use
// it: out = x·rstd·g with rstd = 1/√(mean(x²) + eps) and the gain g = w, or
// g = 1 + w with an offset of 1 (Gemma). There is no mean and no shift.

// Per-element FLOPs of RMSNorm, as written below.
const (
	FlopsRMSNormFwd = 4  // x², the sum; x·rstd, ·gain
	FlopsRMSNormBwd = 10 // dy·gain, x·rstd, dw += dy·x̂ (2), Σ g·x̂ (2), dx += rstd·(g − x̂·s) (4)
	// FlopsNormOffset is the add of a gain 1 + w, per element and pass.
	FlopsNormOffset = 1
)

// RMSNormForward normalises each of the n rows of inp[n×d] into out with the
// gain w + off (off is 0, or 1 for Gemma's 1 + w) and stores each row's
// rstd = 1/√(mean(x²) + eps) for the backward pass. FLOPs go to the
// LayerNorm component (every norm of the model).
func RMSNormForward(cnt *Counter, out, rstd, inp, w []float32, n, d int, eps, off float32) {
	w = w[:d]
	_ = out[n*d-1]
	_ = inp[n*d-1]
	_ = rstd[n-1]
	RunFunc(&rmsNormJobs, n, int64(n)*int64(d)*4, rmsNormArgs{out: out, rstd: rstd, inp: inp, w: w, d: d, eps: eps, off: off}, func(a *rmsNormArgs, lo, hi int) {
		for r := lo; r < hi; r++ {
			a.rstd[r] = rmsNormRow(a.out[r*a.d:r*a.d+a.d], a.inp[r*a.d:r*a.d+a.d], a.w, a.eps, a.off)
		}
	})
	cnt.Add(Forward, LayerNorm, int64(n)*int64(d)*rmsFlops(FlopsRMSNormFwd, off))
}

// rmsFlops is the per-element count with the gain's offset add.
func rmsFlops(base int64, off float32) int64 {
	if off != 0 {
		return base + FlopsNormOffset
	}
	return base
}

type rmsNormArgs struct {
	out, rstd, inp, w []float32
	d                 int
	eps, off          float32
}

var rmsNormJobs JobPool[FuncJob[rmsNormArgs]]

// rmsNormRow normalises one row and returns its rstd: the pure-Go kernel
// (the sum of squares accumulates in float64).
func rmsNormRow(out, x, w []float32, eps, off float32) float32 {
	out = out[:len(x)]
	w = w[:len(x)]
	var ss float64
	for _, v := range x {
		ss += float64(v) * float64(v)
	}
	rs := float32(1 / math.Sqrt(ss/float64(len(x))+float64(eps)))
	for i, v := range x {
		out[i] = v * rs * (w[i] + off)
	}
	return rs
}

// RMSNormBackward accumulates dinp and dw from dout given the forward input,
// the gain w (with its offset off) and the saved rstd. dw is summed over
// rows, so the rows run in order on one goroutine.
func RMSNormBackward(cnt *Counter, dinp, dw, dout, inp, w, rstd []float32, n, d int, off float32) {
	w = w[:d]
	dw = dw[:d]
	for r := 0; r < n; r++ {
		rmsNormBackwardRow(dinp[r*d:r*d+d], dw, dout[r*d:r*d+d], inp[r*d:r*d+d], w, rstd[r], off)
	}
	cnt.Add(Backward, LayerNorm, int64(n)*int64(d)*rmsFlops(FlopsRMSNormBwd, off))
}

// rmsNormBackwardRow: with x̂ = x·rstd and g = dy·(w + off), dw += dy·x̂ and
// dx += rstd·(g − x̂·mean(g·x̂)).
func rmsNormBackwardRow(dx, dw, dy, x, w []float32, rs, off float32) {
	n := len(x)
	dx, dw, dy, w = dx[:n], dw[:n], dy[:n], w[:n]
	var s float64
	for i, v := range x {
		xh := v * rs
		dw[i] += dy[i] * xh
		s += float64(dy[i]*(w[i]+off)) * float64(xh)
	}
	m := float32(s / float64(n))
	for i, v := range x {
		dx[i] += rs * (dy[i]*(w[i]+off) - v*rs*m)
	}
}

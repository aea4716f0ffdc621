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
	geluFwd:     geluFwdAsmAVX2,
	geluBwd:     geluBwdAsmAVX2,
	lnRow:       layerNormRowAsmAVX2,
	lnBwdRow:    layerNormBwdRowAsmAVX2,
	adamW:       adamWAsmAVX2,
}

// pickVec returns the vector kernels the CPU supports (nil: pure Go only).
func pickVec() *vecKernels {
	if hasAVX512() {
		return vecAVX512
	}
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

//go:noescape
func geluFwdAVX2(out, x *float32, n int)

//go:noescape
func geluBwdAVX2(dinp, x, dout *float32, n int)

//go:noescape
func layerNormRowAVX2(out, x, w, b *float32, n int, eps float32) (mean, rstd float32)

//go:noescape
func layerNormBwdRowAVX2(dx, dw, db, dout, x, w *float32, n int, mean, rstd float32)

//go:noescape
func adamWAVX2(p, grad, m, v *float32, n int, b1, omb1, b2, omb2, c1, c2, eps, lr, wd float32)

func geluFwdAsmAVX2(out, x []float32) {
	if len(x) == 0 {
		return
	}
	out = out[:len(x)]
	geluFwdAVX2(&out[0], &x[0], len(x))
}

func geluBwdAsmAVX2(dinp, x, dout []float32) {
	if len(x) == 0 {
		return
	}
	dinp = dinp[:len(x)]
	dout = dout[:len(x)]
	geluBwdAVX2(&dinp[0], &x[0], &dout[0], len(x))
}

func layerNormRowAsmAVX2(out, x, w, b []float32, eps float32) (mean, rstd float32) {
	if len(x) == 0 {
		return layerNormRowGo(out, x, w, b, eps)
	}
	n := len(x)
	out, w, b = out[:n], w[:n], b[:n]
	return layerNormRowAVX2(&out[0], &x[0], &w[0], &b[0], n, eps)
}

func layerNormBwdRowAsmAVX2(dx, dw, db, g, x, w []float32, mean, rstd float32) {
	n := len(x)
	if n == 0 {
		return
	}
	dx, dw, db, g, w = dx[:n], dw[:n], db[:n], g[:n], w[:n]
	layerNormBwdRowAVX2(&dx[0], &dw[0], &db[0], &g[0], &x[0], &w[0], n, mean, rstd)
}

func adamWAsmAVX2(p, g, m, v []float32, s AdamWStep) {
	n := len(p)
	if n == 0 {
		return
	}
	g, m, v = g[:n], m[:n], v[:n]
	g1, g2 := s.moments()
	adamWAVX2(&p[0], &g[0], &m[0], &v[0], n, s.Beta1, g1, s.Beta2, g2,
		float32(1/s.BiasCorr1), float32(1/s.BiasCorr2), s.Eps, s.LR, s.WeightDecay)
}

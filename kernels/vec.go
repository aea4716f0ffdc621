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
	geluFwd     func(out, x []float32)        // see geluForward
	geluBwd     func(dinp, x, dout []float32) // see geluBackward
	lnRow       func(out, x, w, b []float32, eps float32) (mean, rstd float32)
	lnBwdRow    func(dx, dw, db, g, x, w []float32, mean, rstd float32)
	adamW       func(p, g, m, v []float32, s AdamWStep)
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

// geluForward sets out[i] = GELU(x[i]) in its tanh form (see GELUForward);
// out must be at least as long as x. The assembly computes the same
// function as x·σ(2u) = x / (1 + e^(−2u)), u = √(2/π)·(x + 0.044715·x³).
func geluForward(out, x []float32) {
	if v := vec(); v != nil {
		v.geluFwd(out, x)
		return
	}
	geluForwardGo(out, x)
}

// geluBackward accumulates dinp[i] += GELU'(x[i])·dout[i] (tanh form);
// dinp and dout must be at least as long as x.
func geluBackward(dinp, x, dout []float32) {
	if v := vec(); v != nil {
		v.geluBwd(dinp, x, dout)
		return
	}
	geluBackwardGo(dinp, x, dout)
}

// layerNormRow normalises one row x into out = (x − mean)·rstd·w + b and
// returns the row's mean and rstd = 1/√(variance + eps). out, w and b must
// be at least as long as x.
func layerNormRow(out, x, w, b []float32, eps float32) (mean, rstd float32) {
	if v := vec(); v != nil {
		return v.lnRow(out, x, w, b, eps)
	}
	return layerNormRowGo(out, x, w, b, eps)
}

// layerNormBackwardRow accumulates one row's LayerNorm gradients given the
// output gradient g, the forward input x, the gain w and the row's saved
// mean and rstd: db += g, dw += n̂·g and dx += (w·g − mean(w·g) −
// n̂·mean(w·g·n̂))·rstd, with n̂ = (x − mean)·rstd. All slices must be at
// least as long as x.
func layerNormBackwardRow(dx, dw, db, g, x, w []float32, mean, rstd float32) {
	if v := vec(); v != nil {
		v.lnBwdRow(dx, dw, db, g, x, w, mean, rstd)
		return
	}
	layerNormBackwardRowGo(dx, dw, db, g, x, w, mean, rstd)
}

// AdamWStep holds the constants of one AdamW update (see AdamW).
type AdamWStep struct {
	LR, Beta1, Beta2, Eps float32
	WeightDecay           float32 // decoupled: the update subtracts LR·WeightDecay·p
	BiasCorr1, BiasCorr2  float64 // 1 − Beta1ᵗ and 1 − Beta2ᵗ at step t (1-based)
	// GradScale multiplies every gradient before use (gradient clipping
	// folded into the update, saving a pass over the gradients); 0 means 1.
	GradScale float32
}

// moments returns the factors of g and g² in the moment updates:
// (1−β1)·k and (1−β2)·k² for the gradient scale k.
func (s AdamWStep) moments() (g1, g2 float32) {
	k := s.GradScale
	if k == 0 {
		k = 1
	}
	return (1 - s.Beta1) * k, (1 - s.Beta2) * k * k
}

// AdamW applies one AdamW update in place to the parameters p, given their
// gradients g and first and second moments m and v (each at least as long
// as p): with g scaled by GradScale, m = β1·m + (1−β1)·g, v = β2·v + (1−β2)·g², and
// p −= LR·(m̂/(√v̂ + Eps) + WeightDecay·p) with m̂ = m/BiasCorr1 and
// v̂ = v/BiasCorr2. The update is element-wise, so callers may split p
// across goroutines. The assembly version computes in float32; the pure-Go
// one takes m̂/(√v̂ + Eps) in float64.
func AdamW(p, g, m, v []float32, s AdamWStep) {
	if k := vec(); k != nil {
		k.adamW(p, g, m, v, s)
		return
	}
	adamWGo(p, g, m, v, s)
}

// geluForwardGo is the pure-Go geluForward: tanh32 of the tanh form.
func geluForwardGo(out, x []float32) {
	out = out[:len(x)]
	for i, xi := range x {
		t := tanh32(geluC * (xi + geluA*xi*xi*xi))
		out[i] = 0.5 * xi * (1 + t)
	}
}

// geluBackwardGo is the pure-Go geluBackward.
func geluBackwardGo(dinp, x, dout []float32) {
	dinp = dinp[:len(x)]
	dout = dout[:len(x)]
	for i, xi := range x {
		x2 := xi * xi
		t := tanh32(geluC * (xi + geluA*x2*xi))
		sech2 := 1 - t*t
		dinner := geluC * (1 + 3*geluA*x2)
		g := 0.5 * (1 + t)
		if sech2 != 0 { // for huge |x|, x·dinner overflows while sech² is exactly 0
			g += 0.5 * xi * sech2 * dinner
		}
		dinp[i] += g * dout[i]
	}
}

// layerNormRowGo is the pure-Go layerNormRow: two passes for the statistics.
func layerNormRowGo(out, x, w, b []float32, eps float32) (mean, rstd float32) {
	d := len(x)
	out, w, b = out[:d], w[:d], b[:d]
	var s float32
	for _, v := range x {
		s += v
	}
	m := s / float32(d)
	var vs float32
	for _, v := range x {
		dv := v - m
		vs += dv * dv
	}
	rs := float32(1 / math.Sqrt(float64(vs/float32(d)+eps)))
	for j, v := range x {
		out[j] = (v-m)*rs*w[j] + b[j]
	}
	return m, rs
}

// layerNormBackwardRowGo is the pure-Go layerNormBackwardRow.
func layerNormBackwardRowGo(dx, dw, db, g, x, w []float32, m, rs float32) {
	d := len(x)
	dx, dw, db, g, w = dx[:d], dw[:d], db[:d], g[:d], w[:d]
	var sg, sgn float32
	for j, v := range x {
		nv := (v - m) * rs
		dn := w[j] * g[j]
		sg += dn
		sgn += dn * nv
	}
	sg /= float32(d)
	sgn /= float32(d)
	for j, v := range x {
		nv := (v - m) * rs
		dn := w[j] * g[j]
		db[j] += g[j]
		dw[j] += nv * g[j]
		dx[j] += (dn - sg - nv*sgn) * rs
	}
}

// adamWGo is the pure-Go AdamW.
func adamWGo(p, g, m, v []float32, s AdamWStep) {
	g, m, v = g[:len(p)], m[:len(p)], v[:len(p)]
	b1, b2, lr, wd, eps := s.Beta1, s.Beta2, s.LR, s.WeightDecay, float64(s.Eps)
	g1, g2 := s.moments()
	for i := range p {
		m[i] = b1*m[i] + g1*g[i]
		v[i] = b2*v[i] + g2*g[i]*g[i]
		mh := float64(m[i]) / s.BiasCorr1
		vh := float64(v[i]) / s.BiasCorr2
		p[i] -= lr * (float32(mh/(math.Sqrt(vh)+eps)) + wd*p[i])
	}
}

// SumSquares returns Σ x², accumulated in float32 (vectorised, see dot)
// over blocks of 4096 values and in float64 across blocks.
func SumSquares(x []float32) float64 {
	var s float64
	for len(x) > 0 {
		b := x[:min(len(x), 4096)]
		s += float64(dot(b, b))
		x = x[len(b):]
	}
	return s
}

package kernels

import "math"

// exp32 returns e^x in float32 arithmetic, with a relative error of a few
// float32 ulps: x = k·ln2 + r with |r| <= ln2/2, e^r by a degree-6
// polynomial, 2^k placed in the exponent bits. The polynomial is
// 1 + r + r²·(c2 + c3·r + … + c6·r⁴) with c2…c6 fitted (least squares with
// Lawson reweighting toward minimax) to e^r's relative error on
// |r| <= ln2/2, where it is 3e-9 (Taylor's is 1e-7), so float32 rounding
// dominates. The assembly exp (EXP8 in vec_amd64.s) uses the same one. It is about five times faster
// than going through float64 math.Exp, which matters in the attention
// softmax, the loss and GELU, where it runs once per element.
func exp32(x float32) float32 {
	const (
		log2e = 1.4426950408889634
		ln2hi = 0.693359375 // ln 2 split in two so k·ln2hi is exact
		ln2lo = -2.12194440e-4
	)
	switch {
	case x != x:
		return x // NaN
	case x > 88.37: // 2^k would need exponent 255 (e^88.37 ≈ 2.5e38, near MaxFloat32); saturate
		return float32(math.Inf(1))
	case x < -87.3:
		return 0 // below the smallest normal float32; flushing is harmless here
	}
	// k = round(x·log2 e), by truncating after adding ±0.5 (math.Floor is a
	// function call through float64 and cost more than the polynomial).
	kf := x * log2e
	if kf < 0 {
		kf -= 0.5
	} else {
		kf += 0.5
	}
	ki := int32(kf)
	k := float32(ki)
	r := x - k*ln2hi - k*ln2lo
	p := float32(expC6)
	p = p*r + expC5
	p = p*r + expC4
	p = p*r + expC3
	p = p*r + expC2
	p = p*r + 1
	p = p*r + 1
	return p * math.Float32frombits(uint32(ki+127)<<23)
}

// Coefficients of exp32's polynomial (float32 bits 0x3efffffe, 0x3e2aaa49,
// 0x3d2aac79, 0x3c091cea, 0x3ab51226 in vec_amd64.s).
const (
	expC2 = 0.49999994
	expC3 = 0.166665211
	expC4 = 0.041668389
	expC5 = 0.00836871006
	expC6 = 0.00138146128
)

// tanh32 returns tanh(u) in float32 with an absolute error below 2e-7 (so
// 1 + tanh(u), as GELU uses it, is accurate to float32 precision).
func tanh32(u float32) float32 {
	switch {
	case u > 9:
		return 1
	case u < -9:
		return -1
	case u != u:
		return u
	}
	e := exp32(2 * u)
	return (e - 1) / (e + 1)
}

//go:build amd64 && !purego

package kernels

// AVX-512F vector kernels in vec_avx512_amd64.s.

//go:noescape
func expSumAVX512(dst, src *float32, n int, a, b float32) float32

//go:noescape
func adamWAVX512(p, grad, m, v *float32, n int, b1, omb1, b2, omb2, c1, c2, eps, lr, wd float32)

//go:noescape
func geluFwdAVX512(out, x *float32, n int)

//go:noescape
func geluBwdAVX512(dinp, x, dout *float32, n int)

// vecAVX512 is the AVX2 set with the kernels that pay at 512 bits
// replaced: exp with sum (the attention softmax and the loss), about 1.6×
// the AVX2 one per element on a Sapphire/Emerald Rapids Xeon; GELU
// forward and backward and the AdamW update, bitwise the AVX2 results 16
// lanes at a time (1.8–1.9× per element from cache on a Zen 5; AdamW over a
// large model is bound by memory either way).
var vecAVX512 = func() *vecKernels {
	k := *vecAVX2
	k.expSum = expSumAsmAVX512
	k.geluFwd = geluFwdAsmAVX512
	k.geluBwd = geluBwdAsmAVX512
	k.adamW = adamWAsmAVX512
	return &k
}()

func geluFwdAsmAVX512(out, x []float32) {
	if len(x) == 0 {
		return
	}
	out = out[:len(x)]
	geluFwdAVX512(&out[0], &x[0], len(x))
}

func geluBwdAsmAVX512(dinp, x, dout []float32) {
	n := len(x)
	if n == 0 {
		return
	}
	dinp, dout = dinp[:n], dout[:n]
	geluBwdAVX512(&dinp[0], &x[0], &dout[0], n)
}

func expSumAsmAVX512(dst, src []float32, a, b float32) float32 {
	if len(src) == 0 {
		return 0
	}
	dst = dst[:len(src)]
	return expSumAVX512(&dst[0], &src[0], len(src), a, b)
}

func adamWAsmAVX512(p, g, m, v []float32, s AdamWStep) {
	n := len(p)
	if n == 0 {
		return
	}
	g, m, v = g[:n], m[:n], v[:n]
	g1, g2 := s.moments()
	adamWAVX512(&p[0], &g[0], &m[0], &v[0], n, s.Beta1, g1, s.Beta2, g2,
		float32(1/s.BiasCorr1), float32(1/s.BiasCorr2), s.Eps, s.LR, s.WeightDecay)
}

package kernels

import (
	"fmt"
	"math"
	"testing"
)

// expandKV builds the multi-head qkv [b×t×3·h·dh] of a grouped-query qkv
// [b×t×(h+2·kvh)·dh] by repeating each key/value head for its h/kvh query
// heads (what the fused kernel must never do, done here as the reference).
func expandKV(qkv []float32, b, t, h, kvh, dh int) []float32 {
	ld, d, g := (h+2*kvh)*dh, h*dh, h/kvh
	out := make([]float32, b*t*3*d)
	for r := 0; r < b*t; r++ {
		src, dst := qkv[r*ld:(r+1)*ld], out[r*3*d:(r+1)*3*d]
		copy(dst[:d], src[:d])
		for hd := 0; hd < h; hd++ {
			kh := hd / g
			copy(dst[d+hd*dh:d+hd*dh+dh], src[d+kh*dh:d+kh*dh+dh])
			copy(dst[2*d+hd*dh:2*d+hd*dh+dh], src[d+kvh*dh+kh*dh:d+kvh*dh+kh*dh+dh])
		}
	}
	return out
}

// foldKV sums an expanded qkv gradient back onto the grouped layout.
func foldKV(dqkv []float32, b, t, h, kvh, dh int) []float32 {
	ld, d, g := (h+2*kvh)*dh, h*dh, h/kvh
	out := make([]float32, b*t*ld)
	for r := 0; r < b*t; r++ {
		src, dst := dqkv[r*3*d:(r+1)*3*d], out[r*ld:(r+1)*ld]
		copy(dst[:d], src[:d])
		for hd := 0; hd < h; hd++ {
			kh := hd / g
			for c := 0; c < dh; c++ {
				dst[d+kh*dh+c] += src[d+hd*dh+c]
				dst[d+kvh*dh+kh*dh+c] += src[2*d+hd*dh+c]
			}
		}
	}
	return out
}

// TestAttentionGQA checks grouped-query and multi-query attention against
// the multi-head kernel (itself checked against float64 references) run on
// K and V repeated per query head: the same outputs and log-sum-exps, the
// same dQ, and dK, dV the sums over each group.
func TestAttentionGQA(t *testing.T) {
	attKernels(t, func(t *testing.T) {
		for _, c := range []struct{ b, t, h, kvh, dh int }{
			{2, 7, 4, 2, 8}, {1, 130, 4, 1, 16}, {2, 100, 6, 3, 12}, {1, 33, 2, 2, 6}, {1, 200, 8, 2, 4},
		} {
			for _, causal := range []bool{true, false} {
				t.Run(fmt.Sprintf("b%d_t%d_h%d_kv%d_dh%d_causal%v", c.b, c.t, c.h, c.kvh, c.dh, causal), func(t *testing.T) {
					rng := newRNG(uint64(c.t*100 + c.h))
					ld, d := (c.h+2*c.kvh)*c.dh, c.h*c.dh
					qkv := randVec(rng, c.b*c.t*ld, 1)
					dout := randVec(rng, c.b*c.t*d, 1)
					full := expandKV(qkv, c.b, c.t, c.h, c.kvh, c.dh)
					out, lse := make([]float32, c.b*c.t*d), make([]float32, c.b*c.h*c.t)
					wout, wlse := make([]float32, len(out)), make([]float32, len(lse))
					var cnt, wcnt Counter
					AttentionForwardGQA(&cnt, out, lse, qkv, c.b, c.t, c.h, c.kvh, c.dh, causal)
					AttentionForward(&wcnt, wout, wlse, full, c.b, c.t, d, c.h, causal)
					checkExact(t, "out", out, wout)
					checkExact(t, "lse", lse, wlse)
					dqkv, wd := make([]float32, len(qkv)), make([]float32, len(full))
					AttentionBackwardGQA(&cnt, dqkv, dout, qkv, out, lse, c.b, c.t, c.h, c.kvh, c.dh, causal)
					AttentionBackward(&wcnt, wd, dout, full, wout, wlse, c.b, c.t, d, c.h, causal)
					want := foldKV(wd, c.b, c.t, c.h, c.kvh, c.dh)
					w64 := to64(want)
					mx := maxAbs64(w64)
					checkTol(t, "dqkv", dqkv, w64, func(i int) float64 { return 4 * u32 * (math.Abs(w64[i]) + mx*1e-3) })
					for _, p := range []Pass{Forward, Backward} {
						for _, comp := range Components() {
							if cnt.Get(p, comp) != wcnt.Get(p, comp) {
								t.Errorf("FLOPs[%v][%v] = %d, multi-head %d", p, comp, cnt.Get(p, comp), wcnt.Get(p, comp))
							}
						}
					}
					// Decoding the last position from a cache of kv heads only.
					nk := c.t
					kc, vc := make([]float32, nk*c.kvh*c.dh), make([]float32, nk*c.kvh*c.dh)
					fk, fv := make([]float32, nk*d), make([]float32, nk*d)
					for j := 0; j < nk; j++ {
						r := (c.b-1)*c.t + j
						copy(kc[j*c.kvh*c.dh:], qkv[r*ld+d:r*ld+d+c.kvh*c.dh])
						copy(vc[j*c.kvh*c.dh:], qkv[r*ld+d+c.kvh*c.dh:r*ld+ld])
						copy(fk[j*d:], full[r*3*d+d:r*3*d+2*d])
						copy(fv[j*d:], full[r*3*d+2*d:r*3*d+3*d])
					}
					q := qkv[((c.b-1)*c.t+nk-1)*ld:][:d]
					got, wnt, sc := make([]float32, d), make([]float32, d), make([]float32, nk)
					AttentionDecodeGQA(nil, got, q, kc, vc, sc, nk, c.h, c.kvh, c.dh)
					AttentionDecode(nil, wnt, q, fk, fv, sc, nk, d, c.h)
					checkExact(t, "decode", got, wnt)
				})
			}
		}
	})
}

// TestRope checks the rotation against its definition in float64, the
// backward as the forward's adjoint (⟨R·x, y⟩ = ⟨x, Rᵀ·y⟩), the inverse,
// and the FLOP counts.
func TestRope(t *testing.T) {
	for _, sc := range []*RopeScaling{nil, {Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OrigContext: 16}} {
		const n, tt, heads, dh, off, ld, pos0 = 6, 3, 2, 8, 4, 24, 5
		freqs := RopeFreqs(dh, 500, sc)
		cos, sin := RopeTable(freqs, pos0+tt)
		rng := newRNG(3)
		x := randVec(rng, n*ld, 1)
		y := clone32(x)
		var cnt Counter
		RopeForward(&cnt, y, cos, sin, n, tt, pos0, ld, off, heads, dh)
		want := to64(x)
		for r := 0; r < n; r++ {
			p := float64(pos0 + r%tt)
			for h := 0; h < heads; h++ {
				o := r*ld + off + h*dh
				for i := 0; i < dh/2; i++ {
					s, c := math.Sincos(p * freqs[i])
					x1, x2 := float64(x[o+i]), float64(x[o+i+dh/2])
					want[o+i], want[o+i+dh/2] = x1*c-x2*s, x2*c+x1*s
				}
			}
		}
		checkTol(t, "rope", y, want, func(int) float64 { return 1e-6 })
		// Rᵀ undoes R (a rotation), and the untouched columns stay.
		z := clone32(y)
		RopeBackward(&cnt, z, cos, sin, n, tt, pos0, ld, off, heads, dh)
		checkTol(t, "rope⁻¹", z, to64(x), func(int) float64 { return 1e-6 })
		g := randVec(rng, n*ld, 1)
		gb := clone32(g)
		RopeBackward(nil, gb, cos, sin, n, tt, pos0, ld, off, heads, dh)
		var lhs, rhs float64
		for i := range g {
			lhs += float64(y[i]) * float64(g[i])
			rhs += float64(x[i]) * float64(gb[i])
		}
		if math.Abs(lhs-rhs) > 1e-5*math.Abs(lhs)+1e-5 {
			t.Errorf("adjoint: ⟨Rx, g⟩ = %g, ⟨x, Rᵀg⟩ = %g", lhs, rhs)
		}
		checkCounts(t, "rope", &cnt, map[countKey]int64{{Forward, Rope}: n * heads * dh * FlopsRopeFwd, {Backward, Rope}: n * heads * dh * FlopsRopeBwd})
	}
}

// TestRopeLlama3Freqs checks Llama 3's rescaling at its three bands.
func TestRopeLlama3Freqs(t *testing.T) {
	sc := &RopeScaling{Factor: 32, LowFreqFactor: 1, HighFreqFactor: 4, OrigContext: 8192}
	plain, got := RopeFreqs(64, 500000, nil), RopeFreqs(64, 500000, sc)
	for i, f := range plain {
		wave := 2 * math.Pi / f
		var want float64
		switch {
		case wave < 8192/4.0:
			want = f
		case wave > 8192:
			want = f / 32
		default:
			s := (8192/wave - 1) / 3
			want = (1-s)*f/32 + s*f
		}
		if math.Abs(got[i]-want) > 1e-15*want {
			t.Errorf("freq %d: %g, want %g", i, got[i], want)
		}
	}
	if got[0] != plain[0] || got[31] != plain[31]/32 {
		t.Errorf("the highest frequency must be kept and the lowest divided by 32: %g %g / %g %g", got[0], plain[0], got[31], plain[31])
	}
}

// gradCheck compares analytic gradients with central differences of a
// float64 function.
func gradCheck(t *testing.T, what string, got []float32, x []float64, f func() float64) {
	t.Helper()
	want := centralDiff(x, 1e-5, f)
	checkTol(t, what, got, want, func(i int) float64 { return 2e-4*math.Abs(want[i]) + 2e-4*maxAbs64(want) })
}

func TestRMSNorm(t *testing.T) {
	for _, off := range []float32{0, 1} {
		const n, d = 3, 10
		const eps = 1e-6
		rng := newRNG(5)
		x, w, g := randVec(rng, n*d, 1), randVec(rng, d, 0.5), randVec(rng, n*d, 1)
		out, rstd := make([]float32, n*d), make([]float32, n)
		var cnt Counter
		RMSNormForward(&cnt, out, rstd, x, w, n, d, eps, off)
		x64, w64 := to64(x), to64(w)
		ref := func() ([]float64, float64) {
			y := make([]float64, n*d)
			var loss float64
			for r := 0; r < n; r++ {
				var ss float64
				for j := 0; j < d; j++ {
					ss += x64[r*d+j] * x64[r*d+j]
				}
				rs := 1 / math.Sqrt(ss/d+eps)
				for j := 0; j < d; j++ {
					y[r*d+j] = x64[r*d+j] * rs * (w64[j] + float64(off))
					loss += y[r*d+j] * float64(g[r*d+j])
				}
			}
			return y, loss
		}
		want, _ := ref()
		checkTol(t, "rmsnorm", out, want, func(i int) float64 { return 1e-6 * (1 + math.Abs(want[i])) })
		dx, dw := make([]float32, n*d), make([]float32, d)
		RMSNormBackward(&cnt, dx, dw, g, x, w, rstd, n, d, off)
		loss := func() float64 { _, l := ref(); return l }
		gradCheck(t, "dx", dx, x64, loss)
		gradCheck(t, "dw", dw, w64, loss)
		k := int64(0)
		if off != 0 {
			k = FlopsNormOffset
		}
		checkCounts(t, "rmsnorm", &cnt, map[countKey]int64{{Forward, LayerNorm}: n * d * (FlopsRMSNormFwd + k), {Backward, LayerNorm}: n * d * (FlopsRMSNormBwd + k)})
	}
}

func TestGLU(t *testing.T) {
	const n = 40
	rng := newRNG(9)
	gate, up, dout := randVec(rng, n, 2), randVec(rng, n, 1), randVec(rng, n, 1)
	gate[0], gate[1] = 30, -30 // saturated tails
	for _, kind := range []string{"swiglu", "geglu_tanh", "geglu_erf"} {
		t.Run(kind, func(t *testing.T) {
			act := func(x float64) float64 { return x / (1 + math.Exp(-x)) }
			switch kind {
			case "geglu_tanh":
				act = func(x float64) float64 { return 0.5 * x * (1 + math.Tanh(geluC*(x+geluA*x*x*x))) }
			case "geglu_erf":
				act = func(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }
			}
			g64, u64 := to64(gate), to64(up)
			loss := func() float64 {
				var s float64
				for i := range g64 {
					s += act(g64[i]) * u64[i] * float64(dout[i])
				}
				return s
			}
			out := make([]float32, n)
			dg, du := make([]float32, n), make([]float32, n)
			var cnt Counter
			var fw, bw int64
			switch kind {
			case "swiglu":
				SwiGLUForward(&cnt, out, gate, up)
				SwiGLUBackward(&cnt, dg, du, gate, up, dout)
				fw, bw = FlopsSwiGLUFwd, FlopsSwiGLUBwd
			default:
				erf := kind == "geglu_erf"
				GeGLUForward(&cnt, out, gate, up, erf)
				GeGLUBackward(&cnt, dg, du, gate, up, dout, make([]float32, n), erf)
				fw, bw = GeGLUFlops(false, erf), GeGLUFlops(true, erf)
			}
			want := make([]float64, n)
			for i := range want {
				want[i] = act(g64[i]) * u64[i]
			}
			checkTol(t, "out", out, want, func(i int) float64 { return 2e-6 * (1 + math.Abs(want[i])) })
			gradCheck(t, "dgate", dg, g64, loss)
			gradCheck(t, "dup", du, u64, loss)
			checkCounts(t, kind, &cnt, map[countKey]int64{{Forward, GLU}: n * fw, {Backward, GLU}: n * bw})
		})
	}
}

func TestScaledEmbedding(t *testing.T) {
	const v, d, tt = 5, 4, 3
	rng := newRNG(2)
	wte, wpe := randVec(rng, v*d, 1), randVec(rng, tt*d, 1)
	tokens := []int32{1, 4, 0, 4, 2, 3}
	for _, withPos := range []bool{false, true} {
		for _, scale := range []float32{1, 2} {
			var pe []float32
			if withPos {
				pe = wpe
			}
			out := make([]float32, len(tokens)*d)
			var cnt Counter
			ScaledEmbeddingForward(&cnt, out, wte, pe, tokens, tt, d, 0, scale)
			dwte, dwpe := make([]float32, v*d), make([]float32, tt*d)
			g := randVec(rng, len(out), 1)
			var dpe []float32
			if withPos {
				dpe = dwpe
			}
			ScaledEmbeddingBackward(&cnt, dwte, dpe, g, tokens, tt, d, scale)
			wantTE := make([]float64, v*d)
			for r, tok := range tokens {
				for j := 0; j < d; j++ {
					w := float64(scale) * float64(wte[int(tok)*d+j])
					if withPos {
						w += float64(wpe[(r%tt)*d+j])
					}
					if math.Abs(float64(out[r*d+j])-w) > 1e-6 {
						t.Fatalf("pos %v scale %v: out[%d,%d] = %g, want %g", withPos, scale, r, j, out[r*d+j], w)
					}
					wantTE[int(tok)*d+j] += float64(scale) * float64(g[r*d+j])
				}
			}
			checkTol(t, "dwte", dwte, wantTE, func(int) float64 { return 1e-5 })
			n := int64(len(tokens) * d)
			checkCounts(t, "embedding", &cnt, map[countKey]int64{{Forward, Embedding}: n * ScaledEmbeddingFlops(false, withPos, scale), {Backward, Embedding}: n * ScaledEmbeddingFlops(true, withPos, scale)})
		}
	}
}

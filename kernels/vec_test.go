package kernels

import (
	"math"
	"testing"
)

// Tests of the element-wise vector kernels (vec.go, vec_amd64.s): each one
// on both paths (assembly where the CPU has it, and the pure-Go twin after
// SetAssembly(false)) against a float64 reference, the assembly directly
// against the Go twin, on lengths around the 8-float vector width, on
// unaligned sub-slices with guard values around them, and on special values.

// vecLens are the lengths the vector-kernel tests run: empty, below one
// vector, around multiples of 8 and 16, and long.
var vecLens = []int{0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 65, 1000}

// vecOffsets are the sub-slice starts tried (x[1:], x[3:] are not 32-byte
// aligned even when x is).
var vecOffsets = []int{0, 1, 3}

// guard fills the elements around buf[off:off+n] with a value no kernel
// writes, so checkGuard can tell whether a kernel stored past its slice.
const guardVal = -12345.5

// guarded returns a buffer of n+off+8 floats with x copied at off and
// guard values elsewhere, and the sub-slice holding x.
func guarded(x []float32, off int) (buf, sub []float32) {
	buf = filled(len(x)+off+8, guardVal)
	copy(buf[off:], x)
	return buf, buf[off : off+len(x) : off+len(x)]
}

// checkGuard fails if buf was written outside [off, off+n).
func checkGuard(t *testing.T, what string, buf []float32, off, n int) {
	t.Helper()
	for i, v := range buf {
		if (i < off || i >= off+n) && v != guardVal {
			t.Fatalf("%s: wrote buf[%d] = %g outside [%d, %d)", what, i, v, off, off+n)
		}
	}
}

// vecPaths runs f on the assembly vector kernels (when the CPU has them)
// and on the pure-Go ones.
func vecPaths(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	if bestVec != nil {
		t.Run("asm", func(t *testing.T) {
			withAssembly(t, true)
			if vec() != bestVec {
				t.Fatal("SetAssembly(true) did not select the assembly vector kernels")
			}
			f(t)
		})
	}
	t.Run("go", func(t *testing.T) {
		withAssembly(t, false)
		if vec() != nil {
			t.Fatal("SetAssembly(false) left the assembly vector kernels on")
		}
		f(t)
	})
}

// expTol is the relative tolerance of exp(a·v + b) against float64: the
// kernel's own error (a few ulps) plus the rounding of a·v + b, which
// carries over relative to |a·v| + |b|.
func expTol(a, v, b float32) float64 {
	return 4e-7 + 2*u32*(math.Abs(float64(a)*float64(v))+math.Abs(float64(b)))
}

func TestExpSumReference(t *testing.T) {
	vecPaths(t, func(t *testing.T) {
		r := newRNG(1)
		for _, n := range vecLens {
			x := randVec(r, n, 4)
			if n > 3 {
				x[2] = float32(math.Inf(-1)) // a masked score
				x[3] = -1e30
			}
			for _, off := range vecOffsets {
				// b > 0 makes lanes past a tail visible: exp(b) ≠ 0 would leak into the sum.
				for _, ab := range [][2]float32{{0.7, -1.5}, {1, 2.5}, {0.125, 0}} {
					a, b := ab[0], ab[1]
					buf, sub := guarded(x, off)
					s := expSum(sub, a, b)
					checkGuard(t, "expSum", buf, off, n)
					var ws float64
					for i, v := range x {
						w := math.Exp(float64(a)*float64(v) + float64(b))
						if math.IsInf(float64(v), -1) {
							w = 0
						}
						ws += w
						if d := math.Abs(float64(sub[i]) - w); !(d <= expTol(a, v, b)*w || w == 0 && d == 0) {
							t.Fatalf("n=%d off=%d: exp(%g·%g%+g) = %g, want %g", n, off, a, v, b, sub[i], w)
						}
					}
					if d := math.Abs(float64(s) - ws); !(d <= 1e-6*ws*math.Sqrt(float64(n)+1)) {
						t.Errorf("n=%d off=%d a=%g b=%g: sum %g, want %g", n, off, a, b, s, ws)
					}
				}
			}
		}
	})
}

// TestExpSumRange sweeps exp over its whole finite range (as TestExp32 does
// for exp32) and checks the special values.
func TestExpSumRange(t *testing.T) {
	vecPaths(t, func(t *testing.T) {
		var x []float32
		for v := -87.0; v < 88.3; v += 0.001 {
			x = append(x, float32(v))
		}
		want := make([]float64, len(x))
		for i, v := range x {
			want[i] = math.Exp(float64(v))
		}
		expSum(x, 1, 0)
		var worst float64
		for i, w := range want {
			worst = max(worst, math.Abs(float64(x[i])-w)/w)
		}
		if worst > 2e-7 { // measured: 0.8e-7 (asm), 1e-7 (Go)
			t.Errorf("max relative error %g", worst)
		}
		inf := float32(math.Inf(1))
		special := []struct{ in, want float32 }{
			{-inf, 0}, {-1e30, 0}, {-87.31, 0}, {-100, 0}, {0, 1},
			{88.38, inf}, {100, inf}, {1e30, inf}, {inf, inf},
		}
		for _, n := range []int{1, 9, 17} { // the special value in a tail and in full vectors
			for _, c := range special {
				v := filled(n, c.in)
				s := expSum(v, 1, 0)
				for i := range v {
					if v[i] != c.want {
						t.Errorf("n=%d: exp(%g) = %g, want %g", n, c.in, v[i], c.want)
						break
					}
				}
				if s != c.want*float32(n) {
					t.Errorf("n=%d: sum of exp(%g) = %g, want %g", n, c.in, s, c.want*float32(n))
				}
			}
			v := filled(n, nan32())
			if s := expSum(v, 1, 0); s == s || v[n-1] == v[n-1] {
				t.Errorf("n=%d: exp(NaN) = %g, sum %g; want NaN", n, v[n-1], s)
			}
		}
		// Just above the flush threshold the result is normal, not garbage.
		v := []float32{-87.29}
		expSum(v, 1, 0)
		if w := math.Exp(float64(float32(-87.29))); math.Abs(float64(v[0])-w) > 4e-7*w {
			t.Errorf("exp(-87.29) = %g, want %g", v[0], w)
		}
	})
}

func TestExpSumTo(t *testing.T) {
	vecPaths(t, func(t *testing.T) {
		r := newRNG(3)
		for _, n := range vecLens {
			src := randVec(r, n, 3)
			keep := clone32(src)
			buf, dst := guarded(make([]float32, n), 1)
			s := expSumTo(dst, src, 1, -0.5)
			checkGuard(t, "expSumTo", buf, 1, n)
			checkExact(t, "expSumTo src", src, keep)
			in := clone32(src)
			if s2 := expSum(in, 1, -0.5); s2 != s {
				t.Errorf("n=%d: expSumTo sum %g, expSum %g", n, s, s2)
			}
			checkExact(t, "expSumTo vs expSum", dst, in)
		}
	})
}

func TestMaxOfReference(t *testing.T) {
	vecPaths(t, func(t *testing.T) {
		if m := maxOf(nil); !math.IsInf(float64(m), -1) {
			t.Errorf("maxOf(nil) = %g, want -Inf", m)
		}
		r := newRNG(4)
		for _, n := range vecLens {
			for _, off := range vecOffsets {
				x := randVec(r, n+off, 1e6)[off:]
				for pos := range min(n, 20) { // the maximum in every lane of the head and the tail
					y := clone32(x)
					if pos < n/2 {
						y[pos] = 3e7
					} else {
						y[n-1-pos+n/2] = 3e7
					}
					if m := maxOf(y); m != 3e7 {
						t.Fatalf("n=%d off=%d pos=%d: maxOf = %g, want 3e7", n, off, pos, m)
					}
				}
				neg := make([]float32, n) // all negative: lanes past a tail must not give 0
				for i := range neg {
					neg[i] = -1 - float32(i%13)
				}
				if n > 0 {
					if m := maxOf(neg); m != -1 {
						t.Errorf("n=%d: maxOf(negatives) = %g, want -1", n, m)
					}
				}
				if m, w := maxOf(x), maxOfGo(x); m != w {
					t.Errorf("n=%d off=%d: maxOf = %g, want %g", n, off, m, w)
				}
			}
		}
		if m := maxOf([]float32{float32(math.Inf(-1)), -3, nan32(), -2}); m != -2 {
			t.Errorf("maxOf with NaN and -Inf = %g, want -2 (NaN skipped)", m)
		}
	})
}

func TestScaleToReference(t *testing.T) {
	vecPaths(t, func(t *testing.T) {
		r := newRNG(5)
		for _, n := range vecLens {
			x := randVec(r, n, 1e3)
			x = append(x, 3e38, -3e38, 1e-40)[:n] // large and denormal values where they fit
			for _, off := range vecOffsets {
				for _, a := range []float32{0.3, -7, 1e10} {
					buf, sub := guarded(x, off)
					scaleTo(sub, a)
					checkGuard(t, "scaleTo", buf, off, n)
					for i := range sub {
						if w := x[i] * a; sub[i] != w { // one rounding, so exact
							t.Fatalf("n=%d off=%d: %g·%g = %g, want %g", n, off, x[i], a, sub[i], w)
						}
					}
				}
			}
		}
	})
}

func TestSoftmaxGradReference(t *testing.T) {
	vecPaths(t, func(t *testing.T) {
		r := newRNG(6)
		for _, n := range vecLens {
			p, dp := randVec(r, n+3, 1), randVec(r, n+3, 1e4)
			for _, off := range vecOffsets {
				buf, ds := guarded(make([]float32, n), off)
				softmaxGrad(ds, p[off:], dp[off:], 0.25, 0.125)
				checkGuard(t, "softmaxGrad", buf, off, n)
				for i := range ds {
					pi, dpi := float64(p[off+i]), float64(dp[off+i])
					w := pi * (dpi - 0.25) * 0.125
					// dp − dsum and the product round once each.
					if tol := 2 * u32 * (math.Abs(pi) * (math.Abs(dpi) + 0.25) * 0.125); math.Abs(float64(ds[i])-w) > tol {
						t.Fatalf("n=%d off=%d: [%d] %g, want %g", n, off, i, ds[i], w)
					}
				}
			}
		}
	})
}

// TestVecAsmMatchesGo compares the assembly kernels with their Go twins
// directly: the same arithmetic for maxOf, scaleTo and softmaxGrad (so equal
// bits), and for exp a different rounding only (FMAs), so a few ulps.
func TestVecAsmMatchesGo(t *testing.T) {
	if bestVec == nil {
		t.Skip("no assembly vector kernels on this CPU")
	}
	k := bestVec
	r := newRNG(7)
	for _, n := range vecLens {
		x := randVec(r, n, 5)
		e1, e2 := make([]float32, n), make([]float32, n)
		s1, s2 := k.expSum(e1, x, 0.9, -2), expSumGo(e2, x, 0.9, -2)
		for i := range e1 {
			if d := math.Abs(float64(e1[i]) - float64(e2[i])); d > expTol(0.9, x[i], -2)*float64(e2[i]) {
				t.Fatalf("n=%d: exp asm %g, Go %g", n, e1[i], e2[i])
			}
		}
		if d := math.Abs(float64(s1 - s2)); d > 1e-6*float64(s2)*math.Sqrt(float64(n)+1) {
			t.Errorf("n=%d: expSum asm %g, Go %g", n, s1, s2)
		}
		if a, b := k.maxOf(x), maxOfGo(x); a != b {
			t.Errorf("n=%d: maxOf asm %g, Go %g", n, a, b)
		}
		y1, y2 := clone32(x), clone32(x)
		k.scale(y1, 1.7)
		scaleToGo(y2, 1.7)
		checkExact(t, "scale asm vs Go", y1, y2)
		p := randVec(r, n, 1)
		d1, d2 := make([]float32, n), make([]float32, n)
		k.softmaxGrad(d1, p, x, 0.3, 0.7)
		softmaxGradGo(d2, p, x, 0.3, 0.7)
		checkExact(t, "softmaxGrad asm vs Go", d1, d2)

		// GELU: the Go twin's tanh32 errs by up to 2e-7 absolute.
		g1, g2 := make([]float32, n), make([]float32, n)
		k.geluFwd(g1, x)
		geluForwardGo(g2, x)
		checkTol(t, "geluForward asm vs Go", g1, to64(g2), func(i int) float64 {
			return 1.5e-7*math.Abs(float64(x[i])) + 1e-6*math.Abs(float64(g2[i]))
		})
		dout := randVec(r, n, 1)
		for i := range g1 {
			g1[i], g2[i] = 0, 0
		}
		k.geluBwd(g1, x, dout)
		geluBackwardGo(g2, x, dout)
		checkTol(t, "geluBackward asm vs Go", g1, to64(g2), func(i int) float64 {
			ax := math.Abs(float64(x[i]))
			return math.Abs(float64(dout[i])) * (2e-7 + 5e-7*ax*(1+0.14*ax*ax) + 1e-6*math.Abs(float64(g2[i]/dout[i])))
		})
		if n == 0 {
			continue
		}
		// LayerNorm and AdamW: summation order and FMAs only.
		w, bias := randVec(r, n, 1), randVec(r, n, 1)
		m1, rs1 := k.lnRow(g1, x, w, bias, 1e-5)
		m2, rs2 := layerNormRowGo(g2, x, w, bias, 1e-5)
		if math.Abs(float64(m1-m2)) > 1e-6*(1+math.Abs(float64(m2))) || math.Abs(float64(rs1/rs2)-1) > 1e-5 {
			t.Errorf("n=%d: layerNormRow mean, rstd asm %g %g, Go %g %g", n, m1, rs1, m2, rs2)
		}
		checkTol(t, "layerNormRow asm vs Go", g1, to64(g2), func(i int) float64 {
			return 1e-5 * (1 + math.Abs(float64(g2[i])))
		})
		dx1, dw1, db1 := clone32(w), clone32(bias), clone32(x)
		dx2, dw2, db2 := clone32(w), clone32(bias), clone32(x)
		k.lnBwdRow(dx1, dw1, db1, dout, x, w, m2, rs2)
		layerNormBackwardRowGo(dx2, dw2, db2, dout, x, w, m2, rs2)
		tol := func(i int) float64 { return 1e-5 * (1 + math.Abs(float64(dx2[i]))) }
		checkTol(t, "layerNormBackwardRow dx asm vs Go", dx1, to64(dx2), tol)
		checkTol(t, "layerNormBackwardRow dw asm vs Go", dw1, to64(dw2), func(i int) float64 { return 1e-6 * (1 + math.Abs(float64(dw2[i]))) })
		checkExact(t, "layerNormBackwardRow db asm vs Go", db1, db2)
		st := AdamWStep{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01, BiasCorr1: 0.19, BiasCorr2: 0.002}
		p1, mm1, v1 := clone32(w), make([]float32, n), make([]float32, n)
		p2, mm2, v2 := clone32(w), make([]float32, n), make([]float32, n)
		k.adamW(p1, dout, mm1, v1, st)
		adamWGo(p2, dout, mm2, v2, st)
		checkTol(t, "AdamW p asm vs Go", p1, to64(p2), func(i int) float64 { return 1e-9 + 2*u32*math.Abs(float64(p2[i])) })
		checkTol(t, "AdamW m asm vs Go", mm1, to64(mm2), func(i int) float64 { return 2 * u32 * math.Abs(float64(mm2[i])) })
		checkTol(t, "AdamW v asm vs Go", v1, to64(v2), func(i int) float64 { return 4 * u32 * math.Abs(float64(v2[i])) })
	}
}

// geluRef64 returns, in float64, GELU(x) (tanh form), GELU'(x), the two
// terms of GELU' (a = ½(1+tanh u), b = ½·x·sech²u·u'), q = ½(1 − tanh u)
// and t = |2u|, through the sigmoid form x·σ(2u), which does not cancel in
// the negative tail. An error of δ·t in the float32 argument of e^(−2u)
// moves GELU by about δ·t·q·|GELU| and GELU' by δ·t·(a·q + |b|).
func geluRef64(x float64) (y, dy, a, b, q, t float64) {
	u := geluC * (x + geluA*x*x*x)
	t = min(math.Abs(2*u), 90)
	e := math.Exp(-2 * u)
	if math.IsInf(e, 1) {
		return x / e, 0, 0, 0, 1, t
	}
	s := 1 / (1 + e) // ½(1 + tanh u)
	q = e * s        // 1 − s
	a = s
	b = 2 * x * s * q * geluC * (1 + 3*geluA*x*x) // sech²u = 4s(1−s)
	return x * s, a + b, a, b, q, t
}

// vecGELUInputs returns n test inputs for GELU: normal values of scale 3 and,
// where they fit, values across the saturation points and huge ones.
func vecGELUInputs(r interface{ NormFloat64() float64 }, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * 3)
	}
	special := []float32{0, -0.75, 5.3, -5.3, 9.5, -9.5, 10.5, -10.5, 20, -20, 1e20, -1e20, 3e38, -3e38}
	for i, v := range special {
		if 2*i+1 < n {
			x[2*i+1] = v
		}
	}
	return x
}

func TestGELUForwardReference(t *testing.T) {
	vecPaths(t, func(t *testing.T) {
		asm := vec() != nil
		r := newRNG(8)
		for _, n := range vecLens {
			x := vecGELUInputs(r, n+3)
			for _, off := range vecOffsets {
				buf, out := guarded(make([]float32, n), off)
				geluForward(out, x[off:off+n])
				checkGuard(t, "geluForward", buf, off, n)
				want := make([]float64, n)
				tols := make([]float64, n)
				for i := range want {
					xi := float64(x[off+i])
					y, _, _, _, q, ta := geluRef64(xi)
					want[i] = y
					// The exponent's argument rounds (4u·t), and e^(−2u)
					// flushes to 0 below 1.2e-38 (an absolute floor).
					tols[i] = 4e-7*math.Abs(y) + 4*u32*ta*q*math.Abs(y) + 1e-36
					if !asm {
						tols[i] += 1.2e-7 * math.Abs(xi) // tanh32's absolute error, times x/2
					}
				}
				checkTol(t, "geluForward", out, want, func(i int) float64 { return tols[i] })
			}
		}
	})
}

func TestGELUBackwardReference(t *testing.T) {
	vecPaths(t, func(t *testing.T) {
		asm := vec() != nil
		r := newRNG(9)
		for _, n := range vecLens {
			x := vecGELUInputs(r, n+3)
			dout := randVec(r, n+3, 1)
			dinp0 := randVec(r, n+3, 1)
			for _, off := range vecOffsets {
				buf, dinp := guarded(dinp0[off:off+n], off)
				geluBackward(dinp, x[off:off+n], dout[off:off+n])
				checkGuard(t, "geluBackward", buf, off, n)
				want := make([]float64, n)
				tols := make([]float64, n)
				for i := range want {
					xi := float64(x[off+i])
					_, dy, a, b, q, ta := geluRef64(xi)
					want[i] = float64(dinp0[off+i]) + dy*float64(dout[off+i])
					ax := math.Abs(xi)
					// Below x = −9 the assembly returns 0 (|GELU'| < 3e-27).
					errg := 5e-7*(math.Abs(a)+math.Abs(b)) + 4*u32*ta*(a*q+math.Abs(b)) + 3e-27
					if !asm { // tanh32's absolute error through ½(1+t) and ½·x·(1−t²)·u'
						errg += 1e-7 + 2.5e-7*ax*geluC*(1+3*geluA*min(ax*ax, 1e4))
					}
					tols[i] = 2*u32*math.Abs(want[i]) + errg*math.Abs(float64(dout[off+i]))
				}
				checkTol(t, "geluBackward", dinp, want, func(i int) float64 { return tols[i] })
			}
		}
	})
}

// layerNormRef64 returns the float64 LayerNorm of x: output, mean, rstd.
func layerNormRef64(x, w, b []float32, eps float32) (out []float64, mean, rstd float64) {
	for _, v := range x {
		mean += float64(v)
	}
	mean /= float64(len(x))
	var vs float64
	for _, v := range x {
		vs += (float64(v) - mean) * (float64(v) - mean)
	}
	rstd = 1 / math.Sqrt(vs/float64(len(x))+float64(eps))
	out = make([]float64, len(x))
	for j, v := range x {
		out[j] = (float64(v)-mean)*rstd*float64(w[j]) + float64(b[j])
	}
	return out, mean, rstd
}

func TestLayerNormRowReference(t *testing.T) {
	vecPaths(t, func(t *testing.T) {
		r := newRNG(10)
		for _, n := range vecLens[1:] {
			for _, off := range vecOffsets {
				x := randVec(r, n+off, 2)
				for i := range x {
					x[i] += 5 // a mean well away from 0 tests the two-pass variance
				}
				x = x[off:]
				w, b := randVec(r, n+3, 1), randVec(r, n+3, 1)
				buf, out := guarded(make([]float32, n), off)
				m, rs := layerNormRow(out, x, w[off:], b[off:], 1e-5)
				checkGuard(t, "layerNormRow", buf, off, n)
				want, wm, wrs := layerNormRef64(x, w[off:off+n], b[off:off+n], 1e-5)
				if math.Abs(float64(m)-wm) > 4e-7*math.Abs(wm)*math.Sqrt(float64(n)) {
					t.Errorf("n=%d off=%d: mean %g, want %g", n, off, m, wm)
				}
				if math.Abs(float64(rs)-wrs) > 1e-6*wrs*math.Sqrt(float64(n)) {
					t.Errorf("n=%d off=%d: rstd %g, want %g", n, off, rs, wrs)
				}
				checkTol(t, "layerNormRow", out, want, func(i int) float64 {
					nv := math.Abs(want[i]-float64(b[off+i])) / math.Max(math.Abs(float64(w[off+i])), 1e-30)
					return (2e-6*math.Sqrt(float64(n))*(1+nv))*math.Abs(float64(w[off+i])) + 2*u32*math.Abs(float64(b[off+i]))
				})
			}
		}
		// A constant row: variance 0, the output is b.
		x := filled(11, 3)
		out := make([]float32, 11)
		if m, rs := layerNormRow(out, x, filled(11, 2), filled(11, 0.5), 1e-5); m != 3 || math.Abs(float64(rs)-1/math.Sqrt(1e-5)) > 1e-3 {
			t.Errorf("constant row: mean %g rstd %g", m, rs)
		}
		checkExact(t, "constant row", out, filled(11, 0.5))
	})
}

func TestLayerNormBackwardRowReference(t *testing.T) {
	vecPaths(t, func(t *testing.T) {
		r := newRNG(11)
		for _, n := range vecLens[1:] {
			for _, off := range vecOffsets {
				x := randVec(r, n+off, 2)[off:]
				w, g := randVec(r, n, 1), randVec(r, n, 1)
				m, rs := float32(0.1), float32(0.6)
				dx0, dw0, db0 := randVec(r, n, 1), randVec(r, n, 1), randVec(r, n, 1)
				bx, dx := guarded(dx0, off)
				bw, dw := guarded(dw0, off)
				bb, db := guarded(db0, off)
				layerNormBackwardRow(dx, dw, db, g, x, w, m, rs)
				checkGuard(t, "layerNormBackwardRow dx", bx, off, n)
				checkGuard(t, "layerNormBackwardRow dw", bw, off, n)
				checkGuard(t, "layerNormBackwardRow db", bb, off, n)
				var sg, sgn, scale float64
				nv := make([]float64, n)
				for j := range x {
					nv[j] = (float64(x[j]) - float64(m)) * float64(rs)
					dn := float64(w[j]) * float64(g[j])
					sg += dn
					sgn += dn * nv[j]
					scale = max(scale, math.Abs(dn)*(1+math.Abs(nv[j])))
				}
				sg /= float64(n)
				sgn /= float64(n)
				wx, ww, wb := make([]float64, n), make([]float64, n), make([]float64, n)
				for j := range x {
					dn := float64(w[j]) * float64(g[j])
					wb[j] = float64(db0[j]) + float64(g[j])
					ww[j] = float64(dw0[j]) + nv[j]*float64(g[j])
					wx[j] = float64(dx0[j]) + (dn-sg-nv[j]*sgn)*float64(rs)
				}
				tol := func(want []float64) func(int) float64 {
					return func(j int) float64 {
						return 2*u32*math.Abs(want[j]) + 1e-6*math.Sqrt(float64(n))*scale
					}
				}
				checkTol(t, "dx", dx, wx, tol(wx))
				checkTol(t, "dw", dw, ww, tol(ww))
				checkTol(t, "db", db, wb, func(j int) float64 { return u32 * math.Abs(wb[j]) })
			}
		}
	})
}

func TestAdamWReference(t *testing.T) {
	vecPaths(t, func(t *testing.T) {
		r := newRNG(12)
		s := AdamWStep{LR: 3e-3, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1,
			BiasCorr1: 1 - math.Pow(0.9, 3), BiasCorr2: 1 - math.Pow(0.95, 3)}
		for ci, n := range vecLens {
			// Every other length with the gradients scaled by 1/4 (a power
			// of two, so the reference rounds as the kernels do).
			k := 1.0
			s.GradScale = 0
			if ci%2 == 1 {
				k, s.GradScale = 0.25, 0.25
			}
			for _, off := range vecOffsets {
				p0, g := randVec(r, n, 1), randVec(r, n, 0.01)
				m0, v0 := randVec(r, n, 0.01), randVec(r, n, 1e-4)
				for i := range v0 {
					v0[i] = v0[i] * v0[i] // v ≥ 0
				}
				if n > 4 {
					g[1], m0[1], v0[1] = 0, 0, 0 // update 0/(0+eps)
					g[3] = 1e3
				}
				bp, p := guarded(p0, off)
				bm, m := guarded(m0, off)
				bv, v := guarded(v0, off)
				AdamW(p, g, m, v, s)
				checkGuard(t, "AdamW p", bp, off, n)
				checkGuard(t, "AdamW m", bm, off, n)
				checkGuard(t, "AdamW v", bv, off, n)
				wp, wm, wv := make([]float64, n), make([]float64, n), make([]float64, n)
				tp := make([]float64, n)
				for i := range wp {
					gi := k * float64(g[i])
					// β and 1−β as the kernels have them, in float32.
					wm[i] = float64(s.Beta1)*float64(m0[i]) + float64(1-s.Beta1)*gi
					wv[i] = float64(s.Beta2)*float64(v0[i]) + float64(1-s.Beta2)*gi*gi
					upd := (wm[i] / s.BiasCorr1) / (math.Sqrt(wv[i]/s.BiasCorr2) + 1e-8)
					wp[i] = float64(p0[i]) - 3e-3*(upd+0.1*float64(p0[i]))
					// m and v round on float32 inputs, as does the update
					// (relative to its size); p's own rounding is u·|p|.
					tp[i] = 2*u32*math.Abs(wp[i]) + 3e-3*(8*u32*math.Abs(upd)+4*u32*0.1*math.Abs(float64(p0[i])))
				}
				checkTol(t, "AdamW m", m, wm, func(i int) float64 {
					return 3 * u32 * (0.9*math.Abs(float64(m0[i])) + 0.1*k*math.Abs(float64(g[i])))
				})
				checkTol(t, "AdamW v", v, wv, func(i int) float64 { return 4 * u32 * wv[i] })
				checkTol(t, "AdamW p", p, wp, func(i int) float64 { return tp[i] })
			}
		}
	})
}

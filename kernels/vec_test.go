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
	}
}

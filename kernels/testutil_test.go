package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Shared helpers of the kernel tests: deterministic random data, float64
// conversions, tolerance checks, thread-count scoping and FLOP-count checks.

// u32 is the unit roundoff of float32 (half an ulp of 1).
const u32 = 0x1p-24

func newRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)) }

// randVec returns n normal values of standard deviation scale, rounded to float32.
func randVec(r *rand.Rand, n int, scale float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64() * scale)
	}
	return v
}

// filled returns n copies of x.
func filled(n int, x float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = x
	}
	return v
}

func nan32() float32 { return float32(math.NaN()) }

func clone32(x []float32) []float32 { return append([]float32(nil), x...) }

func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

func maxAbs64(x []float64) float64 {
	m := 0.0
	for _, v := range x {
		m = max(m, math.Abs(v))
	}
	return m
}

// withThreads sets the kernel thread count for the rest of the test and
// restores the previous one when the test ends.
func withThreads(tb testing.TB, n int) {
	tb.Helper()
	old := Threads()
	SetThreads(n)
	tb.Cleanup(func() { SetThreads(old) })
}

// checkTol compares got[i] with want[i] under the per-element tolerance
// tol(i), reporting at most a few mismatches (NaN never passes).
func checkTol(t *testing.T, what string, got []float32, want []float64, tol func(i int) float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len(got)=%d, len(want)=%d", what, len(got), len(want))
	}
	bad := 0
	for i := range got {
		diff := math.Abs(float64(got[i]) - want[i])
		lim := tol(i)
		if !(diff <= lim) {
			bad++
			if bad <= 5 {
				t.Errorf("%s[%d]: got %.9g, want %.9g (|diff| %.3g > tol %.3g)", what, i, got[i], want[i], diff, lim)
			}
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d of %d elements out of tolerance", what, bad, len(got))
	}
}

// checkExact requires bitwise equality.
func checkExact(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len(got)=%d, len(want)=%d", what, len(got), len(want))
	}
	bad := 0
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			bad++
			if bad <= 5 {
				t.Errorf("%s[%d]: got %.9g (%#08x), want %.9g (%#08x)", what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
			}
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d of %d elements differ", what, bad, len(got))
	}
}

// countKey names one cell of a Counter.
type countKey struct {
	p Pass
	c Component
}

// checkCounts requires every cell of cnt to equal want (absent cells: 0).
func checkCounts(t *testing.T, what string, cnt *Counter, want map[countKey]int64) {
	t.Helper()
	for _, p := range []Pass{Forward, Backward} {
		for _, c := range AllComponents() {
			if got, w := cnt.Get(p, c), want[countKey{p, c}]; got != w {
				t.Errorf("%s: FLOPs[%v][%v] = %d, want %d", what, p, c, got, w)
			}
		}
	}
}

// centralDiff returns the central finite-difference gradient of f with
// respect to every element of x (which it perturbs in place and restores).
// The step is h·max(1, |x_i|).
func centralDiff(x []float64, h float64, f func() float64) []float64 {
	g := make([]float64, len(x))
	for i := range x {
		g[i] = centralDiffAt(x, i, h, f)
	}
	return g
}

func centralDiffAt(x []float64, i int, h float64, f func() float64) float64 {
	x0 := x[i]
	step := h * max(1, math.Abs(x0))
	x[i] = x0 + step
	fp := f()
	x[i] = x0 - step
	fm := f()
	x[i] = x0
	return (fp - fm) / (2 * step)
}

// dotG returns Σ a⊙g.
func dotG(a []float64, g []float32) float64 {
	s := 0.0
	for i, v := range a {
		s += v * float64(g[i])
	}
	return s
}

func shapeName(dims ...int) string {
	s := ""
	for i, d := range dims {
		if i > 0 {
			s += "x"
		}
		s += fmt.Sprint(d)
	}
	return s
}

// checkAccum compares a gradient accumulated into a buffer that held init
// with init + want (want a float64 or finite-difference reference). The
// tolerance is rtol·|want| + atol·scale(i), plus the rounding of the final
// float32 add.
func checkAccum(t *testing.T, what string, got, init []float32, want []float64, scale func(i int) float64, rtol, atol float64) {
	t.Helper()
	total := make([]float64, len(want))
	for i := range want {
		total[i] = float64(init[i]) + want[i]
	}
	checkTol(t, what, got, total, func(i int) float64 {
		return rtol*math.Abs(want[i]) + atol*scale(i) + 2*u32*(math.Abs(float64(init[i]))+math.Abs(want[i])) + 1e-12
	})
}

// globalScale returns a scale function giving max|want| for every element.
func globalScale(want []float64) func(int) float64 {
	m := maxAbs64(want)
	return func(int) float64 { return m }
}

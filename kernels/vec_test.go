package kernels

import (
	"math"
	"testing"
)

// vecLens are the lengths the vector-kernel tests run: empty, below one
// vector, around multiples of 8 and 16, and long.
var vecLens = []int{0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 65, 1000}

func TestExpSumReference(t *testing.T) {
	r := newRNG(1)
	for _, n := range vecLens {
		x := randVec(r, n+3, 4)
		if n > 2 {
			x[2] = float32(math.Inf(-1))
			x[3] = -1e30
		}
		for _, off := range []int{0, 1, 3} {
			in := clone32(x[off : off+n])
			got := clone32(in)
			a, b := float32(0.7), float32(-1.5)
			s := expSum(got, a, b)
			var ws float64
			for i, v := range in {
				w := math.Exp(float64(a*v + b))
				ws += w
				if d := math.Abs(float64(got[i]) - w); d > 4e-7*w {
					t.Fatalf("n=%d off=%d: exp(%g·%g%+g) = %g, want %g", n, off, a, v, b, got[i], w)
				}
			}
			if d := math.Abs(float64(s) - ws); d > 1e-6*ws*math.Sqrt(float64(n)+1) {
				t.Errorf("n=%d off=%d: sum %g, want %g", n, off, s, ws)
			}
		}
	}
}

func TestMaxScaleSoftmaxGradReference(t *testing.T) {
	r := newRNG(2)
	for _, n := range vecLens {
		x := randVec(r, n, 3)
		want := math.Inf(-1)
		for _, v := range x {
			want = math.Max(want, float64(v))
		}
		if got := maxOf(x); float64(got) != want {
			t.Errorf("maxOf n=%d: %g, want %g", n, got, want)
		}
		y := clone32(x)
		scaleTo(y, 0.3)
		for i := range y {
			if y[i] != x[i]*0.3 {
				t.Fatalf("scaleTo n=%d: [%d] %g, want %g", n, i, y[i], x[i]*0.3)
			}
		}
		p, dp := randVec(r, n, 1), randVec(r, n, 1)
		ds := make([]float32, n)
		softmaxGrad(ds, p, dp, 0.25, 0.125)
		for i := range ds {
			w := float64(p[i]) * (float64(dp[i]) - 0.25) * 0.125
			if math.Abs(float64(ds[i])-w) > 2*u32*math.Abs(w)+1e-30 {
				t.Fatalf("softmaxGrad n=%d: [%d] %g, want %g", n, i, ds[i], w)
			}
		}
	}
}

package kernels

import (
	"fmt"
	"math"
	"testing"
)

func TestQuantizeInt8Rows(t *testing.T) {
	rows, cols := 5, 37
	w := randVec(newRNG(21), rows*cols, 2)
	clear(w[2*cols : 3*cols]) // a zero row
	w[4*cols+3] = -7          // the row's largest magnitude is negative
	q := make([]int8, rows*cols)
	s := make([]float32, rows)
	if err := QuantizeInt8Rows(q, s, w, rows, cols); err != nil {
		t.Fatal(err)
	}
	if s[2] != 0 {
		t.Errorf("zero row: scale %g", s[2])
	}
	if q[4*cols+3] != -127 || s[4] != 7.0/127 {
		t.Errorf("row 4: q %d, scale %g (want -127, 7/127)", q[4*cols+3], s[4])
	}
	for i, v := range w {
		r := i / cols
		if d := math.Abs(float64(v) - float64(s[r])*float64(q[i])); d > float64(s[r])/2*(1+1e-6) {
			t.Fatalf("w[%d] = %g: s·q = %g·%d, error %g > s/2", i, v, s[r], q[i], d)
		}
	}
	// Bad input: one error, nothing written.
	bad := clone32(w)
	bad[40] = float32(math.NaN())
	q2 := make([]int8, rows*cols)
	if err := QuantizeInt8Rows(q2, s, bad, rows, cols); err == nil {
		t.Error("NaN weight: no error")
	}
	bad[40] = float32(math.Inf(-1))
	if err := QuantizeInt8Rows(q2, s, bad, rows, cols); err == nil {
		t.Error("-Inf weight: no error")
	}
	for _, v := range q2 {
		if v != 0 {
			t.Fatal("QuantizeInt8Rows wrote values before failing")
		}
	}
	if err := QuantizeInt8Rows(q, s, w[:10], rows, cols); err == nil {
		t.Error("short w: no error")
	}
	if err := QuantizeInt8Rows(q, s, w, -1, cols); err == nil {
		t.Error("negative rows: no error")
	}
	if err := QuantizeInt8Rows(q, s, w, 1<<40, 1<<40); err == nil {
		t.Error("overflowing shape: no error")
	}
}

// int8Inputs returns a quantized matrix, its dequantized float32 form and x.
func int8Inputs(t testing.TB, seed uint64, rows, cols int) (q []int8, s, wf, x []float32) {
	r := newRNG(seed)
	w := randVec(r, rows*cols, 1)
	q, s = make([]int8, rows*cols), make([]float32, rows)
	if err := QuantizeInt8Rows(q, s, w, rows, cols); err != nil {
		t.Fatal(err)
	}
	wf = make([]float32, rows*cols)
	for i, v := range q {
		wf[i] = s[i/cols] * float32(v)
	}
	return q, s, wf, randVec(r, cols, 1)
}

func TestMatVecInt8(t *testing.T) {
	for _, asm := range []bool{true, false} {
		withAssembly(t, asm)
		for si, sh := range bf16Shapes {
			rows, cols := sh[0], sh[1]
			q, s, _, x := int8Inputs(t, uint64(si), rows, cols)
			y := filled(rows, nan32())
			MatVecInt8(nil, QKV, y, q, s, x, rows, cols)
			// s·Σq·x: the float32 sum's error plus one rounding of the scale.
			for i := 0; i < rows; i++ {
				var want, mag float64
				for j := 0; j < cols; j++ {
					p := float64(s[i]) * float64(q[i*cols+j]) * float64(x[j])
					want += p
					mag += math.Abs(p)
				}
				if d := math.Abs(float64(y[i]) - want); d > mmTol(cols+1, mag) {
					t.Fatalf("asm=%v %dx%d: y[%d] = %g, want %g", asm, rows, cols, i, y[i], want)
				}
			}
		}
	}
	y := []float32{1, 2}
	MatVecInt8(nil, QKV, y, nil, []float32{1, 1}, nil, 2, 0)
	if y[0] != 0 || y[1] != 0 {
		t.Errorf("cols 0: y = %v", y)
	}
}

func TestMatVecInt8Threads(t *testing.T) {
	rows, cols := 300, 257
	q, s, _, x := int8Inputs(t, 5, rows, cols)
	var first []float32
	for _, th := range []int{1, 2, 3, 8} {
		withThreads(t, th)
		y := make([]float32, rows)
		MatVecInt8(nil, QKV, y, q, s, x, rows, cols)
		if first != nil {
			checkExact(t, fmt.Sprintf("threads=%d", th), y, first)
		}
		first = y
	}
	var cnt Counter
	y0 := make([]float32, rows)
	MatVecInt8(&cnt, FFNUp, y0, q, s, x, rows, cols)
	if got, want := cnt.Get(Forward, FFNUp), 2*int64(rows)*int64(cols); got != want || cnt.Total(Backward) != 0 {
		t.Errorf("counted %d forward FLOPs under FFNUp, want %d", got, want)
	}
	if raceEnabled {
		return
	}
	y := make([]float32, rows)
	if a := testing.AllocsPerRun(20, func() { MatVecInt8(nil, QKV, y, q, s, x, rows, cols) }); a != 0 {
		t.Errorf("%.1f allocations per call", a)
	}
}

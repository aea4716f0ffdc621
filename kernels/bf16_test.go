package kernels

import (
	"fmt"
	"math"
	"testing"
)

// bf16Nearest is an independent reference for ToBF16: of the two bf16
// values around f (truncation and the next one away from zero), the nearer
// in float64, ties to the even mantissa (IEEE rounding: beyond the largest
// bf16 plus half an ulp, ±Inf).
func bf16Nearest(f float32) uint16 {
	b := math.Float32bits(f)
	lo := uint16(b >> 16)
	hi := lo + 1
	dlo := math.Abs(float64(f) - float64(math.Float32frombits(uint32(lo)<<16)))
	vhi := float64(math.Float32frombits(uint32(hi) << 16))
	if hi&0x7fff == 0x7f80 {
		vhi = math.Copysign(math.Ldexp(1, 128), float64(f)) // Inf stands for 2^128 when rounding
	}
	dhi := math.Abs(vhi - float64(f))
	switch {
	case b&0xffff == 0 || dlo < dhi:
		return lo
	case dhi < dlo:
		return hi
	case lo&1 == 0:
		return lo
	}
	return hi
}

func TestToBF16(t *testing.T) {
	r := newRNG(16)
	src := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 1.0 / 3, 65504, 3.3895314e38, math.MaxFloat32,
		-math.MaxFloat32, float32(math.Inf(1)), float32(math.Inf(-1)), 1e-40, -1e-45,
		math.Float32frombits(0x3f808000), // a tie with an even lower neighbour: stays 0x3f80
		math.Float32frombits(0x3f818000), // a tie with an odd lower neighbour: goes up to 0x3f82
	}
	for i := 0; i < 20000; i++ {
		src = append(src, math.Float32frombits(r.Uint32()))
	}
	got := make([]uint16, len(src))
	ToBF16(got, src)
	back := make([]float32, len(src))
	FromBF16(back, got)
	for i, f := range src {
		if f != f {
			if back[i] == back[i] {
				t.Fatalf("NaN %#x became %g", math.Float32bits(f), back[i])
			}
			continue
		}
		if want := bf16Nearest(f); got[i] != want {
			t.Fatalf("ToBF16(%g = %#x) = %#x, want %#x", f, math.Float32bits(f), got[i], want)
		}
	}
	if got[2] != 0x3f80 || got[13] != 0x3f80 || got[14] != 0x3f82 || got[7] != 0x7f80 {
		t.Errorf("known values: %#x %#x %#x %#x", got[2], got[13], got[14], got[7])
	}
}

// bf16Inputs returns a bf16 matrix (rows×cols, as widened float32 too) and x.
func bf16Inputs(seed uint64, rows, cols int) (w []uint16, wf, x []float32) {
	r := newRNG(seed)
	wf = randVec(r, rows*cols, 1)
	w = make([]uint16, len(wf))
	ToBF16(w, wf)
	FromBF16(wf, w)
	return w, wf, randVec(r, cols, 1)
}

// checkMatVecBF16 compares y with the float64 product of the widened
// weights (exact inputs, so only the float32 sums err).
func checkMatVecBF16(t *testing.T, name string, y, wf, x []float32, rows, cols int) {
	t.Helper()
	for i := 0; i < rows; i++ {
		var want, mag float64
		for j := 0; j < cols; j++ {
			p := float64(wf[i*cols+j]) * float64(x[j])
			want += p
			mag += math.Abs(p)
		}
		if d := math.Abs(float64(y[i]) - want); d > mmTol(cols, mag) {
			t.Fatalf("%s: y[%d] = %g, want %g (tolerance %g)", name, i, y[i], want, mmTol(cols, mag))
		}
	}
}

var bf16Shapes = [][2]int{{1, 1}, {3, 7}, {5, 8}, {2, 15}, {4, 16}, {3, 17}, {7, 31}, {2, 33}, {3, 63}, {5, 64}, {6, 65}, {9, 129}, {17, 769}}

func TestMatVecBF16(t *testing.T) {
	for _, asm := range []bool{true, false} {
		withAssembly(t, asm)
		for si, sh := range bf16Shapes {
			rows, cols := sh[0], sh[1]
			w, wf, x := bf16Inputs(uint64(si), rows, cols)
			y := filled(rows, nan32())
			MatVecBF16(nil, QKV, y, w, x, rows, cols)
			checkMatVecBF16(t, fmt.Sprintf("asm=%v %dx%d", asm, rows, cols), y, wf, x, rows, cols)
		}
	}
	// cols 0 clears y; rows 0 touches nothing.
	y := []float32{1, 2}
	MatVecBF16(nil, QKV, y, nil, nil, 2, 0)
	if y[0] != 0 || y[1] != 0 {
		t.Errorf("cols 0: y = %v", y)
	}
	MatVecBF16(nil, QKV, nil, nil, nil, 0, 5)
}

// TestMatVecBF16Threads: bitwise the same result for any thread count, and
// no allocation per call (the decode loop calls it once per token and
// weight matrix).
func TestMatVecBF16Threads(t *testing.T) {
	rows, cols := 300, 257
	w, wf, x := bf16Inputs(3, rows, cols)
	var first []float32
	for _, th := range []int{1, 2, 3, 8} {
		withThreads(t, th)
		y := make([]float32, rows)
		MatVecBF16(nil, QKV, y, w, x, rows, cols)
		if first == nil {
			first = y
			checkMatVecBF16(t, "threads", y, wf, x, rows, cols)
			continue
		}
		checkExact(t, fmt.Sprintf("threads=%d", th), y, first)
	}
	var cnt Counter
	y0 := make([]float32, rows)
	MatVecBF16(&cnt, FFNUp, y0, w, x, rows, cols)
	if got, want := cnt.Get(Forward, FFNUp), 2*int64(rows)*int64(cols); got != want || cnt.Total(Backward) != 0 {
		t.Errorf("counted %d forward FLOPs under FFNUp, want %d", got, want)
	}
	if raceEnabled {
		return
	}
	y := make([]float32, rows)
	if a := testing.AllocsPerRun(20, func() { MatVecBF16(nil, QKV, y, w, x, rows, cols) }); a != 0 {
		t.Errorf("%.1f allocations per call", a)
	}
}

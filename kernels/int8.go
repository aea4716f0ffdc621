package kernels

import (
	"fmt"
	"math"
)

// int8 weights for inference: each row of a weight matrix is stored as
// int8 values q with one float32 scale s, w ≈ s·q, s = max|w| / 127 over
// the row (symmetric, no zero point). Products widen q in registers and
// apply the scale once per row; activations and sums stay float32.

// QuantizeInt8Rows quantizes w[rows×cols] row by row into q (rows×cols) and
// scale (rows): q = round(w/s) (ties away from zero), s = max|w|/127, so
// |w − s·q| ≤ s/2. A row of zeros gets s = 0. It returns an error, writing
// nothing, if a weight is NaN or infinite.
func QuantizeInt8Rows(q []int8, scale, w []float32, rows, cols int) error {
	if rows < 0 || cols < 0 || (cols > 0 && rows > math.MaxInt/cols) {
		return fmt.Errorf("quantize: invalid shape %d×%d", rows, cols)
	}
	n := rows * cols
	if len(w) < n || len(q) < n || len(scale) < rows {
		return fmt.Errorf("quantize: %d×%d needs %d weights and values and %d scales, got %d, %d and %d", rows, cols, n, rows, len(w), len(q), len(scale))
	}
	for i, v := range w[:n] {
		if math.Float32bits(v)&0x7f800000 == 0x7f800000 { // Inf or NaN
			return fmt.Errorf("quantize: weight %d (row %d) is %v", i, i/max(cols, 1), v)
		}
	}
	// Rows are independent: split them across threads (the result does not
	// depend on how).
	RunFunc(&quantizeJobs, rows, int64(n)*4, quantizeArgs{q, scale, w, cols}, func(a *quantizeArgs, lo, hi int) {
		q, scale, w, cols := a.q, a.scale, a.w, a.cols
		for r := lo; r < hi; r++ {
			row := w[r*cols : (r+1)*cols]
			var m float32
			for _, v := range row {
				m = max(m, math.Float32frombits(math.Float32bits(v)&0x7fffffff))
			}
			s := m / 127
			scale[r] = s
			qr := q[r*cols : (r+1)*cols]
			if s == 0 {
				clear(qr)
				continue
			}
			ds := float64(s)
			for j, v := range row {
				x := math.Round(float64(v) / ds)
				qr[j] = int8(max(-127, min(127, x)))
			}
		}
	})
	return nil
}

// quantizeArgs are one QuantizeInt8Rows call's arguments.
type quantizeArgs struct {
	q        []int8
	scale, w []float32
	cols     int
}

var quantizeJobs JobPool[FuncJob[quantizeArgs]]

// MatVecInt8 computes y[rows] = W·x for an int8 matrix q[rows×cols] with
// per-row scales: y[i] = scale[i] · Σ_j q[i,j]·x[j], the sum one float32
// dot product in a fixed order that does not depend on the thread count.
// Rows are split across threads. It counts 2·rows·cols forward FLOPs under
// comp (the scaling is part of the product, as a matrix product's last add).
func MatVecInt8(cnt *Counter, comp Component, y []float32, q []int8, scale, x []float32, rows, cols int) {
	if rows == 0 {
		return
	}
	cnt.Add(Forward, comp, 2*int64(rows)*int64(cols))
	_ = y[rows-1]
	_ = scale[rows-1]
	if cols == 0 {
		clear(y[:rows])
		return
	}
	_ = q[rows*cols-1]
	_ = x[cols-1]
	RunPooled(&matVecInt8Jobs, rows, int64(rows)*int64(cols), matVecInt8Job{y: y, q: q, s: scale, x: x[:cols], cols: cols})
}

// matVecInt8Job is one MatVecInt8, split by rows.
type matVecInt8Job struct {
	y, s, x []float32
	q       []int8
	cols    int
}

var matVecInt8Jobs JobPool[matVecInt8Job]

func (j *matVecInt8Job) Range(lo, hi int) {
	dot := dotInt8Go
	if arch() != nil && bestDotInt8 != nil {
		dot = bestDotInt8
	}
	for i := lo; i < hi; i++ {
		j.y[i] = j.s[i] * dot(j.q[i*j.cols:(i+1)*j.cols], j.x)
	}
}

// dotInt8Go is the pure-Go Σ q[i]·x[i] (x at least as long as q): four
// float32 partial sums over i mod 4, added pairwise.
func dotInt8Go(q []int8, x []float32) float32 {
	x = x[:len(q)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(q); i += 4 {
		s0 += float32(q[i]) * x[i]
		s1 += float32(q[i+1]) * x[i+1]
		s2 += float32(q[i+2]) * x[i+2]
		s3 += float32(q[i+3]) * x[i+3]
	}
	for ; i < len(q); i++ {
		s0 += float32(q[i]) * x[i]
	}
	return (s0 + s1) + (s2 + s3)
}

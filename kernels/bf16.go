package kernels

import "math"

// bfloat16 weights for inference: a bf16 value is the upper 16 bits of a
// float32 (8 exponent bits, 7 mantissa bits), stored as uint16, which is how
// safetensors files keep "BF16" tensors. Products read the weights in that
// form and widen them in registers; activations and sums stay float32.

// ToBF16 rounds src to bfloat16 into dst (round to nearest, ties to even,
// as PyTorch's .to(torch.bfloat16) does; NaN stays NaN, values beyond the
// largest bf16 become ±Inf). dst must be at least as long as src.
func ToBF16(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	for i, f := range src {
		dst[i] = bf16Round(f)
	}
}

func bf16Round(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40 // a quiet NaN, sign kept
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// FromBF16 widens src into dst (exact). dst must be at least as long as src.
func FromBF16(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	for i, h := range src {
		dst[i] = math.Float32frombits(uint32(h) << 16)
	}
}

// MatVecBF16 computes y[rows] = W·x for a row-major bf16 matrix
// w[rows×cols] and x[cols]: each y[i] is one float32 dot product of the
// widened row with x, in a fixed order that does not depend on the thread
// count. Rows are split across threads. It counts 2·rows·cols forward FLOPs
// under comp (a matrix product, as LinearForward counts it).
func MatVecBF16(cnt *Counter, comp Component, y []float32, w []uint16, x []float32, rows, cols int) {
	if rows == 0 {
		return
	}
	cnt.Add(Forward, comp, 2*int64(rows)*int64(cols))
	_ = y[rows-1]
	if cols == 0 {
		clear(y[:rows])
		return
	}
	_ = w[rows*cols-1]
	_ = x[cols-1]
	RunPooled(&matVecBF16Jobs, rows, int64(rows)*int64(cols), matVecBF16Job{y: y, w: w, x: x[:cols], cols: cols})
}

// matVecBF16Job is one MatVecBF16, split by rows.
type matVecBF16Job struct {
	y    []float32
	w    []uint16
	x    []float32
	cols int
}

var matVecBF16Jobs JobPool[matVecBF16Job]

func (j *matVecBF16Job) Range(lo, hi int) {
	dot := dotBF16Go
	if arch() != nil && bestDotBF16 != nil {
		dot = bestDotBF16
	}
	for i := lo; i < hi; i++ {
		j.y[i] = dot(j.w[i*j.cols:(i+1)*j.cols], j.x)
	}
}

// dotBF16Go is the pure-Go dot product of a bf16 row with x (x at least as
// long as w): four float32 partial sums over i mod 4, added pairwise.
func dotBF16Go(w []uint16, x []float32) float32 {
	x = x[:len(w)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(w); i += 4 {
		s0 += math.Float32frombits(uint32(w[i])<<16) * x[i]
		s1 += math.Float32frombits(uint32(w[i+1])<<16) * x[i+1]
		s2 += math.Float32frombits(uint32(w[i+2])<<16) * x[i+2]
		s3 += math.Float32frombits(uint32(w[i+3])<<16) * x[i+3]
	}
	for ; i < len(w); i++ {
		s0 += math.Float32frombits(uint32(w[i])<<16) * x[i]
	}
	return (s0 + s1) + (s2 + s3)
}

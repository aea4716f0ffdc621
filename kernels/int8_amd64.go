//go:build amd64 && !purego

package kernels

// int8 dot products in int8_amd64.s.

//go:noescape
func dotInt8AVX2(q *int8, x *float32, n int) float32

//go:noescape
func dotInt8AVX512(q *int8, x *float32, n int) float32

// bestDotInt8 is the fastest int8 dot product the CPU supports (nil: Go).
var bestDotInt8 = pickDotInt8()

func pickDotInt8() func(q []int8, x []float32) float32 {
	switch {
	case hasAVX512():
		return dotInt8AsmAVX512
	case hasAVX2():
		return dotInt8AsmAVX2
	}
	return nil
}

func dotInt8AsmAVX2(q []int8, x []float32) float32 {
	if len(q) == 0 {
		return 0
	}
	x = x[:len(q)]
	return dotInt8AVX2(&q[0], &x[0], len(q))
}

func dotInt8AsmAVX512(q []int8, x []float32) float32 {
	if len(q) == 0 {
		return 0
	}
	x = x[:len(q)]
	return dotInt8AVX512(&q[0], &x[0], len(q))
}

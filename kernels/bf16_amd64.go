//go:build amd64 && !purego

package kernels

// bf16 dot products in bf16_amd64.s.

//go:noescape
func dotBF16AVX2(w *uint16, x *float32, n int) float32

//go:noescape
func dotBF16AVX512(w *uint16, x *float32, n int) float32

// bestDotBF16 is the fastest bf16 dot product the CPU supports (nil: Go).
var bestDotBF16 = pickDotBF16()

func pickDotBF16() func(w []uint16, x []float32) float32 {
	switch {
	case hasAVX512():
		return dotBF16AsmAVX512
	case hasAVX2():
		return dotBF16AsmAVX2
	}
	return nil
}

func dotBF16AsmAVX2(w []uint16, x []float32) float32 {
	if len(w) == 0 {
		return 0
	}
	x = x[:len(w)]
	return dotBF16AVX2(&w[0], &x[0], len(w))
}

func dotBF16AsmAVX512(w []uint16, x []float32) float32 {
	if len(w) == 0 {
		return 0
	}
	x = x[:len(w)]
	return dotBF16AVX512(&w[0], &x[0], len(w))
}

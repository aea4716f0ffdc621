//go:build !amd64 || purego

package kernels

// No assembly bf16 kernels on this architecture (or under purego).
var bestDotBF16 func(w []uint16, x []float32) float32

// No assembly int8 kernels either.
var bestDotInt8 func(q []int8, x []float32) float32

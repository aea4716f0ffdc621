//go:build !amd64 || purego

package kernels

// No assembly bf16 kernels on this architecture (or under purego).
var bestDotBF16 func(w []uint16, x []float32) float32

//go:build !amd64 || purego

package kernels

// No assembly vector kernels on this architecture (or under purego).
func pickVec() *vecKernels { return nil }

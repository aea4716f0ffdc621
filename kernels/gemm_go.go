package kernels

import "unsafe"

// goArch is the pure-Go micro-kernel set that the tiled attention runs on
// when no assembly kernel is in use (the GEMM itself has its own pure-Go
// kernels in matmul.go). Only kernel, mr and nr are used; the packers fall
// back to packTGo and packCopy.
var goArch = &gemmArch{name: "go", mr: 4, nr: 8, kernel: sgemm4x8Go}

// sgemm4x8Go is the gemmArch.kernel contract in Go: the 4×8 tile
// c (+)= a·b from a 4×k panel of packed A and a k×8 panel of packed B.
func sgemm4x8Go(k int, a, b, c *float32, ldc int, accum bool) {
	ap := unsafe.Slice(a, 4*k)
	bp := unsafe.Slice(b, 8*k)
	cs := unsafe.Slice(c, 3*ldc+8)
	var t [4][8]float32
	for p := 0; p < k; p++ {
		bv := (*[8]float32)(bp[p*8 : p*8+8])
		for i, ai := range ap[p*4 : p*4+4] {
			r := &t[i]
			for j, bj := range bv {
				r[j] += ai * bj
			}
		}
	}
	for i := range t {
		row := cs[i*ldc : i*ldc+8]
		if accum {
			for j, v := range t[i] {
				row[j] += v
			}
		} else {
			copy(row, t[i][:])
		}
	}
}

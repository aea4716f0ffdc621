//go:build amd64 && !purego

package kernels

import (
	"fmt"
	"math"
	"testing"
)

// TestNarrowDotVariants runs every compiled narrow-weight dot product the
// CPU supports (not only the one dispatch picks) against the pure-Go twin
// and a float64 reference, at lengths around each vector width and on
// slices starting at every offset within a 64-byte line.
func TestNarrowDotVariants(t *testing.T) {
	type variant struct {
		name string
		ok   bool
		bf16 func(w []uint16, x []float32) float32
		int8 func(q []int8, x []float32) float32
	}
	vs := []variant{
		{"avx2", hasAVX2(), dotBF16AsmAVX2, dotInt8AsmAVX2},
		{"avx512", hasAVX512(), dotBF16AsmAVX512, dotInt8AsmAVX512},
	}
	r := newRNG(77)
	const maxN = 200
	wf := randVec(r, maxN+64, 1)
	wh := make([]uint16, len(wf))
	ToBF16(wh, wf)
	FromBF16(wf, wh)
	q := make([]int8, len(wf))
	for i := range q {
		q[i] = int8(r.IntN(255) - 127)
	}
	x := randVec(r, maxN+64, 1)
	for _, v := range vs {
		if !v.ok {
			t.Logf("%s: not supported by this CPU, skipped", v.name)
			continue
		}
		for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, maxN} {
			for off := 0; off < 16; off += 3 {
				w, qq, xx := wh[off:off+n], q[off:off+n], x[(off*7)%16:][:n]
				var wantB, wantI, mag, magI float64
				for i := 0; i < n; i++ {
					wantB += float64(wf[off+i]) * float64(xx[i])
					mag += math.Abs(float64(wf[off+i]) * float64(xx[i]))
					wantI += float64(qq[i]) * float64(xx[i])
					magI += math.Abs(float64(qq[i]) * float64(xx[i]))
				}
				name := fmt.Sprintf("%s n=%d off=%d", v.name, n, off)
				if got := v.bf16(w, xx); math.Abs(float64(got)-wantB) > mmTol(n, mag) {
					t.Errorf("%s: bf16 dot %g, want %g", name, got, wantB)
				} else if g := dotBF16Go(w, xx); math.Abs(float64(got-g)) > 2*mmTol(n, mag) {
					t.Errorf("%s: bf16 dot %g, pure Go %g", name, got, g)
				}
				if got := v.int8(qq, xx); math.Abs(float64(got)-wantI) > mmTol(n, magI) {
					t.Errorf("%s: int8 dot %g, want %g", name, got, wantI)
				} else if g := dotInt8Go(qq, xx); math.Abs(float64(got-g)) > 2*mmTol(n, magI) {
					t.Errorf("%s: int8 dot %g, pure Go %g", name, got, g)
				}
			}
		}
	}
}

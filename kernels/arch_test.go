package kernels

import (
	"fmt"
	"testing"
)

// Tests that run the attention tiles and the GEMM on every assembly kernel
// set the CPU supports (not only the one dispatch picks), of the dispatch
// order, and of the GEMM on unaligned slices.

func TestAttentionEachArch(t *testing.T) {
	eachArch(t, func(t *testing.T, ar *gemmArch) {
		if flashArch() != ar {
			t.Fatalf("attention tiles run on %s, want %s", flashArch().name, ar.name)
		}
		t.Run("forward", testAttentionForward)
		t.Run("backward", testAttentionBackward)
		t.Run("threads", TestAttentionThreadsBitwise)
	})
}

// TestPickFrom: dispatch takes the first supported candidate, so a CPU
// without AVX-512F (or whose OS does not save the ZMM state) gets the
// next set, and one with none gets pure Go.
func TestPickFrom(t *testing.T) {
	a := &gemmArch{name: "wide"}
	b := &gemmArch{name: "narrow"}
	yes := func() bool { return true }
	no := func() bool { return false }
	for _, c := range []struct {
		cands []archCandidate
		want  *gemmArch
	}{
		{[]archCandidate{{a, yes, nil}, {b, yes, nil}}, a},
		{[]archCandidate{{a, no, nil}, {b, yes, nil}}, b},
		{[]archCandidate{{a, no, nil}, {b, no, nil}}, nil},
		{nil, nil},
	} {
		if got := pickFrom(c.cands); got != c.want {
			t.Errorf("pickFrom = %v, want %v", got, c.want)
		}
	}
	// On this CPU: the best supported candidate is the one in use.
	if got := pickFrom(archCandidates()); got != bestArch {
		t.Errorf("pickFrom(archCandidates()) = %v, bestArch = %v", got, bestArch)
	}
}

// TestGEMMUnaligned: operands and result at every float offset from a
// 64-byte boundary give bitwise the result of aligned ones.
func TestGEMMUnaligned(t *testing.T) {
	eachArch(t, func(t *testing.T, ar *gemmArch) {
		for _, gc := range []gemmCase{{kindNT, 29, 67, 41, true}, {kindNN, 31, 45, 19, true}, {kindTN, 16, 33, 70, true}} {
			a, b, c0 := gemmInputs(11, gc)
			want := clone32(c0)
			runArch(ar, gc.kind, want, a, b, gc.m, gc.n, gc.k, gc.acc)
			newGEMMRef(gc, a, b, c0).check(t, gc.String(), want)
			for off := 1; off < 16; off += 3 {
				ua := shifted(a, off)
				ub := shifted(b, (off*7)%16)
				uc := shifted(c0, (off*5)%16)
				runArch(ar, gc.kind, uc, ua, ub, gc.m, gc.n, gc.k, gc.acc)
				checkExact(t, fmt.Sprintf("%v/offset %d", gc, off), uc, want)
			}
		}
	})
}

// shifted returns a copy of x starting off floats past a 64-byte boundary.
func shifted(x []float32, off int) []float32 {
	buf := aligned(nil, len(x)+off)
	s := buf[off : off+len(x) : off+len(x)]
	copy(s, x)
	return s
}

//go:build !race

package model

import (
	"math/rand/v2"
	"testing"
)

// TestEncDecStepAllocatesNothing: after the first step of a shape, a
// forward and backward pass allocates nothing, whatever the target lengths.
func TestEncDecStepAllocatesNothing(t *testing.T) {
	c := edBase()
	m := testModel(t, c, 1)
	x := edBatch(rand.New(rand.NewPCG(1, 1)), c)
	step := func() {
		if _, err := m.ForwardSeq2Seq(x); err != nil {
			t.Fatal(err)
		}
		if err := m.Backward(); err != nil {
			t.Fatal(err)
		}
	}
	step()
	x.TgtLens[1] = 3
	if n := testing.AllocsPerRun(5, step); n != 0 {
		t.Errorf("%v allocations per step", n)
	}
	src, err := m.EncodeSource(x.Src[:5])
	if err != nil {
		t.Fatal(err)
	}
	dec, err := m.NewSeq2SeqDecoder(src)
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(5, func() {
		if _, err := dec.Step(2); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocations per decoding step", n)
	}
}

package kernels

import "testing"

func TestReLU(t *testing.T) {
	inp := []float32{-2, -0.5, 0, 0.25, 3}
	out := filled(len(inp), nan32())
	var cnt Counter
	ReLUForwardFor(&cnt, GELU, out, inp)
	checkExact(t, "relu", out, []float32{0, 0, 0, 0.25, 3})
	dinp := []float32{1, 1, 1, 1, 1}
	ReLUBackwardFor(&cnt, GELU, dinp, inp, []float32{10, 20, 30, 40, 50})
	checkExact(t, "relu backward", dinp, []float32{1, 1, 1, 41, 51})
	checkCounts(t, "relu", &cnt, map[countKey]int64{{Forward, GELU}: 5 * FlopsReLUFwd, {Backward, GELU}: 5 * FlopsReLUBwd})
}

package kernels

// ReLU's per-element FLOPs: forward the compare of max(0, x); backward the
// compare and the accumulate of dinp += (x > 0)·dout.
const (
	FlopsReLUFwd = 1
	FlopsReLUBwd = 2
)

// ReLUForwardFor computes out = max(0, inp) element-wise (the FFN
// activation of the Transformer of Vaswani et al.), its FLOPs recorded
// under comp.
func ReLUForwardFor(cnt *Counter, comp Component, out, inp []float32) {
	out = out[:len(inp)]
	for i, x := range inp {
		out[i] = max(x, 0)
	}
	cnt.Add(Forward, comp, int64(len(inp))*FlopsReLUFwd)
}

// ReLUBackwardFor accumulates dinp += dout where inp > 0 (the derivative at
// 0 taken as 0, as PyTorch does), its FLOPs recorded under comp.
func ReLUBackwardFor(cnt *Counter, comp Component, dinp, inp, dout []float32) {
	dinp = dinp[:len(inp)]
	dout = dout[:len(inp)]
	for i, x := range inp {
		if x > 0 {
			dinp[i] += dout[i]
		}
	}
	cnt.Add(Backward, comp, int64(len(inp))*FlopsReLUBwd)
}

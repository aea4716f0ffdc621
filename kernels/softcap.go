package kernels

// SoftcapForward caps x in place as c·tanh(x/c) (Gemma 2's final logit
// soft-capping), counting FlopsSoftcapFwd per value under Logits.
func SoftcapForward(cnt *Counter, x []float32, c float32) {
	capRow(x, nil, 1, c)
	cnt.Add(Forward, Logits, int64(len(x))*FlopsSoftcapFwd)
}

// SoftcapBackward takes the gradient dy of SoftcapForward's output y back
// to its input in place: dy·(1 − (y/c)²), counting FlopsLogitSoftcapBwd per
// value under Logits.
func SoftcapBackward(cnt *Counter, dy, y []float32, c float32) {
	_ = y[len(dy)-1]
	for i, v := range y[:len(dy)] {
		u := v / c
		dy[i] *= 1 - u*u
	}
	cnt.Add(Backward, Logits, int64(len(dy))*FlopsLogitSoftcapBwd)
}

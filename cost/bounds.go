package cost

import (
	"fmt"
	"math"
)

// countLimit is the largest bound CheckCountable accepts: half the int64 range,
// leaving room for sums of counts and for the bound's own rounding.
const countLimit = math.MaxInt64 / 2

// elemSlack bounds the FLOPs per element of any elementwise kernel
// (LayerNorm, GELU, softmax, loss: each a few to a few tens).
const elemSlack = 64

// CheckCountable reports an error unless every parameter, FLOP and byte
// count of s at the given sequence lengths and batch fits in an int64. It
// evaluates upper bounds of the counts in float64 (which cannot overflow),
// so it is safe to call on any numbers, before any int64 arithmetic.
func (s Spec) CheckCountable(seqs []int, batch int) error {
	if batch < 0 {
		return fmt.Errorf("batch must not be negative, got %d", batch)
	}
	for _, n := range seqs {
		if n < 0 {
			return fmt.Errorf("sequence length must not be negative, got %d", n)
		}
		if b := s.bound(n, batch); !(b < countLimit) {
			return fmt.Errorf("at sequence length %d and batch %d its counts (about %.3g) overflow 64-bit integers", n, batch, b)
		}
	}
	if b := s.bound(0, 0); !(b < countLimit) {
		return fmt.Errorf("its parameter count (about %.3g) overflows 64-bit integers", b)
	}
	return nil
}

// bound is an upper bound of the largest count the cost
// model computes for s at (seq, batch): parameters applied, the FLOPs of a
// training step and the bytes of its memory, naive attention included.
func (s Spec) bound(seq, batch int) float64 {
	c := s.Config
	d, f, K, L := float64(c.DModel), float64(c.DFF), float64(c.Vocab), float64(c.Layers)
	E, S, T, H := float64(s.E()), float64(c.MaxSeq), float64(s.TypeVocab), float64(c.Heads)
	n, B := float64(seq), float64(max(batch, 1))
	// Parameters, each counted once per use, with every optional tensor.
	layer := 4*d*d + 2*d*f + 3*f + 16*d // QKV, output, FFN (gated: one more d·f below), biases, norms
	layer += d * f
	params := (K+S+T)*E + E*d + 2*d + L*layer + 2*K*E + 2*E*d + 8*E + 2*K + d*d
	// FLOPs of a training step (forward + backward, ~3x the forward's
	// 2 per multiply-add), and its memory in bytes with the naive n² probabilities.
	N := B * n
	flops := 6*N*(L*layer+2*K*E+2*E*d+d*d) + 16*L*B*H*n*n*(d/H+4) + elemSlack*N*(L*(d+f+H)+K+E)
	mem := BytesPerValue * (4*params + N*(L*(8*d+2*f+4)+8*d+2*f+4*E+2*K+4) + L*B*H*n*(n+1))
	return math.Max(params, math.Max(flops, mem))
}

package train

import (
	"math"

	"github.com/tformer/tformer/kernels"

	"github.com/tformer/tformer/model"
)

// AdamW holds the optimizer's hyper-parameters and its two moment slabs,
// laid out like the model's parameters.
//
// Weight decay is decoupled (Loshchilov & Hutter) and applies to matrices
// only: the embeddings, the attention and FFN weight matrices and an untied
// output matrix decay; biases and LayerNorm gains and shifts do not. A tied
// embedding is one tensor, so it decays once per step, like any matrix — not
// twice for its two uses — while its gradient is the sum of both uses.
type AdamW struct {
	Beta1, Beta2, Eps, WeightDecay float32
	M, V                           []float32
	segs                           []segment // the slab cut into chunks, built on the first Step
	job                            adamWJob  // Step's work, kept here so that Step allocates nothing
	norm                           normJob   // GradNorm's work, likewise
	sums                           []float64 // GradNorm's per-segment sums of squares
	layout                         *model.Layout
}

// NewAdamW returns an optimizer with zero moments for m's parameters.
func NewAdamW(m *model.Model, beta1, beta2, eps, wd float32) *AdamW {
	return &AdamW{Beta1: beta1, Beta2: beta2, Eps: eps, WeightDecay: wd,
		M: make([]float32, len(m.Params)), V: make([]float32, len(m.Params)), layout: m.Layout}
}

// Step applies one update with learning rate lr; t is the 1-based step
// number used for bias correction. The update (kernels.AdamW, vectorised
// where the CPU allows) is element-wise, so it is split across the kernel
// threads (kernels.ParallelFor over segments) with results independent of
// the split. Step allocates nothing after the first call.
func (o *AdamW) Step(params, grads []float32, lr float32, t int) {
	o.step(params, grads, lr, t, 1)
}

// StepClipped is ClipGradNorm followed by Step, with the clipping folded
// into the update (the gradients are scaled as they are read, not in a
// pass of their own, and are left unscaled). It returns the gradient norm
// before clipping.
func (o *AdamW) StepClipped(params, grads []float32, lr float32, t int, maxNorm float32) float32 {
	norm := o.GradNorm(grads)
	o.step(params, grads, lr, t, clipScale(norm, maxNorm))
	return norm
}

func (o *AdamW) step(params, grads []float32, lr float32, t int, scale float32) {
	b1c := 1 - math.Pow(float64(o.Beta1), float64(t))
	b2c := 1 - math.Pow(float64(o.Beta2), float64(t))
	o.segments()
	o.job = adamWJob{o: o, params: params, grads: grads,
		step: kernels.AdamWStep{LR: lr, Beta1: o.Beta1, Beta2: o.Beta2, Eps: o.Eps, BiasCorr1: b1c, BiasCorr2: b2c, GradScale: scale}}
	kernels.ParallelFor(len(o.segs), int64(len(params)), &o.job)
	o.job = adamWJob{} // drop the references to the caller's slices
}

// segments cuts the parameters into the update's units (once).
func (o *AdamW) segments() {
	if o.segs != nil {
		return
	}
	const chunk = 1 << 16
	for _, ti := range o.layout.Tensors {
		for off := 0; off < ti.Size; off += chunk {
			o.segs = append(o.segs, segment{ti.Offset + off, min(chunk, ti.Size-off), ti.Decay})
		}
	}
	o.sums = make([]float64, len(o.segs))
}

// GradNorm returns the global L2 norm of grads (laid out as the optimizer's
// model), summed per segment across the kernel threads and then in order,
// so the result does not depend on the thread count.
func (o *AdamW) GradNorm(grads []float32) float32 {
	o.segments()
	o.norm = normJob{o: o, grads: grads}
	kernels.ParallelFor(len(o.segs), int64(len(grads)), &o.norm)
	o.norm = normJob{}
	var s float64
	for _, x := range o.sums {
		s += x
	}
	return float32(math.Sqrt(s))
}

// normJob sums the squares of segments' gradients into o.sums.
type normJob struct {
	o     *AdamW
	grads []float32
}

// Range sums segments [lo, hi).
func (j *normJob) Range(lo, hi int) {
	for i, sg := range j.o.segs[lo:hi] {
		j.o.sums[lo+i] = kernels.SumSquares(j.grads[sg.off : sg.off+sg.n])
	}
}

// clipScale is the factor that brings a gradient of the given norm down to
// maxNorm (1 when it is already within it, or maxNorm <= 0).
func clipScale(norm, maxNorm float32) float32 {
	if maxNorm > 0 && norm > maxNorm {
		return maxNorm / (norm + 1e-6)
	}
	return 1
}

// adamWJob is one Step's update as a kernels.RangeJob over segments. It
// lives in the AdamW value, so running it allocates nothing.
type adamWJob struct {
	o             *AdamW
	params, grads []float32
	step          kernels.AdamWStep // WeightDecay unset: per segment
}

// Range updates segments [lo, hi).
func (j *adamWJob) Range(lo, hi int) {
	o := j.o
	for _, sg := range o.segs[lo:hi] {
		st := j.step
		if sg.decay {
			st.WeightDecay = o.WeightDecay
		}
		end := sg.off + sg.n
		kernels.AdamW(j.params[sg.off:end], j.grads[sg.off:end], o.M[sg.off:end], o.V[sg.off:end], st)
	}
}

// segment is a contiguous run of parameters updated together.
type segment struct {
	off, n int
	decay  bool
}

// ClipGradNorm scales grads so their global L2 norm is at most maxNorm
// (no-op for maxNorm <= 0) and returns the norm before clipping.
func ClipGradNorm(grads []float32, maxNorm float32) float32 {
	norm := float32(math.Sqrt(kernels.SumSquares(grads)))
	if k := clipScale(norm, maxNorm); k != 1 {
		for i := range grads {
			grads[i] *= k
		}
	}
	return norm
}

// LR returns the learning rate at 0-based step s of total: linear warmup
// over warmup steps to peak, then cosine decay to minLR at the last step.
func LR(s, total, warmup int, peak, minLR float32) float32 {
	if s < warmup {
		return peak * float32(s+1) / float32(warmup)
	}
	if total <= warmup+1 {
		return peak
	}
	p := float64(s-warmup) / float64(total-warmup-1)
	if p > 1 {
		p = 1
	}
	return minLR + float32(0.5*(1+math.Cos(math.Pi*p)))*(peak-minLR)
}

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
	b1c := 1 - math.Pow(float64(o.Beta1), float64(t))
	b2c := 1 - math.Pow(float64(o.Beta2), float64(t))
	if o.segs == nil {
		const chunk = 1 << 16
		for _, ti := range o.layout.Tensors {
			for off := 0; off < ti.Size; off += chunk {
				o.segs = append(o.segs, segment{ti.Offset + off, min(chunk, ti.Size-off), ti.Decay})
			}
		}
	}
	o.job = adamWJob{o: o, params: params, grads: grads,
		step: kernels.AdamWStep{LR: lr, Beta1: o.Beta1, Beta2: o.Beta2, Eps: o.Eps, BiasCorr1: b1c, BiasCorr2: b2c}}
	kernels.ParallelFor(len(o.segs), int64(len(params)), &o.job)
	o.job = adamWJob{} // drop the references to the caller's slices
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
	var s float64
	for _, g := range grads {
		s += float64(g) * float64(g)
	}
	norm := float32(math.Sqrt(s))
	if maxNorm > 0 && norm > maxNorm {
		k := maxNorm / (norm + 1e-6)
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

package kernels

import "math"

// Gated linear units (Shazeer, 2020): the FFN's hidden vector is
// act(gate)·up, with act SiLU (SwiGLU: Llama, Mistral, Qwen2) or GELU
// (GeGLU: Gemma, whose GELU is the tanh form).

// Per-element FLOPs of the gated activations, as written below.
const (
	// SwiGLU forward: σ(g) = 1/(1 + e^−g) (negate, exp, add, divide), g·σ, ·u.
	FlopsSwiGLUFwd = 6
	// SwiGLU backward: σ (4), s = g·σ (1), du += s·dh (2), the derivative
	// σ·(1 + g·(1 − σ)) (4), dg += it·u·dh (3).
	FlopsSwiGLUBwd = 14
	// GeGLU forward: GELU (tanh form) then ·u.
	FlopsGeGLUFwd = FlopsGELUFwd + 1
	// GeGLU backward: GELU recomputed and du += GELU(g)·dh (+2), dh·u (1),
	// then GELU's backward into dg.
	FlopsGeGLUBwd = FlopsGELUFwd + 2 + 1 + FlopsGELUBwd
)

type gluArgs struct{ out, gate, up, dgate, dup, dout []float32 }

var gluJobs JobPool[FuncJob[gluArgs]]

func sigmoid32(x float32) float32 { return 1 / (1 + exp32(-x)) }

// SwiGLUForward sets out = SiLU(gate)·up element-wise, SiLU(g) = g·σ(g).
func SwiGLUForward(cnt *Counter, out, gate, up []float32) {
	n := len(gate)
	out, up = out[:n], up[:n]
	RunFunc(&gluJobs, n, int64(n)*8, gluArgs{out: out, gate: gate, up: up}, func(a *gluArgs, lo, hi int) {
		for i := lo; i < hi; i++ {
			g := a.gate[i]
			a.out[i] = g * sigmoid32(g) * a.up[i]
		}
	})
	cnt.Add(Forward, GLU, int64(n)*FlopsSwiGLUFwd)
}

// SwiGLUBackward accumulates dgate += dout·up·SiLU'(gate) and
// dup += dout·SiLU(gate).
func SwiGLUBackward(cnt *Counter, dgate, dup, gate, up, dout []float32) {
	n := len(gate)
	dgate, dup, up, dout = dgate[:n], dup[:n], up[:n], dout[:n]
	RunFunc(&gluJobs, n, int64(n)*16, gluArgs{gate: gate, up: up, dgate: dgate, dup: dup, dout: dout}, func(a *gluArgs, lo, hi int) {
		for i := lo; i < hi; i++ {
			g, dh := a.gate[i], a.dout[i]
			sg := sigmoid32(g)
			a.dup[i] += g * sg * dh
			a.dgate[i] += sg * (1 + g*(1-sg)) * a.up[i] * dh
		}
	})
	cnt.Add(Backward, GLU, int64(n)*FlopsSwiGLUBwd)
}

// GeGLUForward sets out = GELU(gate)·up (GELU's tanh form, or its exact erf
// form when erf is set; the FLOPs then follow FlopsGELUErf*).
func GeGLUForward(cnt *Counter, out, gate, up []float32, erf bool) {
	n := len(gate)
	out, up = out[:n], up[:n]
	RunFunc(&gluJobs, n, int64(n)*12, gluArgs{out: out, gate: gate, up: up}, func(a *gluArgs, lo, hi int) {
		if erf {
			for i := lo; i < hi; i++ {
				x := float64(a.gate[i])
				a.out[i] = float32(0.5*x*(1+math.Erf(x*invSqrt2))) * a.up[i]
			}
			return
		}
		geluForward(a.out[lo:hi], a.gate[lo:hi])
		for i := lo; i < hi; i++ {
			a.out[i] *= a.up[i]
		}
	})
	cnt.Add(Forward, GLU, int64(n)*GeGLUFlops(false, erf))
}

// GeGLUFlops is GeGLU's per-element FLOPs, forward or backward, for the tanh
// or the erf GELU.
func GeGLUFlops(backward, erf bool) int64 {
	fwd, bwd := int64(FlopsGELUFwd), int64(FlopsGELUBwd)
	if erf {
		fwd, bwd = FlopsGELUErfFwd, FlopsGELUErfBwd
	}
	if backward {
		return fwd + 2 + 1 + bwd
	}
	return fwd + 1
}

// GeGLUBackward accumulates dgate += GELU'(gate)·up·dout and
// dup += GELU(gate)·dout. scratch must hold len(gate) values.
func GeGLUBackward(cnt *Counter, dgate, dup, gate, up, dout, scratch []float32, erf bool) {
	n := len(gate)
	dgate, dup, up, dout, scratch = dgate[:n], dup[:n], up[:n], dout[:n], scratch[:n]
	RunFunc(&gluJobs, n, int64(n)*30, gluArgs{out: scratch, gate: gate, up: up, dgate: dgate, dup: dup, dout: dout}, func(a *gluArgs, lo, hi int) {
		g, s := a.gate[lo:hi], a.out[lo:hi]
		if erf {
			for i, x := range g {
				xf := float64(x)
				s[i] = float32(0.5 * xf * (1 + math.Erf(xf*invSqrt2)))
			}
		} else {
			geluForward(s, g)
		}
		for i := range s {
			a.dup[lo+i] += s[i] * a.dout[lo+i]
			s[i] = a.dout[lo+i] * a.up[lo+i]
		}
		if erf {
			for i, x := range g {
				xf := float64(x)
				cdf := 0.5 * (1 + math.Erf(xf*invSqrt2))
				pdf := math.Exp(-0.5*xf*xf) * invSqrt2Pi
				a.dgate[lo+i] += float32(cdf+xf*pdf) * s[i]
			}
			return
		}
		geluBackward(a.dgate[lo:hi], g, s)
	})
	cnt.Add(Backward, GLU, int64(n)*GeGLUFlops(true, erf))
}

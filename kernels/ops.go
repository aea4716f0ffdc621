package kernels

import "math"

// Per-element FLOP conventions of the non-matmul kernels (see the package
// comment). The cost model multiplies these by element counts.
const (
	FlopsEmbeddingFwd = 1 // token row + position row
	FlopsEmbeddingBwd = 2 // scatter-add into the token row and the position row
	// An encoder's embedding adds a token-type row too.
	FlopsEmbeddingTypesFwd = 2  // token row + position row + type row
	FlopsEmbeddingTypesBwd = 3  // scatter-add into the token, position and type rows
	FlopsLayerNormFwd      = 8  // mean 1, variance 3, normalise and affine 4
	FlopsLayerNormBwd      = 17 // two passes: reductions 6, then gradients 11
	FlopsGELUFwd           = 9  // tanh form
	FlopsGELUBwd           = 19 // recomputes tanh, then the derivative and the accumulate
	FlopsResidual          = 1  // the residual add fused into an output projection
	FlopsSoftmaxFwd        = 6  // cached decoding (AttentionDecode), per (query, key) pair: scale, max, subtract, exp, sum, normalise; the fused attention's are FlopsAttnSoftmax*
	FlopsLossFwd           = 5  // per logit: max, subtract, exp, sum, normalise
	FlopsLossBwd           = 1  // per logit: scale the probability (plus 1 per row for the target)
)

// LinearForward computes out[n×o] = inp[n×i] · w[o×i]ᵀ + bias, and then adds
// res[n×o] when res is not nil (a residual connection fused into the
// projection). bias may be nil. FLOPs: 2·n·i·o, plus n·o for the bias and
// n·o for the residual, recorded under comp in the forward pass.
func LinearForward(cnt *Counter, comp Component, out, inp, w, bias, res []float32, n, in, o int) {
	MatMulNT(out, inp, w, n, o, in, false)
	flops := 2 * int64(n) * int64(in) * int64(o)
	if bias != nil {
		// Adds as axpy with 1 (vectorised; the same sums as a loop).
		bias = bias[:o]
		for r := 0; r < n; r++ {
			axpy(out[r*o:r*o+o], 1, bias)
		}
		flops += int64(n) * int64(o)
	}
	if res != nil {
		axpy(out[:n*o], 1, res[:n*o])
		flops += int64(n) * int64(o) * FlopsResidual
	}
	cnt.Add(Forward, comp, flops)
}

// LinearBackward accumulates the gradients of a linear layer given dout[n×o]:
// dinp[n×i] += dout · w, dw[o×i] += doutᵀ · inp and dbias[o] += Σ dout.
// dinp and dbias may be nil. FLOPs: 2·n·i·o per matmul, n·o for the bias.
// (A fused residual needs no work backward: the caller's residual-stream
// gradient buffer is shared by both branches.)
func LinearBackward(cnt *Counter, comp Component, dinp, dw, dbias, dout, inp, w []float32, n, in, o int) {
	linearBackward(cnt, comp, dinp, dw, dbias, dout, inp, w, n, in, o, true)
}

// LinearBackwardTo is LinearBackward writing dinp = dout · w instead of
// adding to it (dw and dbias still accumulate), which saves clearing dinp
// first; dinp must not be nil.
func LinearBackwardTo(cnt *Counter, comp Component, dinp, dw, dbias, dout, inp, w []float32, n, in, o int) {
	linearBackward(cnt, comp, dinp, dw, dbias, dout, inp, w, n, in, o, false)
}

func linearBackward(cnt *Counter, comp Component, dinp, dw, dbias, dout, inp, w []float32, n, in, o int, acc bool) {
	var flops int64
	if dinp != nil {
		MatMulNNTo(dinp, dout, w, n, in, o, acc)
		flops += 2 * int64(n) * int64(in) * int64(o)
	}
	MatMulTN(dw, dout, inp, o, in, n)
	flops += 2 * int64(n) * int64(in) * int64(o)
	if dbias != nil {
		dbias = dbias[:o]
		for r := 0; r < n; r++ { // row by row, as a loop would sum
			axpy(dbias, 1, dout[r*o:r*o+o])
		}
		flops += int64(n) * int64(o)
	}
	cnt.Add(Backward, comp, flops)
}

// EmbeddingForward computes out[b,t,:] = wte[tokens[b,t]] + wpe[pos0+t] for
// n = len(tokens) positions laid out as rows of t positions each. Tokens must
// be in range (the caller validates them).
func EmbeddingForward(cnt *Counter, out, wte, wpe []float32, tokens []int32, t, d, pos0 int) {
	for r, tok := range tokens {
		o := out[r*d : r*d+d]
		e := wte[int(tok)*d : int(tok)*d+d]
		p := wpe[(pos0+r%t)*d : (pos0+r%t)*d+d]
		for j := range o {
			o[j] = e[j] + p[j]
		}
	}
	cnt.Add(Forward, Embedding, int64(len(tokens))*int64(d)*FlopsEmbeddingFwd)
}

// EmbeddingBackward scatters dout into the token rows of dwte and the
// position rows of dwpe (accumulating).
func EmbeddingBackward(cnt *Counter, dwte, dwpe, dout []float32, tokens []int32, t, d int) {
	for r, tok := range tokens {
		g := dout[r*d : r*d+d]
		e := dwte[int(tok)*d : int(tok)*d+d]
		p := dwpe[(r%t)*d : (r%t)*d+d]
		for j, v := range g {
			e[j] += v
			p[j] += v
		}
	}
	cnt.Add(Backward, Embedding, int64(len(tokens))*int64(d)*FlopsEmbeddingBwd)
}

// EmbeddingTypesForward computes an encoder's embedding sum out[r] =
// wte[tokens[r]] + wpe[r%t] + wtt[types[r]] over rows of width e. Tokens and
// types must be in range (the caller validates them).
func EmbeddingTypesForward(cnt *Counter, out, wte, wpe, wtt []float32, tokens, types []int32, t, e int) {
	for r, tok := range tokens {
		o := out[r*e : r*e+e]
		x := wte[int(tok)*e : int(tok)*e+e]
		p := wpe[(r%t)*e : (r%t)*e+e]
		y := wtt[int(types[r])*e : int(types[r])*e+e]
		for j := range o {
			o[j] = x[j] + p[j] + y[j]
		}
	}
	cnt.Add(Forward, Embedding, int64(len(tokens))*int64(e)*FlopsEmbeddingTypesFwd)
}

// EmbeddingTypesBackward scatters dout into the token, position and type
// rows of dwte, dwpe and dwtt (accumulating).
func EmbeddingTypesBackward(cnt *Counter, dwte, dwpe, dwtt, dout []float32, tokens, types []int32, t, e int) {
	for r, tok := range tokens {
		g := dout[r*e : r*e+e]
		x := dwte[int(tok)*e : int(tok)*e+e]
		p := dwpe[(r%t)*e : (r%t)*e+e]
		y := dwtt[int(types[r])*e : int(types[r])*e+e]
		for j, v := range g {
			x[j] += v
			p[j] += v
			y[j] += v
		}
	}
	cnt.Add(Backward, Embedding, int64(len(tokens))*int64(e)*FlopsEmbeddingTypesBwd)
}

// LayerNormEps is the epsilon added to the variance, as in GPT-2.
const LayerNormEps = 1e-5

// LayerNormForward normalises each of the n rows of inp[n×d] and applies the
// affine w, b; it stores each row's mean and reciprocal standard deviation
// for the backward pass. The epsilon is LayerNormEps.
func LayerNormForward(cnt *Counter, out, mean, rstd, inp, w, b []float32, n, d int) {
	LayerNormForwardEps(cnt, out, mean, rstd, inp, w, b, n, d, LayerNormEps)
}

// LayerNormForwardEps is LayerNormForward with epsilon eps (BERT and ALBERT
// use 1e-12). LayerNormBackward needs no epsilon: it uses the saved rstd.
func LayerNormForwardEps(cnt *Counter, out, mean, rstd, inp, w, b []float32, n, d int, eps float32) {
	w = w[:d]
	b = b[:d]
	RunFunc(&layerNormJobs, n, int64(n)*int64(d)*8, layerNormArgs{out, mean, rstd, inp, w, b, d, eps}, func(a *layerNormArgs, lo, hi int) {
		out, mean, rstd, inp, w, b, d, eps := a.out, a.mean, a.rstd, a.inp, a.w, a.b, a.d, a.eps
		for r := lo; r < hi; r++ {
			mean[r], rstd[r] = layerNormRow(out[r*d:r*d+d], inp[r*d:r*d+d], w, b, eps)
		}
	})
	cnt.Add(Forward, LayerNorm, int64(n)*int64(d)*FlopsLayerNormFwd)
}

// layerNormArgs are LayerNormForwardEps's arguments for its parallel rows.
type layerNormArgs struct {
	out, mean, rstd, inp, w, b []float32
	d                          int
	eps                        float32
}

var layerNormJobs JobPool[FuncJob[layerNormArgs]]

// LayerNormBackward accumulates dinp, dw and db from dout, given the forward
// input and the saved mean and rstd. dw and db are summed over rows, so rows
// are processed in order on one goroutine.
func LayerNormBackward(cnt *Counter, dinp, dw, db, dout, inp, w, mean, rstd []float32, n, d int) {
	w = w[:d]
	dw = dw[:d]
	db = db[:d]
	for r := 0; r < n; r++ {
		layerNormBackwardRow(dinp[r*d:r*d+d], dw, db, dout[r*d:r*d+d], inp[r*d:r*d+d], w, mean[r], rstd[r])
	}
	cnt.Add(Backward, LayerNorm, int64(n)*int64(d)*FlopsLayerNormBwd)
}

const (
	geluC = 0.7978845608028654 // sqrt(2/pi)
	geluA = 0.044715
)

// GELUForward applies GELU in its tanh form element-wise: out = 0.5·x·(1 +
// tanh(sqrt(2/π)·(x + 0.044715·x³))). Its FLOPs go to the GELU component.
func GELUForward(cnt *Counter, out, inp []float32) { GELUForwardFor(cnt, GELU, out, inp) }

// GELUBackward accumulates dinp += GELU'(inp) · dout (FLOPs to GELU).
func GELUBackward(cnt *Counter, dinp, inp, dout []float32) {
	GELUBackwardFor(cnt, GELU, dinp, inp, dout)
}

// geluArgs are the arguments of the parallel element loops of the GELU
// kernels (here and in gelu_erf.go): out is dinp in the backward forms.
type geluArgs struct{ out, inp, dout []float32 }

var geluJobs JobPool[FuncJob[geluArgs]]

// GELUForwardFor is GELUForward with its FLOPs recorded under comp (the
// output head's GELU belongs to MLMDense, not to the FFN).
func GELUForwardFor(cnt *Counter, comp Component, out, inp []float32) {
	out = out[:len(inp)]
	RunFunc(&geluJobs, len(inp), int64(len(inp))*20, geluArgs{out: out, inp: inp}, func(a *geluArgs, lo, hi int) {
		out, inp := a.out, a.inp
		geluForward(out[lo:hi], inp[lo:hi])
	})
	cnt.Add(Forward, comp, int64(len(inp))*FlopsGELUFwd)
}

// GELUBackwardFor is GELUBackward with its FLOPs recorded under comp.
func GELUBackwardFor(cnt *Counter, comp Component, dinp, inp, dout []float32) {
	dinp = dinp[:len(inp)]
	dout = dout[:len(inp)]
	RunFunc(&geluJobs, len(inp), int64(len(inp))*30, geluArgs{out: dinp, inp: inp, dout: dout}, func(a *geluArgs, lo, hi int) {
		dinp, inp, dout := a.out, a.inp, a.dout
		geluBackward(dinp[lo:hi], inp[lo:hi], dout[lo:hi])
	})
	cnt.Add(Backward, comp, int64(len(inp))*FlopsGELUBwd)
}

// lossArgs are the arguments of the cross-entropy kernels' parallel rows
// (logits is dlogits backward).
type lossArgs struct {
	probs, losses, logits []float32
	targets               []int32
	v                     int
	scale                 float32
}

var lossJobs JobPool[FuncJob[lossArgs]]

// CrossEntropyForward turns logits[n×v] into probabilities probs[n×v] (a
// numerically stable softmax) and returns the mean over rows of
// -log probs[r, targets[r]]. losses[r] receives each row's loss.
func CrossEntropyForward(cnt *Counter, probs, losses, logits []float32, targets []int32, n, v int) float32 {
	RunFunc(&lossJobs, n, int64(n)*int64(v)*6, lossArgs{probs: probs, losses: losses, logits: logits, targets: targets, v: v}, func(a *lossArgs, lo, hi int) {
		probs, losses, logits, targets, v := a.probs, a.losses, a.logits, a.targets, a.v
		for r := lo; r < hi; r++ {
			z := logits[r*v : r*v+v]
			p := probs[r*v : r*v+v]
			mx := maxOf(z)
			s := expSumTo(p, z, 1, -mx)
			scaleTo(p, 1/s)
			// log-sum-exp form keeps the loss exact even when p underflows.
			losses[r] = float32(math.Log(float64(s))) + (mx - z[targets[r]])
		}
	})
	if n == 0 {
		return 0
	}
	var total float64
	for _, l := range losses[:n] {
		total += float64(l)
	}
	cnt.Add(Forward, Loss, int64(n)*int64(v)*FlopsLossFwd)
	return float32(total / float64(n))
}

// CrossEntropyBackward writes dlogits = scale·(probs − onehot(targets)), the
// gradient of scale·Σ loss (scale = 1/rows for a mean). dlogits may alias
// probs.
func CrossEntropyBackward(cnt *Counter, dlogits, probs []float32, targets []int32, scale float32, n, v int) {
	RunFunc(&lossJobs, n, int64(n)*int64(v), lossArgs{probs: probs, logits: dlogits, targets: targets, v: v, scale: scale}, func(a *lossArgs, lo, hi int) {
		dlogits, probs, targets, scale, v := a.logits, a.probs, a.targets, a.scale, a.v
		for r := lo; r < hi; r++ {
			p := probs[r*v : r*v+v]
			d := dlogits[r*v : r*v+v]
			// d = p·scale, vectorised (the same product per element as
			// a scalar loop): in place when d aliases p, as in the models.
			if &d[0] != &p[0] {
				copy(d, p)
			}
			scaleTo(d, scale)
			d[targets[r]] -= scale
		}
	})
	cnt.Add(Backward, Loss, int64(n)*int64(v)*FlopsLossBwd+int64(n))
}

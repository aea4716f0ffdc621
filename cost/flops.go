package cost

import (
	"fmt"
	"math"

	"github.com/tformer/tformer/kernels"
)

// Component is a part of the model FLOPs are attributed to: the engine's
// kernels.Component values, then the pooler, which only the cost model has.
type Component int

// The components beyond the first layers': the engine's factorized-embedding
// projection and output head (kernels.EmbedProj, kernels.MLMDense), then the
// encoder pooler, which the engine does not build.
const (
	EmbedProj = Component(kernels.EmbedProj) // ALBERT's E->d embedding mapping
	MLMDense  = Component(kernels.MLMDense)  // output head's dense layer d->E and its GELU
)

// The components only the cost model has, numbered after the engine's (a
// const block of their own, so iota starts at 0 here).
const (
	Pooler        = Component(kernels.NumComponents) + iota // pooler dense layer and tanh
	NumComponents                                           // number of components
)

// String returns the snake_case name used in reports and JSON.
func (c Component) String() string {
	switch {
	case c >= 0 && c < Component(kernels.NumComponents):
		return kernels.Component(c).String()
	case c == EmbedProj:
		return "embed_proj"
	case c == MLMDense:
		return "mlm_dense"
	case c == Pooler:
		return "pooler"
	}
	return fmt.Sprintf("component(%d)", int(c))
}

// Counts holds FLOPs per component.
type Counts [NumComponents]int64

// Total sums every component.
func (c Counts) Total() int64 {
	var t int64
	for _, v := range c {
		t += v
	}
	return t
}

// MHA is qkv + rope + scores + softmax + av + attn_out.
func (c Counts) MHA() int64 {
	return c[kernels.QKV] + c[kernels.Rope] + c[kernels.Scores] + c[kernels.Softmax] + c[kernels.AV] + c[kernels.AttnOut]
}

// FFN is ffn_gate + ffn_up + gelu + glu + ffn_down.
func (c Counts) FFN() int64 {
	return c[kernels.FFNGate] + c[kernels.FFNUp] + c[kernels.GELU] + c[kernels.GLU] + c[kernels.FFNDown]
}

// Core is the attention core, scores + av (the QKᵀ and AV products).
func (c Counts) Core() int64 { return c[kernels.Scores] + c[kernels.AV] }

// Plus returns c + o.
func (c Counts) Plus(o Counts) Counts {
	for i := range c {
		c[i] += o[i]
	}
	return c
}

// FLOPs are the FLOPs of one training step's forward and backward pass over
// Batch sequences of Seq tokens.
type FLOPs struct {
	Seq, Batch int
	Causal     bool
	Forward    Counts // includes the loss
	Backward   Counts
}

// Total is forward plus backward.
func (f FLOPs) Total() Counts { return f.Forward.Plus(f.Backward) }

// ActiveComponents lists the components s can have non-zero FLOPs in, in
// report order.
func (s Spec) ActiveComponents() []Component {
	var out []Component
	for _, c := range reportOrder() {
		switch c {
		case Component(kernels.Logits), Component(kernels.Loss):
			if !s.hasOutput() {
				continue
			}
		case EmbedProj:
			if !s.factorized() {
				continue
			}
		case MLMDense:
			if !s.headThroughE() {
				continue
			}
		case Pooler:
			if s.Arch != Encoder || !s.Pooler {
				continue
			}
		case Component(kernels.Rope):
			if !s.Config.Rotary() {
				continue
			}
		case Component(kernels.FFNGate), Component(kernels.GLU):
			if !s.Config.Gated() {
				continue
			}
		case Component(kernels.GELU):
			if s.Config.Gated() {
				continue
			}
		}
		out = append(out, c)
	}
	return out
}

// reportOrder lists every component in report order: the Llama family's
// rope, ffn_gate and glu beside the components they belong with.
func reportOrder() []Component {
	var out []Component
	for c := Component(0); c < NumComponents; c++ {
		switch c {
		case Component(kernels.Rope), Component(kernels.FFNGate), Component(kernels.GLU):
			continue
		case Component(kernels.Scores):
			out = append(out, Component(kernels.Rope))
		case Component(kernels.FFNUp):
			out = append(out, Component(kernels.FFNGate))
		case Component(kernels.FFNDown):
			out = append(out, Component(kernels.GLU))
		}
		out = append(out, c)
	}
	return out
}

// geluFlops returns the per-element FLOPs of the config's GELU form,
// forward and backward.
func (s Spec) geluFlops() (fwd, bwd int64) {
	if s.Config.ErfGELU() {
		return kernels.FlopsGELUErfFwd, kernels.FlopsGELUErfBwd
	}
	return kernels.FlopsGELUFwd, kernels.FlopsGELUBwd
}

// layerTerm is one component's FLOPs in one layer for one sequence of n
// tokens: Pair·P(n) + Lin·n + Resc·R(n), where P(n) is the number of
// (query, key) pairs of one head — n(n+1)/2 causal, n² bidirectional — and
// R(n) the number of running-output rescales of one head's fused attention
// forward (kernels.AttentionRescales: one per query row and key tile after
// the first, about P(n)/kernels.AttentionTile).
type layerTerm struct{ Pair, Lin, Resc int64 }

// at evaluates the term for one sequence of n tokens.
func (t layerTerm) at(n int, causal bool) int64 {
	return t.Pair*kernels.AttentionPairs(n, causal) + t.Lin*int64(n) + t.Resc*kernels.AttentionRescales(n, causal)
}

// normFlops is the per-element FLOPs of the config's norm, forward and
// backward.
func (s Spec) normFlops() (fwd, bwd int64) {
	c := s.Config
	if !c.RMS() {
		return kernels.FlopsLayerNormFwd, kernels.FlopsLayerNormBwd
	}
	fwd, bwd = kernels.FlopsRMSNormFwd, kernels.FlopsRMSNormBwd
	if c.NormOffset {
		fwd, bwd = fwd+kernels.FlopsNormOffset, bwd+kernels.FlopsNormOffset
	}
	return fwd, bwd
}

// actFlops is the FFN activation's per-element FLOPs (GELU, or the gated
// unit's), forward and backward.
func (s Spec) actFlops() (fwd, bwd int64) {
	c := s.Config
	switch c.MLP {
	case "swiglu":
		return kernels.FlopsSwiGLUFwd, kernels.FlopsSwiGLUBwd
	case "geglu":
		return kernels.GeGLUFlops(false, c.ErfGELU()), kernels.GeGLUFlops(true, c.ErfGELU())
	}
	return s.geluFlops()
}

// Soft-capping (Gemma 2), counted per capped value as the engine's kernels
// count it: cap·tanh(x/cap) is a divide, a tanh and a multiply forward; the
// attention's backward recomputes it and applies the chain factor
// (FlopsSoftcapBwd = 6), the logits' backward 1 − (z/cap)² times the
// gradient (FlopsLogitSoftcapBwd = 4).
const (
	FlopsSoftcapFwd      = kernels.FlopsSoftcapFwd
	FlopsSoftcapBwd      = kernels.FlopsSoftcapBwd
	FlopsLogitSoftcapBwd = kernels.FlopsLogitSoftcapBwd
)

// layerTerms returns the per-layer terms of every layer component, forward
// and backward, following the engine's kernels exactly (soft-capping and
// post-norms included).
func (s Spec) layerTerms() (fwd, bwd [NumComponents]layerTerm) {
	c := s.Config
	d, f, H, dh := int64(c.DModel), int64(c.DFF), int64(c.Heads), int64(c.HeadDim())
	KV, qd, qkv := int64(c.KV()), int64(c.QDim()), int64(c.QKVDim())
	acF, acB := s.actFlops()
	lnF, lnB := s.normFlops()
	const (
		smF, smB   = kernels.FlopsAttnSoftmaxFwd, kernels.FlopsAttnSoftmaxBwd
		res        = kernels.FlopsResidual
		matF, matB = 2, 4 // per multiply-add: forward; backward dinp + dW
	)
	var qkvB, linB int64 // bias adds (and bias-gradient sums): 1 per element
	if c.QKVBias() {
		qkvB = 1
	}
	if c.LinearBias() {
		linB = 1
	}
	norms := int64(2)
	if s.Config.PostNorms {
		norms = 4
	}
	capF, capB := int64(0), int64(0)
	if s.Config.AttnSoftcap != 0 {
		capF, capB = FlopsSoftcapFwd, FlopsSoftcapBwd
	}
	// The fused attention (see kernels/attention.go): forward softmax
	// divides each output row by its sum (dh per row and head) and rescales
	// the running output (dh per rescale); backward recomputes Q·Kᵀ and
	// takes the row dot D = dO·O (2·dh per row and head).
	fwd[kernels.LayerNorm] = layerTerm{Lin: norms * d * lnF}
	fwd[kernels.QKV] = layerTerm{Lin: matF*d*qkv + qkvB*qkv}
	fwd[kernels.Scores] = layerTerm{Pair: H * 2 * dh}
	fwd[kernels.Softmax] = layerTerm{Pair: H * (smF + capF), Lin: H * dh, Resc: H * dh}
	fwd[kernels.AV] = layerTerm{Pair: H * 2 * dh}
	fwd[kernels.AttnOut] = layerTerm{Lin: matF*qd*d + linB*d + res*d}
	fwd[kernels.FFNUp] = layerTerm{Lin: matF*d*f + linB*f}
	fwd[kernels.FFNDown] = layerTerm{Lin: matF*f*d + linB*d + res*d}

	bwd[kernels.LayerNorm] = layerTerm{Lin: norms * d * lnB}
	bwd[kernels.QKV] = layerTerm{Lin: matB*d*qkv + qkvB*qkv}
	bwd[kernels.Scores] = layerTerm{Pair: H * 6 * dh}
	bwd[kernels.Softmax] = layerTerm{Pair: H * (smB + capB), Lin: H * 2 * dh}
	bwd[kernels.AV] = layerTerm{Pair: H * 4 * dh}
	bwd[kernels.AttnOut] = layerTerm{Lin: matB*qd*d + linB*d}
	bwd[kernels.FFNUp] = layerTerm{Lin: matB*d*f + linB*f}
	bwd[kernels.FFNDown] = layerTerm{Lin: matB*f*d + linB*d}
	if c.Gated() {
		fwd[kernels.FFNGate] = fwd[kernels.FFNUp]
		bwd[kernels.FFNGate] = bwd[kernels.FFNUp]
		fwd[kernels.GLU] = layerTerm{Lin: acF * f}
		bwd[kernels.GLU] = layerTerm{Lin: acB * f}
	} else {
		fwd[kernels.GELU] = layerTerm{Lin: acF * f}
		bwd[kernels.GELU] = layerTerm{Lin: acB * f}
	}
	if c.Rotary() {
		fwd[kernels.Rope] = layerTerm{Lin: (H + KV) * dh * kernels.FlopsRopeFwd}
		bwd[kernels.Rope] = layerTerm{Lin: (H + KV) * dh * kernels.FlopsRopeBwd}
	}
	return
}

// windowed reports whether layer l attends through the sliding window
// (model.Config.Window).
func (s Spec) windowed(l int) bool { return s.Config.Window(l) > 0 }

// WindowedLayers is the number of layers with sliding-window attention.
func (s Spec) WindowedLayers() int {
	n := 0
	for l := 0; l < s.Config.Layers; l++ {
		if s.windowed(l) {
			n++
		}
	}
	return n
}

// attnSums returns the (query, key) pairs and rescales of one head summed
// over the layers for one sequence of n tokens: windowed layers see at
// most SlidingWindow keys (causal attention only; a bidirectional count
// ignores the window).
func (s Spec) attnSums(n int, causal bool) (pairs, resc int64) {
	L := int64(s.Config.Layers)
	w := int64(0)
	if causal {
		w = int64(s.WindowedLayers())
	}
	p, r := kernels.AttentionPairs(n, causal), kernels.AttentionRescales(n, causal)
	pairs, resc = (L-w)*p, (L-w)*r
	if w > 0 {
		wp, wr := kernels.AttentionWindowCounts(0, n, s.Config.SlidingWindow)
		pairs += w * wp
		resc += w * wr
	}
	return pairs, resc
}

// FLOPs returns the FLOPs of a forward (with the loss) and a backward pass
// over batch sequences of seq tokens, with causal or bidirectional
// attention. For an engine model (ForModel; with causal attention for a
// decoder, bidirectional for an encoder) the counts equal the engine's kernel
// counters.
func (s Spec) FLOPs(seq, batch int, causal bool) FLOPs {
	c := s.Config
	B, n := int64(batch), int64(seq)
	N := B * n
	d, K, L, E := int64(c.DModel), int64(c.Vocab), int64(c.Layers), int64(s.E())
	out := FLOPs{Seq: seq, Batch: batch, Causal: causal}
	fw, bw := &out.Forward, &out.Backward

	lf, lb := s.layerTerms()
	P, R := s.attnSums(seq, causal)
	for i := range lf {
		fw[i] = B * (lf[i].Pair*P + lf[i].Lin*n*L + lf[i].Resc*R)
		bw[i] = B * (lb[i].Pair*P + lb[i].Lin*n*L + lb[i].Resc*R)
	}

	emb, embB := int64(kernels.FlopsEmbeddingFwd), int64(kernels.FlopsEmbeddingBwd)
	if c.Rotary() || c.EmbedScale {
		sc := c.EmbedMultiplier()
		emb, embB = kernels.ScaledEmbeddingFlops(false, !c.Rotary(), sc), kernels.ScaledEmbeddingFlops(true, !c.Rotary(), sc)
	}
	if s.Arch == Decoder {
		lnF, lnB := s.normFlops()
		fw[kernels.Embedding] = N * E * emb
		bw[kernels.Embedding] = N * E * embB
		fw[kernels.LayerNorm] += N * d * lnF // final norm
		bw[kernels.LayerNorm] += N * d * lnB
	} else {
		// An encoder's type table adds one add forward and one scatter
		// backward; its embedding LayerNorm is over E.
		if s.TypeVocab > 0 {
			fw[kernels.Embedding] = N * E * kernels.FlopsEmbeddingTypesFwd
			bw[kernels.Embedding] = N * E * kernels.FlopsEmbeddingTypesBwd
		} else {
			fw[kernels.Embedding] = N * E * emb
			bw[kernels.Embedding] = N * E * embB
		}
		fw[kernels.LayerNorm] += N * E * kernels.FlopsLayerNormFwd
		bw[kernels.LayerNorm] += N * E * kernels.FlopsLayerNormBwd
	}
	if E != d {
		fw[EmbedProj] = 2*N*E*d + N*d
		bw[EmbedProj] = 4*N*E*d + N*d
	}
	if s.hasOutput() {
		R := s.headRows(seq, batch) // rows through the head and the loss
		if s.headThroughE() {
			geF, geB := s.geluFlops()
			fw[MLMDense] = 2*R*d*E + R*E + R*E*geF
			bw[MLMDense] = 4*R*d*E + R*E + R*E*geB
			fw[kernels.LayerNorm] += R * E * kernels.FlopsLayerNormFwd
			bw[kernels.LayerNorm] += R * E * kernels.FlopsLayerNormBwd
			fw[kernels.Logits] = 2*R*E*K + R*K // with the output bias
			bw[kernels.Logits] = 4*R*E*K + R*K
		} else {
			fw[kernels.Logits] = 2 * R * d * K // no bias
			bw[kernels.Logits] = 4 * R * d * K // dinp and dW
		}
		if s.Config.FinalSoftcap != 0 {
			fw[kernels.Logits] += R * K * FlopsSoftcapFwd
			bw[kernels.Logits] += R * K * FlopsLogitSoftcapBwd
		}
		fw[kernels.Loss] = R * K * kernels.FlopsLossFwd
		bw[kernels.Loss] = R*K*kernels.FlopsLossBwd + R
	}
	if s.Arch == Encoder && s.Pooler {
		// One row per sequence; tanh 1 FLOP forward, 3 backward (1 − y², times the gradient).
		fw[Pooler] = 2*B*d*d + B*d + B*d
		bw[Pooler] = 4*B*d*d + B*d + 3*B*d
	}
	return out
}

// DecodeStep returns the forward FLOPs of one token of cached generation at
// position pos (0-based; the token attends to pos+1 keys, or at most
// SlidingWindow in a windowed layer), as model.Decoder.Step counts them: no
// loss. Decoders only.
func (s Spec) DecodeStep(pos int) Counts {
	c := s.Config
	d, L, H, dh, E := int64(c.DModel), int64(c.Layers), int64(c.Heads), int64(c.HeadDim()), int64(s.E())
	var keys int64 // keys summed over the layers
	for l := 0; l < c.Layers; l++ {
		nk := int64(pos) + 1
		if s.windowed(l) {
			nk = min(nk, int64(s.Config.SlidingWindow))
		}
		keys += nk
	}
	lf, _ := s.layerTerms()
	var o Counts
	for i := range lf {
		o[i] = L * lf[i].Lin // one row per layer
	}
	// Decode's attention: one query row, scores and av 2·dh per key and
	// head, its own one-row softmax (kernels.AttentionDecode).
	o[kernels.Scores] = H * keys * 2 * dh
	o[kernels.Softmax] = H * keys * kernels.FlopsSoftmaxFwd
	if s.Config.AttnSoftcap != 0 {
		o[kernels.Softmax] += H * keys * FlopsSoftcapFwd
	}
	o[kernels.AV] = H * keys * 2 * dh
	f := s.FLOPs(1, 1, true) // the per-token terms outside the layers
	o[kernels.Embedding] = f.Forward[kernels.Embedding]
	lnF, _ := s.normFlops()
	o[kernels.LayerNorm] += d * lnF
	o[kernels.Logits] = f.Forward[kernels.Logits]
	if E != d {
		geF, _ := s.geluFlops()
		o[EmbedProj] = 2*E*d + d
		o[MLMDense] = 2*d*E + E + E*geF
		o[kernels.LayerNorm] += E * kernels.FlopsLayerNormFwd
	}
	return o
}

// Crossover holds the sequence lengths at which attention overtakes the FFN
// in one layer; a nil value means there is none (the left side is already
// larger, or never catches up).
type Crossover struct {
	MHAEqualsFFN  *float64 `json:"mha_equals_ffn"`            // MHA(n) = FFN(n)
	CoreEqualsFFN *float64 `json:"attention_core_equals_ffn"` // scores(n) + av(n) = FFN(n)
}

// positiveRoot solves a·n² + b·n + c = 0 and returns its positive root
// (the larger, if both are), or nil.
func positiveRoot(a, b, c float64) *float64 {
	var r float64
	switch {
	case a == 0 && b == 0:
		return nil
	case a == 0:
		r = -c / b
	default:
		disc := b*b - 4*a*c
		if disc < 0 {
			return nil
		}
		sq := math.Sqrt(disc)
		// The numerically stable pair of roots.
		q := -0.5 * (b + math.Copysign(sq, b))
		r1, r2 := q/a, math.Inf(-1)
		if q != 0 {
			r2 = c / q
		}
		r = math.Max(r1, r2)
	}
	if !(r > 0) || math.IsInf(r, 0) {
		return nil
	}
	return &r
}

// crossover solves left(n) = right(n) for per-layer terms. Without
// rescale terms the difference is the polynomial pair·P(n) + lin·n with
// P(n) = p2·n² + p1·n, solved exactly. The rescale count R(n) is a step
// function (about P(n)/T, T = kernels.AttentionTile): then the root of the
// polynomial with R(n) taken as P(n)/T is a first guess, the integers lo, lo+1 where the exact
// difference changes sign are found from it, and the crossover is where the
// straight line between the two exact values crosses zero.
func crossover(left, right []layerTerm, causal bool) *float64 {
	var t layerTerm
	for _, x := range left {
		t = layerTerm{t.Pair + x.Pair, t.Lin + x.Lin, t.Resc + x.Resc}
	}
	for _, x := range right {
		t = layerTerm{t.Pair - x.Pair, t.Lin - x.Lin, t.Resc - x.Resc}
	}
	p2, p1 := 1.0, 0.0
	if causal {
		p2, p1 = 0.5, 0.5
	}
	// Only a crossover when the n² side (attention) starts below and grows
	// past.
	pair := float64(t.Pair) + float64(t.Resc)/kernels.AttentionTile
	if pair <= 0 || t.Lin >= 0 {
		return nil
	}
	r := positiveRoot(pair*p2, pair*p1+float64(t.Lin), 0)
	if r == nil || t.Resc == 0 {
		return r
	}
	lo := int(*r)
	for lo > 1 && t.at(lo, causal) > 0 {
		lo--
	}
	for t.at(lo+1, causal) <= 0 {
		lo++
	}
	a, b := float64(t.at(lo, causal)), float64(t.at(lo+1, causal))
	x := float64(lo) + a/(a-b)
	return &x
}

// Crossovers returns the exact crossovers of the engine's FLOP counts, per
// layer (and so for the whole model, whose other terms are not per layer),
// for the forward pass, or for forward plus backward when train is set.
func (s Spec) Crossovers(causal, train bool) Crossover {
	if causal && s.WindowedLayers() > 0 {
		return s.windowCrossovers(train)
	}
	f, b := s.layerTerms()
	var t [NumComponents]layerTerm
	for i := range t {
		t[i] = f[i]
		if train {
			t[i] = layerTerm{f[i].Pair + b[i].Pair, f[i].Lin + b[i].Lin, f[i].Resc + b[i].Resc}
		}
	}
	mha := []layerTerm{t[kernels.QKV], t[kernels.Rope], t[kernels.Scores], t[kernels.Softmax], t[kernels.AV], t[kernels.AttnOut]}
	ffn := []layerTerm{t[kernels.FFNGate], t[kernels.FFNUp], t[kernels.GELU], t[kernels.GLU], t[kernels.FFNDown]}
	core := []layerTerm{t[kernels.Scores], t[kernels.AV]}
	return Crossover{MHAEqualsFFN: crossover(mha, ffn, causal), CoreEqualsFFN: crossover(core, ffn, causal)}
}

// MatmulLayer is one Transformer layer's matmul FLOPs for one sequence of
// Seq tokens in the textbook convention: bidirectional n² attention, 2 FLOPs
// per multiply-add, no bias, softmax, norm or activation. QKV = 3·2nd²,
// Scores = AV = 2n²d, Out = 2nd², FFN = 2·2·n·d·d_ff.
type MatmulLayer struct {
	Seq                       int
	QKV, Scores, AV, Out, FFN int64
	MHA                       int64   // QKV + Scores + AV + Out
	MHAShare, FFNShare, Ratio float64 // of MHA + FFN, and MHA / FFN
}

// Matmul returns the matmul-only per-layer FLOPs at seq tokens.
func (s Spec) Matmul(seq int) MatmulLayer {
	c := s.Config
	d, f, n := int64(c.DModel), int64(c.DFF), int64(seq)
	qd, qkv := int64(c.QDim()), int64(c.QKVDim())
	mats := int64(2)
	if c.Gated() {
		mats = 3
	}
	m := MatmulLayer{Seq: seq, QKV: 2 * n * d * qkv, Scores: 2 * n * n * qd, AV: 2 * n * n * qd, Out: 2 * n * qd * d, FFN: 2 * mats * n * d * f}
	m.MHA = m.QKV + m.Scores + m.AV + m.Out
	m.MHAShare = float64(m.MHA) / float64(m.MHA+m.FFN)
	m.FFNShare = float64(m.FFN) / float64(m.MHA+m.FFN)
	m.Ratio = float64(m.MHA) / float64(m.FFN)
	return m
}

// MatmulCrossovers solves the matmul-only per-layer polynomials exactly:
// 8nd² + 4n²d = 4nd·d_ff gives n = d_ff − 2d, and 4n²d = 4nd·d_ff gives
// n = d_ff (1024 and 2048 for d = 512, d_ff = 2048).
func (s Spec) MatmulCrossovers() Crossover {
	m1 := s.Matmul(1) // the linear coefficients at n = 1 (scores and av: n² terms)
	qd := int64(s.Config.QDim())
	mha := []layerTerm{{Lin: m1.QKV + m1.Out}, {Pair: 4 * qd}}
	ffn := []layerTerm{{Lin: m1.FFN}}
	core := []layerTerm{{Pair: 4 * qd}}
	return Crossover{MHAEqualsFFN: crossover(mha, ffn, false), CoreEqualsFFN: crossover(core, ffn, false)}
}

// windowCrossovers finds the crossovers of a model with sliding-window
// layers numerically: the whole model's MHA (or attention core) minus its
// FFN, exact at every integer n, is searched for its first sign change up
// to 2²⁴ and the crossing interpolated between the two integers around it.
// A windowed layer's attention grows linearly beyond the window, so there
// may be none.
func (s Spec) windowCrossovers(train bool) Crossover {
	at := func(n int) Counts {
		f := s.FLOPs(n, 1, true)
		if train {
			return f.Total()
		}
		return f.Forward
	}
	find := func(left func(Counts) int64) *float64 {
		diff := func(n int) int64 { c := at(n); return left(c) - c.FFN() }
		if diff(1) >= 0 {
			return nil
		}
		lo, hi := 1, 2
		for diff(hi) < 0 {
			lo, hi = hi, 2*hi
			if hi > 1<<24 {
				return nil
			}
		}
		for hi-lo > 1 {
			mid := (lo + hi) / 2
			if diff(mid) < 0 {
				lo = mid
			} else {
				hi = mid
			}
		}
		a, b := float64(diff(lo)), float64(diff(hi))
		x := float64(lo) + a/(a-b)
		return &x
	}
	return Crossover{MHAEqualsFFN: find(Counts.MHA), CoreEqualsFFN: find(Counts.Core)}
}

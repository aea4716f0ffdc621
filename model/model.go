package model

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/tformer/tformer/kernels"
)

// Model is a decoder or an encoder with its parameters and gradients, each
// one flat slab laid out by Layout. Activations for the last (batch, seq)
// shape (and, for an encoder, number of predicted positions) are kept and
// reused, so repeated steps of one shape allocate nothing new.
type Model struct {
	Config Config
	Layout *Layout
	Params []float32 // all stored parameters
	Grads  []float32 // their gradients, same layout; Backward adds into it

	// Flops, when not nil, receives the FLOPs of every kernel call.
	Flops *kernels.Counter
	// EncFlops, when not nil, receives an encoder–decoder's encoder-stack
	// FLOPs instead of Flops (which then counts the decoder, its
	// cross-attention, the logits and the loss).
	EncFlops *kernels.Counter

	p, g views
	act  *activations
	// rotary positions: cos and sin tables [MaxSeq × dh/2] (nil otherwise)
	ropeCos, ropeSin []float32
	ed               *edState // encoder–decoders only
	// inference (Quantize): the weight dtype; for bf16/int8 the narrow
	// matrices by tensor name and the float32 tensors' own slab
	dtype     DType
	inference bool
	low       map[string]*lowMat
	small     []float32
	smallAt   map[string][]float32 // the float32 tensors in small, by name
}

type attnView struct {
	lnw, lnb, qkvw, qkvb, projw, projb []float32
	pnw                                []float32 // the post-norm's gain (PostNorms)
	qkvq, projq                        *lowMat   // narrow weights (Quantize), nil for float32
}
type ffnView struct {
	lnw, lnb, upw, upb, downw, downb, gatew, gateb []float32
	pnw                                            []float32 // the post-norm's gain (PostNorms)
	upq, downq, gateq                              *lowMat   // narrow weights (Quantize), nil for float32
}

// views are the named tensors of one slab, with the output head resolved to
// wte when tied. Tensors a config does not have are nil.
type views struct {
	wte, wpe, lnfw, lnfb, head []float32
	attn                       []attnView
	ffn                        []ffnView
	// encoder embeddings, factorized projection, output head through E
	wtt, elnw, elnb, projw, projb []float32
	hdw, hdb, hlnw, hlnb, hbias   []float32
	// narrow weights after Quantize (nil for float32): wte, the output
	// head (wteq when tied), embed_proj.w, head.dense.w
	wteq, headq, eprojq, hdq *lowMat
}

// New allocates a model for a valid config, with zero parameters (see Init).
func New(c Config) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c = c.Canonical()
	l := NewLayout(c)
	m := &Model{Config: c, Layout: l, Params: make([]float32, l.Total), Grads: make([]float32, l.Total)}
	if c.IsEncDec() {
		m.ed = m.newEdState()
		return m, nil
	}
	m.p = m.views(m.Params)
	m.g = m.views(m.Grads)
	if c.Rotary() {
		m.ropeCos, m.ropeSin = kernels.RopeTable(kernels.RopeFreqs(c.HeadDim(), c.Theta(), c.RopeScale()), c.MaxSeq)
	}
	return m, nil
}

func (m *Model) views(slab []float32) views {
	return m.viewsBy(func(name string) []float32 {
		if _, ok := m.Layout.Lookup(name); !ok {
			return nil // a tensor this config does not have (a bias, wpe, ...)
		}
		return m.Layout.Slice(slab, name)
	})
}

// viewsBy builds the views from s, which returns a tensor by name (nil for
// one the config does not have or that is not float32).
func (m *Model) viewsBy(s func(name string) []float32) views {
	c := m.Config
	v := views{wte: s("wte"), wpe: s("wpe")}
	if !c.IsEncoder() {
		v.lnfw, v.lnfb = s("lnf.w"), s("lnf.b")
	} else {
		v.wtt, v.elnw, v.elnb = s("wtt"), s("emb_ln.w"), s("emb_ln.b")
	}
	if c.Factorized() {
		v.projw, v.projb = s("embed_proj.w"), s("embed_proj.b")
	}
	if c.HasHead() {
		v.hdw, v.hdb, v.hlnw, v.hlnb, v.hbias = s("head.dense.w"), s("head.dense.b"), s("head.ln.w"), s("head.ln.b"), s("head.bias")
	}
	if m.Config.Tie {
		v.head = v.wte
	} else {
		v.head = s("lm_head")
	}
	for i := 0; i < m.Config.AttnBlocks(); i++ {
		p := fmt.Sprintf("attn.%d.", i)
		v.attn = append(v.attn, attnView{lnw: s(p + "ln.w"), lnb: s(p + "ln.b"), qkvw: s(p + "qkv.w"), qkvb: s(p + "qkv.b"), projw: s(p + "proj.w"), projb: s(p + "proj.b"), pnw: s(p + "postln.w")})
	}
	for i := 0; i < m.Config.FFNBlocks(); i++ {
		p := fmt.Sprintf("ffn.%d.", i)
		v.ffn = append(v.ffn, ffnView{lnw: s(p + "ln.w"), lnb: s(p + "ln.b"), upw: s(p + "up.w"), upb: s(p + "up.b"), downw: s(p + "down.w"), downb: s(p + "down.b"), gatew: s(p + "gate.w"), gateb: s(p + "gate.b"), pnw: s(p + "postln.w")})
	}
	return v
}

// Param returns the named parameter tensor (a view into Params; nil after
// Quantize to bf16 or int8).
func (m *Model) Param(name string) []float32 {
	if m.Params == nil {
		return nil
	}
	return m.Layout.Slice(m.Params, name)
}

// Grad returns the named gradient tensor (a view into Grads; nil after
// Quantize).
func (m *Model) Grad(name string) []float32 {
	if m.Grads == nil {
		return nil
	}
	return m.Layout.Slice(m.Grads, name)
}

// Init fills the parameters as GPT-2 does, deterministically from seed:
// weights and embeddings ~ N(0, 0.02), the two projections that feed the
// residual stream scaled by 1/sqrt(2·layers) (decoders only; an encoder's
// post-LN blocks use 0.02 throughout, as BERT does), biases 0, norm gains 1
// (w = 0 for a 1 + w gain).
func (m *Model) Init(seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x7466_6f72_6d65_72))
	resid := 0.02 / math.Sqrt(2*float64(m.Config.Layers))
	for _, t := range m.Layout.Tensors {
		x := m.Params[t.Offset : t.Offset+t.Size]
		switch {
		case strings.HasSuffix(t.Name, "ln.w") || strings.HasSuffix(t.Name, "lnf.w"):
			if m.Config.NormOffset && t.Name != "head.ln.w" && t.Name != "emb_ln.w" {
				clear(x) // the gain is 1 + w
			} else {
				fill(x, 1)
			}
		case len(t.Shape) == 1:
			clear(x)
		default:
			std := 0.02
			if !m.Config.IsEncoder() && !m.Config.IsEncDec() && (strings.HasPrefix(t.Name, "attn.") && strings.HasSuffix(t.Name, "proj.w") || strings.HasPrefix(t.Name, "ffn.") && strings.HasSuffix(t.Name, "down.w")) {
				std = resid
			}
			for i := range x {
				x[i] = float32(rng.NormFloat64() * std)
			}
		}
	}
}

func fill(x []float32, v float32) {
	for i := range x {
		x[i] = v
	}
}

// ZeroGrad sets every gradient to zero.
func (m *Model) ZeroGrad() { kernels.Zero(m.Grads) }

// activations holds the forward tensors kept for backward and the scratch
// gradients of one (batch, seq) shape.
type activations struct {
	b, t int
	// forward, per layer l (res[l] is layer l's input, res[L] the output)
	res        [][]float32 // L+1 × N·D
	ln1, ln2   [][]float32 // L × N·D
	ln1m, ln1r [][]float32 // L × N
	ln2m, ln2r [][]float32
	qkv        [][]float32 // L × N·3D
	lse        [][]float32 // L × B·H·T: attention log-sum-exp per row
	atty       [][]float32 // L × N·D
	res2       [][]float32 // L × N·D (after the attention residual)
	fch, fchg  [][]float32 // L × N·F (pre- and post-GELU; gated: up and act(gate)·up)
	fgate      [][]float32 // gated FFN: L × N·F, the gate's pre-activation
	ao, fo     [][]float32 // PostNorms: L × N·D, the sub-layers' outputs before their post-norms
	aor, fori  [][]float32 // PostNorms: L × N, the post-norms' rstd
	dpn        []float32   // PostNorms: N·D backward scratch
	lnf        []float32   // N·D
	lnfm, lnfr []float32
	logits     []float32 // N·V
	probs      []float32 // N·V, reused for dlogits in backward
	losses     []float32 // N
	tokens     []int32
	targets    []int32
	// backward scratch, reused by every layer
	dres, dln, datty []float32 // N·D
	dqkv             []float32 // N·3D
	dfch, dfchg      []float32 // N·F
	dgate, gscr      []float32 // gated FFN: N·F gate gradient; GeGLU's backward scratch
	haveLoss         bool

	// Factorized or encoder embeddings (nil otherwise): the embedding sum
	// (N·E), an encoder's embedding LayerNorm statistics (N each) and, when
	// factorized, its output (the projection's input, N·E); backward scratch
	// of the same shapes.
	emb, embln, demb, dembln []float32
	embm, embr               []float32
	// Output head through E (encoder or factorized decoder), over R rows
	// (R = N for a decoder, the predicted positions for an encoder): dense,
	// GELU and LayerNorm outputs (R·E), the LayerNorm statistics (R), and
	// backward scratch (R·E). An encoder also gathers the predicted rows of
	// the last hidden state (R·D) and their gradient.
	hd, hg, hl, hdA, hdB []float32
	hlm, hlr             []float32
	hin, dhin            []float32
	rows                 int
	// encoder inputs
	encoder   bool
	types     []int32 // N
	lens      []int32 // B sequence lengths, used when haveLens
	positions []int32 // R
	haveLens  bool
}

func newActivations(c Config, b, t int) *activations {
	n, d, f, L, e := b*t, c.DModel, c.DFF, c.Layers, c.E()
	qd, qkv := c.QDim(), c.QKVDim()
	slab := func(k, size int) [][]float32 {
		out := make([][]float32, k)
		for i := range out {
			out[i] = make([]float32, size)
		}
		return out
	}
	a := &activations{
		b: b, t: t,
		res: slab(L+1, n*d), ln1: slab(L, n*d), ln2: slab(L, n*d),
		ln1r: slab(L, n), ln2r: slab(L, n),
		qkv: slab(L, n*qkv), lse: slab(L, b*c.Heads*t), atty: slab(L, n*qd), res2: slab(L, n*d),
		fch: slab(L, n*f), fchg: slab(L, n*f),
		tokens: make([]int32, n),
		dres:   make([]float32, n*d), dln: make([]float32, n*d), datty: make([]float32, n*qd),
		dqkv: make([]float32, n*qkv), dfch: make([]float32, n*f), dfchg: make([]float32, n*f),
	}
	if !c.RMS() { // an RMSNorm keeps no mean
		a.ln1m, a.ln2m = slab(L, n), slab(L, n)
	}
	if c.PostNorms {
		a.ao, a.fo, a.aor, a.fori, a.dpn = slab(L, n*d), slab(L, n*d), slab(L, n), slab(L, n), make([]float32, n*d)
	}
	if c.Gated() {
		a.fgate, a.dgate = slab(L, n*f), make([]float32, n*f)
		if c.MLP == GeGLU {
			a.gscr = make([]float32, n*f)
		}
	}
	if c.IsEncoder() {
		a.encoder = true
		a.emb, a.demb = make([]float32, n*e), make([]float32, n*e)
		a.embm, a.embr = make([]float32, n), make([]float32, n)
		if c.Factorized() {
			a.embln, a.dembln = make([]float32, n*e), make([]float32, n*e)
		}
		a.types, a.lens = make([]int32, n), make([]int32, b)
		return a // the head's buffers depend on the number of predicted rows
	}
	a.lnf, a.lnfr = make([]float32, n*d), make([]float32, n)
	if !c.RMS() {
		a.lnfm = make([]float32, n)
	}
	if c.Factorized() {
		a.emb, a.demb = make([]float32, n*e), make([]float32, n*e)
	}
	a.setRows(c, n)
	return a
}

// setRows (re)allocates the output head's buffers for r rows.
func (a *activations) setRows(c Config, r int) {
	if a.rows == r && a.logits != nil {
		return
	}
	v, e, d := c.Vocab, c.E(), c.DModel
	a.rows = r
	a.logits, a.probs, a.losses = make([]float32, r*v), make([]float32, r*v), make([]float32, r)
	a.targets = make([]int32, r)
	if c.HasHead() {
		a.hd, a.hg, a.hl, a.hdA, a.hdB = make([]float32, r*e), make([]float32, r*e), make([]float32, r*e), make([]float32, r*e), make([]float32, r*e)
		a.hlm, a.hlr = make([]float32, r), make([]float32, r)
	}
	if a.encoder {
		a.hin, a.dhin = make([]float32, r*d), make([]float32, r*d)
		a.positions = make([]int32, r)
	}
}

// ActivationFloats returns the number of float32 values the activation
// buffers of the last Forward hold (0 before any): the tensors saved for
// backward, the logits and probabilities, and the backward scratch. It sums
// the buffers actually allocated, so the cost model can be checked against it
// (int32 token, type, length and position ids are not counted).
func (m *Model) ActivationFloats() int64 {
	if m.ed != nil {
		return m.ed.act.floats()
	}
	a := m.act
	if a == nil {
		return 0
	}
	var n int64
	for _, group := range [][][]float32{a.res, a.ln1, a.ln2, a.ln1m, a.ln1r, a.ln2m, a.ln2r, a.qkv, a.lse, a.atty, a.res2, a.fch, a.fchg, a.fgate, a.ao, a.fo, a.aor, a.fori} {
		for _, x := range group {
			n += int64(len(x))
		}
	}
	for _, x := range [][]float32{a.lnf, a.lnfm, a.lnfr, a.logits, a.probs, a.losses, a.dres, a.dln, a.datty, a.dqkv, a.dfch, a.dfchg,
		a.emb, a.embln, a.demb, a.dembln, a.embm, a.embr, a.hd, a.hg, a.hl, a.hdA, a.hdB, a.hlm, a.hlr, a.hin, a.dhin, a.dgate, a.gscr, a.dpn} {
		n += int64(len(x))
	}
	return n
}

// checkShape checks that b sequences of t tokens are a batch this model can
// run.
func (m *Model) checkShape(b, t int) error {
	if b <= 0 || t <= 0 {
		return fmt.Errorf("batch (%d) and sequence length (%d) must be positive", b, t)
	}
	if t > m.Config.MaxSeq {
		return fmt.Errorf("sequence length %d exceeds the model's context of %d", t, m.Config.MaxSeq)
	}
	return nil
}

// activationsFor returns the activations for b sequences of t tokens: the
// last ones if they have that shape, else new ones.
func (m *Model) activationsFor(b, t int) *activations {
	if m.act == nil || m.act.b != b || m.act.t != t {
		m.act = nil // let the old buffers go before allocating new ones
		m.act = newActivations(m.Config, b, t)
	}
	return m.act
}

func (m *Model) checkTokens(what string, ids []int32) error {
	for i, id := range ids {
		if id < 0 || int(id) >= m.Config.Vocab {
			return fmt.Errorf("%s[%d] = %d is outside the vocabulary [0, %d)", what, i, id, m.Config.Vocab)
		}
	}
	return nil
}

// Forward runs the model on tokens (b rows of t ids). With targets (same
// shape) it returns the mean next-token cross-entropy and keeps what Backward
// needs; with nil targets it returns 0 and only the logits are meaningful.
func (m *Model) Forward(tokens, targets []int32, b, t int) (float32, error) {
	c := m.Config
	if c.IsEncoder() {
		return 0, errors.New("forward: this model is an encoder; it is run with ForwardMLM (masked-LM), not next-token Forward")
	}
	if c.IsEncDec() {
		return 0, errors.New("forward: this model is an encoder-decoder; it is run with ForwardSeq2Seq, not next-token Forward")
	}
	if err := m.checkShape(b, t); err != nil {
		return 0, fmt.Errorf("forward: %w", err)
	}
	if len(tokens) != b*t || (targets != nil && len(targets) != b*t) {
		return 0, fmt.Errorf("forward: want %d×%d = %d tokens and targets, got %d and %d", b, t, b*t, len(tokens), len(targets))
	}
	if err := m.checkTokens("token", tokens); err != nil {
		return 0, fmt.Errorf("forward: %w", err)
	}
	if targets != nil {
		if err := m.checkTokens("target", targets); err != nil {
			return 0, fmt.Errorf("forward: %w", err)
		}
	}
	a := m.activationsFor(b, t)
	copy(a.tokens, tokens)
	n, d, cnt := b*t, c.DModel, m.Flops
	cnt.Mark()
	m.embed(a.res[0], a.emb, tokens, t, 0)
	for l := 0; l < c.Layers; l++ {
		at, ff := m.p.attn[c.AttnIndex(l)], m.p.ffn[c.FFNIndex(l)]
		m.norm(cnt, a.ln1[l], at2(a.ln1m, l), a.ln1r[l], a.res[l], at.lnw, at.lnb, n, d)
		m.attention(at, a.res2[l], a.ln1[l], a.qkv[l], a.atty[l], a.lse[l], a.res[l], at2(a.ao, l), at2(a.aor, l), b, t, c.AttnOpts(l))
		m.norm(cnt, a.ln2[l], at2(a.ln2m, l), a.ln2r[l], a.res2[l], ff.lnw, ff.lnb, n, d)
		m.ffnPost(ff, a.res[l+1], a.ln2[l], at2(a.fgate, l), a.fch[l], a.fchg[l], a.res2[l], at2(a.fo, l), at2(a.fori, l), n)
	}
	m.norm(cnt, a.lnf, a.lnfm, a.lnfr, a.res[c.Layers], m.p.lnfw, m.p.lnfb, n, d)
	m.headForward(a.head(), a.lnf, n)
	m.capLogits(a.logits, n)
	a.haveLoss = targets != nil
	if targets == nil {
		return 0, nil
	}
	copy(a.targets, targets)
	return kernels.CrossEntropyForward(cnt, a.probs, a.losses, a.logits, targets, n, c.Vocab), nil
}

// Logits returns the logits of the last Forward (b·t rows of vocab values)
// or ForwardMLM (one row per predicted position, in the order given). The
// slice is reused by the next call.
func (m *Model) Logits() []float32 {
	if m.ed != nil {
		if m.ed.act == nil {
			return nil
		}
		return m.ed.act.logits
	}
	if m.act == nil {
		return nil
	}
	return m.act.logits
}

// CountCorrect returns how many of the first len(targets) rows of the last
// forward pass's logits have their largest value at the target (the first
// such index on ties): a masked LM's or a next-token model's accuracy.
func (m *Model) CountCorrect(targets []int32) int {
	if l := m.Logits(); m.ed != nil && l != nil {
		return countCorrect(l, targets, m.Config.Vocab)
	}
	if m.act == nil {
		return 0
	}
	return countCorrect(m.act.logits, targets, m.Config.Vocab)
}

// Backward adds the gradient of the last Forward's mean loss to Grads. Call
// ZeroGrad first unless accumulating over several batches.
func (m *Model) Backward() error {
	if m.inference {
		return fmt.Errorf("backward: the model was converted for inference (%s weights, no gradients)", m.dtype)
	}
	if m.ed != nil {
		if m.ed.act == nil || !m.ed.act.haveLoss {
			return fmt.Errorf("backward: no forward pass with targets to differentiate")
		}
		m.backwardEncDec()
		return nil
	}
	a := m.act
	if a == nil || !a.haveLoss {
		return fmt.Errorf("backward: no forward pass with targets to differentiate")
	}
	if a.encoder {
		m.backwardEncoder()
		return nil
	}
	c := m.Config
	b, t := a.b, a.t
	n, d, f, cnt := b*t, c.DModel, c.DFF, m.Flops
	qd, qkv, H, KV, dh := c.QDim(), c.QKVDim(), c.Heads, c.KV(), c.HeadDim()
	dlogits := a.probs
	cnt.Mark()
	kernels.CrossEntropyBackward(cnt, dlogits, a.probs, a.targets, 1/float32(n), n, c.Vocab)
	if c.FinalSoftcap != 0 {
		kernels.SoftcapBackward(cnt, dlogits[:n*c.Vocab], a.logits, float32(c.FinalSoftcap))
	}
	m.headBackward(a.lnf, a.dln, n)
	a.haveLoss = false // probs now hold dlogits
	clear(a.dres)
	m.normBack(cnt, a.dres, m.g.lnfw, m.g.lnfb, a.dln, a.res[c.Layers], m.p.lnfw, a.lnfm, a.lnfr, n, d)
	for l := c.Layers - 1; l >= 0; l-- {
		ai, fi := c.AttnIndex(l), c.FFNIndex(l)
		at, ff := m.p.attn[ai], m.p.ffn[fi]
		gat, gff := m.g.attn[ai], m.g.ffn[fi]
		// FFN branch: a.dres holds dL/d(res[l+1]), which is also dL/d(res2) through the skip.
		dffn := a.dres
		if c.PostNorms { // back through the post-norm
			clear(a.dpn)
			m.normBack(cnt, a.dpn, gff.pnw, nil, a.dres, a.fo[l], ff.pnw, nil, a.fori[l], n, d)
			dffn = a.dpn
		}
		kernels.LinearBackwardTo(cnt, kernels.FFNDown, a.dfchg, gff.downw, gff.downb, dffn, a.fchg[l], ff.downw, n, f, d)
		clear(a.dfch)
		upTo := kernels.LinearBackwardTo // the first product into a.dln writes it
		if c.Gated() {
			clear(a.dgate)
			switch c.MLP {
			case SwiGLU:
				kernels.SwiGLUBackward(cnt, a.dgate, a.dfch, a.fgate[l], a.fch[l], a.dfchg)
			default:
				kernels.GeGLUBackward(cnt, a.dgate, a.dfch, a.fgate[l], a.fch[l], a.dfchg, a.gscr, c.ErfGELU())
			}
			kernels.LinearBackwardTo(cnt, kernels.FFNGate, a.dln, gff.gatew, gff.gateb, a.dgate, a.ln2[l], ff.gatew, n, d, f)
			upTo = kernels.LinearBackward
		} else {
			m.geluBack(cnt, kernels.GELU, a.dfch, a.fch[l], a.dfchg)
		}
		upTo(cnt, kernels.FFNUp, a.dln, gff.upw, gff.upb, a.dfch, a.ln2[l], ff.upw, n, d, f)
		m.normBack(cnt, a.dres, gff.lnw, gff.lnb, a.dln, a.res2[l], ff.lnw, at2(a.ln2m, l), a.ln2r[l], n, d)
		// Attention branch: a.dres now holds dL/d(res2).
		dattn := a.dres
		if c.PostNorms {
			clear(a.dpn)
			m.normBack(cnt, a.dpn, gat.pnw, nil, a.dres, a.ao[l], at.pnw, nil, a.aor[l], n, d)
			dattn = a.dpn
		}
		kernels.LinearBackwardTo(cnt, kernels.AttnOut, a.datty, gat.projw, gat.projb, dattn, a.atty[l], at.projw, n, qd, d)
		clear(a.dqkv)
		kernels.AttentionBackwardOpts(cnt, a.dqkv, a.datty, a.qkv[l], a.atty[l], a.lse[l], b, t, H, KV, dh, c.AttnOpts(l))
		if c.Rotary() {
			// The gradients of the rotated queries and keys, back through the rotation.
			kernels.RopeBackward(cnt, a.dqkv, m.ropeCos, m.ropeSin, n, t, 0, qkv, 0, H, dh)
			kernels.RopeBackward(cnt, a.dqkv, m.ropeCos, m.ropeSin, n, t, 0, qkv, qd, KV, dh)
		}
		kernels.LinearBackwardTo(cnt, kernels.QKV, a.dln, gat.qkvw, gat.qkvb, a.dqkv, a.ln1[l], at.qkvw, n, d, qkv)
		m.normBack(cnt, a.dres, gat.lnw, gat.lnb, a.dln, a.res[l], at.lnw, at2(a.ln1m, l), a.ln1r[l], n, d)
	}
	demb, e := a.dres, d
	if c.Factorized() {
		e = c.E()
		kernels.LinearBackwardTo(cnt, kernels.EmbedProj, a.demb, m.g.projw, m.g.projb, a.dres, a.emb, m.p.projw, n, e, d)
		demb = a.demb
	}
	if c.Rotary() || c.EmbedScale {
		kernels.ScaledEmbeddingBackward(cnt, m.g.wte, m.g.wpe, demb, a.tokens, t, e, c.EmbedMultiplier())
		return nil
	}
	kernels.EmbeddingBackward(cnt, m.g.wte, m.g.wpe, demb, a.tokens, t, e)
	return nil
}

// at2 returns x[l], or nil when x is nil (a buffer this config does not keep).
func at2(x [][]float32, l int) []float32 {
	if x == nil {
		return nil
	}
	return x[l]
}

// attention runs one attention sub-layer after its norm over b rows of t
// tokens (the Decoder has its own core, over the cache): the QKV
// projection of x into qkv, the rotation of its queries and keys, the fused
// attention into atty (its log-sum-exps into lse; with the layer's window,
// soft-cap and query scale o) and the output projection plus the residual
// res into out. With PostNorms the projection goes to y, and out is
// res + norm(y) (rstd its statistics).
func (m *Model) attention(at attnView, out, x, qkv, atty, lse, res, y, rstd []float32, b, t int, o kernels.AttnOpts) {
	c, cnt := m.Config, m.Flops
	n, d := b*t, c.DModel
	ld, H, KV, dh := c.QKVDim(), c.Heads, c.KV(), c.HeadDim()
	linear(cnt, kernels.QKV, qkv, x, at.qkvw, at.qkvq, at.qkvb, nil, n, d, ld)
	m.rope(qkv, n, t, 0)
	kernels.AttentionForwardOpts(cnt, atty, lse, qkv, b, t, H, KV, dh, o)
	m.attnOut(at, out, atty, res, y, rstd, n)
}

// attnOut is the attention's output projection of n rows of atty plus the
// residual res into out; with PostNorms through y and the post-norm
// (rstd its statistics).
func (m *Model) attnOut(at attnView, out, atty, res, y, rstd []float32, n int) {
	c, cnt := m.Config, m.Flops
	if !c.PostNorms {
		linear(cnt, kernels.AttnOut, out, atty, at.projw, at.projq, at.projb, res, n, c.QDim(), c.DModel)
		return
	}
	linear(cnt, kernels.AttnOut, y, atty, at.projw, at.projq, at.projb, nil, n, c.QDim(), c.DModel)
	m.postNorm(kernels.AttnOut, out, y, res, at.pnw, rstd, n)
}

// postNorm writes out = res + norm(y) over n rows (Gemma 2's post-norms),
// counting the norm under layernorm and the residual add under comp (as
// the residual fused into a projection counts).
func (m *Model) postNorm(comp kernels.Component, out, y, res, w, rstd []float32, n int) {
	c, cnt := m.Config, m.Flops
	d := c.DModel
	kernels.RMSNormForward(cnt, out[:n*d], rstd, y, w, n, d, c.Eps(), c.NormGainOffset())
	for i, r := range res[:n*d] {
		out[i] += r
	}
	cnt.Add(kernels.Forward, comp, int64(n)*int64(d)*kernels.FlopsResidual)
}

// ffnPost is ffnForward with the residual res; with PostNorms the FFN's
// output goes to y and out is res + norm(y) (rstd its statistics).
func (m *Model) ffnPost(ff ffnView, out, x, gate, up, h, res, y, rstd []float32, n int) {
	if !m.Config.PostNorms {
		m.ffnForward(ff, out, x, gate, up, h, res, n)
		return
	}
	m.ffnForward(ff, y, x, gate, up, h, nil, n)
	m.postNorm(kernels.FFNDown, out, y, res, ff.pnw, rstd, n)
}

// rope rotates the queries and keys of n rows of qkv (rows of t tokens,
// the first at position pos) when positions are rotary.
func (m *Model) rope(qkv []float32, n, t, pos int) {
	c := m.Config
	if !c.Rotary() {
		return
	}
	ld, H, KV, dh := c.QKVDim(), c.Heads, c.KV(), c.HeadDim()
	kernels.RopeForward(m.Flops, qkv, m.ropeCos, m.ropeSin, n, t, pos, ld, 0, H, dh)
	kernels.RopeForward(m.Flops, qkv, m.ropeCos, m.ropeSin, n, t, pos, ld, c.QDim(), KV, dh)
}

// ffnForward runs one FFN sub-layer on n rows of its norm's output x and
// writes out = FFN(x) + res: up (and a gate), the activation into h, down.
// gate is the gate's pre-activation buffer of a gated FFN (nil otherwise).
func (m *Model) ffnForward(ff ffnView, out, x, gate, up, h, res []float32, n int) {
	c, cnt := m.Config, m.Flops
	d, f := c.DModel, c.DFF
	if c.Gated() {
		linear(cnt, kernels.FFNGate, gate, x, ff.gatew, ff.gateq, ff.gateb, nil, n, d, f)
	}
	linear(cnt, kernels.FFNUp, up, x, ff.upw, ff.upq, ff.upb, nil, n, d, f)
	switch c.MLP {
	case SwiGLU:
		kernels.SwiGLUForward(cnt, h, gate, up)
	case GeGLU:
		kernels.GeGLUForward(cnt, h, gate, up, c.ErfGELU())
	default:
		m.gelu(cnt, kernels.GELU, h, up)
	}
	linear(cnt, kernels.FFNDown, out, h, ff.downw, ff.downq, ff.downb, res, n, f, d)
}

// norm is the config's norm over n rows of d: LayerNorm (its mean and rstd
// saved) or RMSNorm (rstd only; mean and b are nil).
func (m *Model) norm(cnt *kernels.Counter, out, mean, rstd, inp, w, b []float32, n, d int) {
	c := m.Config
	if c.RMS() {
		kernels.RMSNormForward(cnt, out, rstd, inp, w, n, d, c.Eps(), c.NormGainOffset())
		return
	}
	m.layerNorm(cnt, out, mean, rstd, inp, w, b, n, d)
}

// normBack is the backward of norm.
func (m *Model) normBack(cnt *kernels.Counter, dinp, dw, db, dout, inp, w, mean, rstd []float32, n, d int) {
	c := m.Config
	if c.RMS() {
		kernels.RMSNormBackward(cnt, dinp, dw, dout, inp, w, rstd, n, d, c.NormGainOffset())
		return
	}
	kernels.LayerNormBackward(cnt, dinp, dw, db, dout, inp, w, mean, rstd, n, d)
}

// layerNorm is kernels.LayerNormForwardEps with the config's epsilon.
func (m *Model) layerNorm(cnt *kernels.Counter, out, mean, rstd, inp, w, b []float32, n, d int) {
	kernels.LayerNormForwardEps(cnt, out, mean, rstd, inp, w, b, n, d, m.Config.Eps())
}

// gelu applies the config's GELU form, counting its FLOPs under comp.
func (m *Model) gelu(cnt *kernels.Counter, comp kernels.Component, out, inp []float32) {
	if m.Config.Activation == ReLU {
		kernels.ReLUForwardFor(cnt, comp, out, inp)
		return
	}
	if m.Config.ErfGELU() {
		kernels.GELUErfForwardFor(cnt, comp, out, inp)
		return
	}
	kernels.GELUForwardFor(cnt, comp, out, inp)
}

// geluBack is the backward of gelu.
func (m *Model) geluBack(cnt *kernels.Counter, comp kernels.Component, dinp, inp, dout []float32) {
	if m.Config.Activation == ReLU {
		kernels.ReLUBackwardFor(cnt, comp, dinp, inp, dout)
		return
	}
	if m.Config.ErfGELU() {
		kernels.GELUErfBackwardFor(cnt, comp, dinp, inp, dout)
		return
	}
	kernels.GELUBackwardFor(cnt, comp, dinp, inp, dout)
}

// embed writes the embeddings of tokens (rows of t, the first token at
// position pos) into x (one row of d per token): token plus position
// embedding, through emb (one row of E per token) and the E -> d projection
// when factorized. It serves Forward and Decoder.Step; an encoder's
// embeddings (token types, LayerNorm) are ForwardMLM's own.
func (m *Model) embed(x, emb []float32, tokens []int32, t, pos int) {
	c, cnt := m.Config, m.Flops
	n, d := len(tokens), c.DModel
	lookup := func(out []float32, e int) {
		if m.p.wteq != nil {
			lookupLow(cnt, out, m.p.wteq, m.p.wpe, tokens, t, e, pos, c.EmbedMultiplier(), c.Rotary() || c.EmbedScale)
			return
		}
		if c.Rotary() || c.EmbedScale {
			kernels.ScaledEmbeddingForward(cnt, out, m.p.wte, m.p.wpe, tokens, t, e, pos, c.EmbedMultiplier())
			return
		}
		kernels.EmbeddingForward(cnt, out, m.p.wte, m.p.wpe, tokens, t, e, pos)
	}
	if c.Factorized() {
		e := c.E()
		lookup(emb, e)
		linear(cnt, kernels.EmbedProj, x, emb, m.p.projw, m.p.eprojq, m.p.projb, nil, n, e, d)
		return
	}
	lookup(x, d)
}

// headOut are the buffers the output head writes for r rows: with a head,
// the dense, GELU and LayerNorm outputs (r·E each) and the LayerNorm
// statistics (r each); always the logits (r·V).
type headOut struct{ hd, hg, hl, mean, rstd, logits []float32 }

// head is the activations' headOut.
func (a *activations) head() headOut {
	return headOut{hd: a.hd, hg: a.hg, hl: a.hl, mean: a.hlm, rstd: a.hlr, logits: a.logits}
}

// headForward computes the logits of r rows of final hidden states x[r×d]
// into o: x·Wᵀ for a plain decoder; dense d -> E, GELU, LayerNorm(E), then
// ·Wᵀ + bias with a head.
func (m *Model) headForward(o headOut, x []float32, r int) {
	c, cnt := m.Config, m.Flops
	d, v := c.DModel, c.Vocab
	if !c.HasHead() {
		linear(cnt, kernels.Logits, o.logits, x, m.p.head, m.p.headq, nil, nil, r, d, v)
		return
	}
	e := c.E()
	linear(cnt, kernels.MLMDense, o.hd, x, m.p.hdw, m.p.hdq, m.p.hdb, nil, r, d, e)
	m.gelu(cnt, kernels.MLMDense, o.hg, o.hd)
	m.layerNorm(cnt, o.hl, o.mean, o.rstd, o.hg, m.p.hlnw, m.p.hlnb, r, e)
	linear(cnt, kernels.Logits, o.logits, o.hl, m.p.head, m.p.headq, m.p.hbias, nil, r, e, v)
}

// capLogits soft-caps the logits of r rows in place (FinalSoftcap; a
// no-op when 0).
func (m *Model) capLogits(logits []float32, r int) {
	if c := m.Config.FinalSoftcap; c != 0 {
		kernels.SoftcapForward(m.Flops, logits[:r*m.Config.Vocab], float32(c))
	}
}

// headBackward takes dlogits (in the activations' probs) back through the
// head, writing the gradient with respect to its input x[r×d] into dx.
func (m *Model) headBackward(x, dx []float32, r int) {
	c, a, cnt := m.Config, m.act, m.Flops
	d, v := c.DModel, c.Vocab
	dlogits := a.probs
	if !c.HasHead() {
		kernels.LinearBackwardTo(cnt, kernels.Logits, dx, m.g.head, nil, dlogits, x, m.p.head, r, d, v)
		return
	}
	e := c.E()
	kernels.LinearBackwardTo(cnt, kernels.Logits, a.hdA, m.g.head, m.g.hbias, dlogits, a.hl, m.p.head, r, e, v)
	clear(a.hdB)
	kernels.LayerNormBackward(cnt, a.hdB, m.g.hlnw, m.g.hlnb, a.hdA, a.hg, m.p.hlnw, a.hlm, a.hlr, r, e)
	clear(a.hdA)
	m.geluBack(cnt, kernels.MLMDense, a.hdA, a.hd, a.hdB)
	kernels.LinearBackwardTo(cnt, kernels.MLMDense, dx, m.g.hdw, m.g.hdb, a.hdA, x, m.p.hdw, r, d, e)
}

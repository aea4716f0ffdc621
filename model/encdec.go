package model

import (
	"errors"
	"fmt"
	"math"

	"github.com/tformer/tformer/kernels"
)

// crossView is one decoder layer's cross-attention block: its norm, the
// query projection (target rows), the key/value projection (source rows)
// and the output projection.
type crossView struct{ lnw, lnb, qw, qb, kvw, kvb, projw, projb []float32 }

// stackView is one stack's tensors: token and position tables (wpe nil when
// sinusoidal), blocks and final norm (pre-LN).
type stackView struct {
	wte, wpe   []float32 // wpe from position 0 (after PosOffset rows)
	elnw, elnb []float32 // embed-norm
	attn       []attnView
	ffn        []ffnView
	lnfw, lnfb []float32
}

// edViews are an encoder–decoder's named tensors of one slab.
type edViews struct {
	enc, dec stackView
	cross    []crossView
	head     []float32 // the output matrix: wte when tied, else lm_head
}

// edState is an encoder–decoder's engine state beside Model's slabs.
type edState struct {
	p, g edViews
	sin  []float32 // sinusoidal positions [MaxSeq×d] (nil when learned)
	act  *edActs
}

func (m *Model) edViews(slab []float32) edViews {
	c := m.Config
	s := func(name string) []float32 {
		if _, ok := m.Layout.Lookup(name); !ok {
			return nil
		}
		return m.Layout.Slice(slab, name)
	}
	stack := func(prefix string, sc Config) stackView {
		v := stackView{wte: s(prefix + "wte"), wpe: s(prefix + "wpe"), lnfw: s(prefix + "lnf.w"), lnfb: s(prefix + "lnf.b"),
			elnw: s(prefix + "emb_ln.w"), elnb: s(prefix + "emb_ln.b")}
		if v.wpe != nil {
			v.wpe = v.wpe[c.PosOffset*c.DModel:]
		}
		for i := 0; i < sc.AttnBlocks(); i++ {
			p := fmt.Sprintf("%sattn.%d.", prefix, i)
			v.attn = append(v.attn, attnView{lnw: s(p + "ln.w"), lnb: s(p + "ln.b"), qkvw: s(p + "qkv.w"), qkvb: s(p + "qkv.b"), projw: s(p + "proj.w"), projb: s(p + "proj.b")})
		}
		for i := 0; i < sc.FFNBlocks(); i++ {
			p := fmt.Sprintf("%sffn.%d.", prefix, i)
			v.ffn = append(v.ffn, ffnView{lnw: s(p + "ln.w"), lnb: s(p + "ln.b"), upw: s(p + "up.w"), upb: s(p + "up.b"), downw: s(p + "down.w"), downb: s(p + "down.b"),
				gatew: s(p + "gate.w"), gateb: s(p + "gate.b")})
		}
		return v
	}
	v := edViews{enc: stack("enc.", c.EncoderStack()), dec: stack("", c)}
	if c.ShareStacks {
		v.dec.attn, v.dec.ffn = v.enc.attn, v.enc.ffn
	}
	if c.TyingMode() == TieAll {
		v.enc.wte = v.dec.wte
	}
	if c.Tie {
		v.head = v.dec.wte
	} else {
		v.head = s("lm_head")
	}
	for i := 0; i < c.AttnBlocks(); i++ {
		p := fmt.Sprintf("cross.%d.", i)
		v.cross = append(v.cross, crossView{s(p + "ln.w"), s(p + "ln.b"), s(p + "q.w"), s(p + "q.b"), s(p + "kv.w"), s(p + "kv.b"), s(p + "proj.w"), s(p + "proj.b")})
	}
	return v
}

// newEdState builds the views of an encoder–decoder model.
func (m *Model) newEdState() *edState {
	st := &edState{p: m.edViews(m.Params), g: m.edViews(m.Grads)}
	if m.Config.Sinusoidal() {
		st.sin = SinusoidalTable(m.Config.MaxSeq, m.Config.DModel)
	}
	return st
}

// SinusoidalTable returns Vaswani et al.'s fixed position encodings for n
// positions of width d (even): PE[p][2i] = sin(p / 10000^(2i/d)) and
// PE[p][2i+1] = cos(p / 10000^(2i/d)), computed in float64, stored as
// float32 row after row.
func SinusoidalTable(n, d int) []float32 {
	t := make([]float32, n*d)
	for p := 0; p < n; p++ {
		for i := 0; i < d/2; i++ {
			a := float64(p) / math.Pow(10000, float64(2*i)/float64(d))
			t[p*d+2*i] = float32(math.Sin(a))
			t[p*d+2*i+1] = float32(math.Cos(a))
		}
	}
	return t
}

// Seq2SeqBatch is the input of an encoder–decoder's teacher-forced pass: B
// (source, target) pairs, sources padded to SrcT tokens and targets to TgtT.
type Seq2SeqBatch struct {
	B, SrcT, TgtT int
	// Src holds the B·SrcT source ids; the positions after a source's
	// length are padding, masked as keys (their ids must still be in the
	// vocabulary).
	Src []int32
	// SrcLens holds each source's number of real tokens in [1, SrcT]; nil
	// means every source is full.
	SrcLens []int32
	// Tgt holds the B·TgtT decoder inputs: the target shifted right behind
	// a start id (teacher forcing).
	Tgt []int32
	// TgtLens holds each target's number of predicted positions in
	// [1, TgtT]: the rows after them are padding, neither predicted nor
	// counted. nil means every row is predicted.
	TgtLens []int32
	// Targets holds the B·TgtT ids each decoder position must predict
	// (ignored after TgtLens). With nil Targets only the logits are
	// computed (and Backward cannot follow).
	Targets []int32
}

// Seq2SeqResult is the outcome of ForwardSeq2Seq.
type Seq2SeqResult struct {
	Loss    float32 // mean cross-entropy over the predicted target positions (0 without targets)
	Correct int     // predicted positions whose most likely token is the target
	Count   int     // predicted positions
}

// subAct is one sub-layer's saved tensors: its norm's output and statistics
// and the residual sum s = x + f(·). Pre-LN: ln = LN(x), s = x + f(ln) is
// the output. Post-LN: s = x + f(x), ln = LN(s) is the output.
type subAct struct{ ln, mean, rstd, s []float32 }

// stackActs are one stack's saved tensors over n = b·t rows, and its
// backward scratch.
type stackActs struct {
	x0                  []float32  // embedding output n·d (after the embed-norm)
	emb, embm, embr     []float32  // embed-norm: its input n·d and statistics
	sub                 [][]subAct // layers × sub-layers
	qkv, lse, atty      [][]float32
	fgate, fch, fchg    [][]float32
	lnf, lnfm, lnfr     []float32 // pre-LN final norm
	dres, dln, datty    []float32 // n·d
	dqkv                []float32 // n·3d
	dfch, dfchg         []float32 // n·f
	dgate, gscr         []float32 // gated FFN
	tokens              []int32
	lens                []int32 // b (nil when full)
	haveLens            bool
	b, t, n, layers, ks int
}

// edActs are the saved tensors of one ForwardSeq2Seq shape.
type edActs struct {
	enc, dec stackActs
	// cross-attention per decoder layer: queries (nt·d), keys and values
	// of the source (ns·2d), log-sum-exps (b·H·tt), outputs (nt·d)
	cq, ckv, clse, catty [][]float32
	dq, dkv, denc        []float32 // backward scratch: nt·d, ns·2d, ns·d
	// output over the R predicted rows
	rows                  int
	positions             []int32 // R row indices into the decoder's n rows
	hin, dhin             []float32
	logits, probs, losses []float32
	targets               []int32
	haveLoss              bool
}

func newStackActs(c Config, b, t, layers, ks int) stackActs {
	n, d, f := b*t, c.DModel, c.DFF
	s := stackActs{b: b, t: t, n: n, layers: layers, ks: ks, x0: make([]float32, n*d), tokens: make([]int32, n), lens: make([]int32, b)}
	mk := func(k int) [][]float32 {
		out := make([][]float32, layers)
		for i := range out {
			out[i] = make([]float32, k)
		}
		return out
	}
	s.sub = make([][]subAct, layers)
	for l := range s.sub {
		s.sub[l] = make([]subAct, ks)
		for k := range s.sub[l] {
			sa := subAct{ln: make([]float32, n*d), rstd: make([]float32, n), s: make([]float32, n*d)}
			if !c.RMS() {
				sa.mean = make([]float32, n)
			}
			s.sub[l][k] = sa
		}
	}
	s.qkv, s.lse, s.atty = mk(n*3*d), mk(b*c.Heads*t), mk(n*d)
	if c.EmbedNorm {
		s.emb, s.embr = make([]float32, n*d), make([]float32, n)
		if !c.RMS() {
			s.embm = make([]float32, n)
		}
	}
	s.fch, s.fchg = mk(n*f), mk(n*f)
	s.dres, s.dln, s.datty, s.dqkv = make([]float32, n*d), make([]float32, n*d), make([]float32, n*d), make([]float32, n*3*d)
	s.dfch, s.dfchg = make([]float32, n*f), make([]float32, n*f)
	if c.Gated() {
		s.fgate, s.dgate = mk(n*f), make([]float32, n*f)
		if c.MLP == GeGLU {
			s.gscr = make([]float32, n*f)
		}
	}
	if !c.PostLN {
		s.lnf, s.lnfr = make([]float32, n*d), make([]float32, n)
		if !c.RMS() {
			s.lnfm = make([]float32, n)
		}
	}
	return s
}

func newEdActs(c Config, b, ts, tt int) *edActs {
	d := c.DModel
	a := &edActs{enc: newStackActs(c, b, ts, c.EncLayers, 2), dec: newStackActs(c, b, tt, c.Layers, 3)}
	ns, nt := b*ts, b*tt
	for l := 0; l < c.Layers; l++ {
		a.cq = append(a.cq, make([]float32, nt*d))
		a.ckv = append(a.ckv, make([]float32, ns*2*d))
		a.clse = append(a.clse, make([]float32, b*c.Heads*tt))
		a.catty = append(a.catty, make([]float32, nt*d))
	}
	a.dq, a.dkv, a.denc = make([]float32, nt*d), make([]float32, ns*2*d), make([]float32, ns*d)
	return a
}

// setRows sizes the output's buffers for r predicted rows.
//
// The buffers are allocated for every row of the batch (b·tt) once and
// resliced, so batches of one shape allocate nothing whatever their target
// lengths.
func (a *edActs) setRows(c Config, r int) {
	if a.logits == nil {
		n := a.dec.n
		a.positions, a.targets = make([]int32, n), make([]int32, n)
		a.hin, a.dhin = make([]float32, n*c.DModel), make([]float32, n*c.DModel)
		a.logits, a.probs, a.losses = make([]float32, n*c.Vocab), make([]float32, n*c.Vocab), make([]float32, n)
	}
	a.rows = r
	a.positions, a.targets = a.positions[:r], a.targets[:r]
	a.hin, a.dhin = a.hin[:r*c.DModel], a.dhin[:r*c.DModel]
	a.logits, a.probs, a.losses = a.logits[:r*c.Vocab], a.probs[:r*c.Vocab], a.losses[:r]
}

// floats is the number of float32 values the stack's buffers hold.
func (s *stackActs) floats() int64 {
	var n int64
	for _, l := range s.sub {
		for _, sa := range l {
			n += int64(len(sa.ln) + len(sa.mean) + len(sa.rstd) + len(sa.s))
		}
	}
	for _, g := range [][][]float32{s.qkv, s.lse, s.atty, s.fgate, s.fch, s.fchg} {
		for _, x := range g {
			n += int64(len(x))
		}
	}
	for _, x := range [][]float32{s.x0, s.emb, s.embm, s.embr, s.lnf, s.lnfm, s.lnfr, s.dres, s.dln, s.datty, s.dqkv, s.dfch, s.dfchg, s.dgate, s.gscr} {
		n += int64(len(x))
	}
	return n
}

// floats is the number of float32 values an encoder–decoder's activation
// buffers hold (0 before any forward pass); the output's at the last
// batch's number of predicted rows.
func (a *edActs) floats() int64 {
	if a == nil {
		return 0
	}
	n := a.enc.floats() + a.dec.floats()
	for _, g := range [][][]float32{a.cq, a.ckv, a.clse, a.catty} {
		for _, x := range g {
			n += int64(len(x))
		}
	}
	for _, x := range [][]float32{a.dq, a.dkv, a.denc, a.hin, a.dhin, a.logits, a.probs, a.losses} {
		n += int64(len(x))
	}
	return n
}

// output is the stack's output: the final norm's (pre-LN) or the last
// sub-layer's.
func (s *stackActs) output(post bool) []float32 {
	if !post {
		return s.lnf
	}
	return s.sub[s.layers-1][s.ks-1].ln
}

// input is the input of sub-layer k of layer l.
func (s *stackActs) input(post bool, l, k int) []float32 {
	switch {
	case k > 0:
		return s.sub[l][k-1].out(post)
	case l > 0:
		return s.sub[l-1][s.ks-1].out(post)
	}
	return s.x0
}

// out is the sub-layer's output.
func (sa subAct) out(post bool) []float32 {
	if post {
		return sa.ln
	}
	return sa.s
}

// last is the last layer's output, before a pre-LN final norm.
func (s *stackActs) last(post bool) []float32 { return s.sub[s.layers-1][s.ks-1].out(post) }

// checkSeq2Seq validates a batch before anything is sized from it.
func (m *Model) checkSeq2Seq(x *Seq2SeqBatch) error {
	c := m.Config
	if x.B <= 0 || x.SrcT <= 0 || x.TgtT <= 0 {
		return fmt.Errorf("batch (%d), source length (%d) and target length (%d) must be positive", x.B, x.SrcT, x.TgtT)
	}
	if x.SrcT > c.MaxSeq {
		return fmt.Errorf("source length %d exceeds the encoder's context of %d", x.SrcT, c.MaxSeq)
	}
	if x.TgtT > c.MaxSeq {
		return fmt.Errorf("target length %d exceeds the decoder's context of %d", x.TgtT, c.MaxSeq)
	}
	if x.B > len(x.Src) || x.B > len(x.Tgt) {
		return fmt.Errorf("batch %d is more pairs than %d source and %d target ids hold", x.B, len(x.Src), len(x.Tgt))
	}
	ns, nt := x.B*x.SrcT, x.B*x.TgtT
	if len(x.Src) != ns || len(x.Tgt) != nt {
		return fmt.Errorf("want %d×%d = %d source and %d×%d = %d target ids, got %d and %d", x.B, x.SrcT, ns, x.B, x.TgtT, nt, len(x.Src), len(x.Tgt))
	}
	if x.Targets != nil && len(x.Targets) != nt {
		return fmt.Errorf("want %d targets (one per decoder position), got %d", nt, len(x.Targets))
	}
	for _, l := range []struct {
		what string
		lens []int32
		t    int
	}{{"source", x.SrcLens, x.SrcT}, {"target", x.TgtLens, x.TgtT}} {
		if l.lens == nil {
			continue
		}
		if len(l.lens) != x.B {
			return fmt.Errorf("want %d %s lengths, got %d", x.B, l.what, len(l.lens))
		}
		for r, v := range l.lens {
			if v < 1 || int(v) > l.t {
				return fmt.Errorf("%s length[%d] = %d is outside [1, %d]", l.what, r, v, l.t)
			}
		}
	}
	if err := m.checkTokens("source", x.Src); err != nil {
		return err
	}
	if err := m.checkTokens("target input", x.Tgt); err != nil {
		return err
	}
	if x.Targets != nil {
		for i, id := range x.Targets {
			if x.TgtLens != nil && i%x.TgtT >= int(x.TgtLens[i/x.TgtT]) {
				continue // padding: ignored
			}
			if id < 0 || int(id) >= c.Vocab {
				return fmt.Errorf("target[%d] = %d is outside the vocabulary [0, %d)", i, id, c.Vocab)
			}
		}
	}
	return nil
}

// encFlops is the counter the encoder stack counts into.
func (m *Model) encFlops() *kernels.Counter {
	if m.EncFlops != nil {
		return m.EncFlops
	}
	return m.Flops
}

// ForwardSeq2Seq runs an encoder–decoder on x: the encoder over the
// sources, the decoder over the target inputs with cross-attention to the
// encoder's output, and the logits of the predicted target rows (in order:
// pair by pair, position by position). With targets it returns their mean
// cross-entropy and the number of correct predictions and keeps what
// Backward needs.
func (m *Model) ForwardSeq2Seq(x Seq2SeqBatch) (Seq2SeqResult, error) {
	c := m.Config
	if !c.IsEncDec() {
		return Seq2SeqResult{}, errors.New("forward: this model is not an encoder-decoder (arch encdec)")
	}
	if err := m.checkSeq2Seq(&x); err != nil {
		return Seq2SeqResult{}, fmt.Errorf("forward: %w", err)
	}
	st := m.ed
	if a := st.act; a == nil || a.enc.b != x.B || a.enc.t != x.SrcT || a.dec.t != x.TgtT {
		st.act = nil
		st.act = newEdActs(c, x.B, x.SrcT, x.TgtT)
	}
	a := st.act
	rows := x.B * x.TgtT
	if x.TgtLens != nil {
		rows = 0
		for _, l := range x.TgtLens {
			rows += int(l)
		}
	}
	a.setRows(c, rows)
	r := 0
	for bi := 0; bi < x.B; bi++ {
		n := x.TgtT
		if x.TgtLens != nil {
			n = int(x.TgtLens[bi])
		}
		for i := 0; i < n; i++ {
			a.positions[r] = int32(bi*x.TgtT + i)
			if x.Targets != nil {
				a.targets[r] = x.Targets[bi*x.TgtT+i]
			}
			r++
		}
	}
	copy(a.enc.tokens, x.Src)
	copy(a.dec.tokens, x.Tgt)
	a.enc.haveLens = x.SrcLens != nil
	if a.enc.haveLens {
		copy(a.enc.lens, x.SrcLens)
	}
	m.encodeForward(m.encFlops(), &a.enc)
	m.decodeForward(a)
	a.haveLoss = x.Targets != nil
	res := Seq2SeqResult{Count: rows}
	if x.Targets == nil {
		return res, nil
	}
	res.Loss = kernels.CrossEntropyForward(m.Flops, a.probs, a.losses, a.logits, a.targets, rows, c.Vocab)
	res.Correct = countCorrect(a.logits, a.targets, c.Vocab)
	return res, nil
}

// keyLens is the stack's key lengths for attention (nil when full).
func (s *stackActs) keyLens() []int32 {
	if s.haveLens {
		return s.lens
	}
	return nil
}

// positionTable is a stack's position table: learned or sinusoidal.
func (m *Model) positionTable(v stackView) []float32 {
	if m.ed.sin != nil {
		return m.ed.sin
	}
	return v.wpe
}

// encodeForward runs the encoder stack over s's tokens (key lengths
// s.keyLens()), counting into cnt.
func (m *Model) encodeForward(cnt *kernels.Counter, s *stackActs) {
	c, p := m.Config, m.ed.p
	post := c.PostLN
	ec := c.EncoderStack()
	cnt.Mark()
	m.edEmbed(cnt, s, p.enc)
	for l := 0; l < ec.Layers; l++ {
		at, ff := p.enc.attn[ec.AttnIndex(l)], p.enc.ffn[ec.FFNIndex(l)]
		in := s.input(post, l, 0)
		fin := m.subPre(cnt, s.sub[l][0], in, at.lnw, at.lnb, s.n)
		m.selfAttnFwd(cnt, at, fin, in, s.sub[l][0].s, s.qkv[l], s.atty[l], s.lse[l], s.keyLens(), s.b, s.t, false)
		m.subPost(cnt, s.sub[l][0], at.lnw, at.lnb, s.n)
		in = s.input(post, l, 1)
		fin = m.subPre(cnt, s.sub[l][1], in, ff.lnw, ff.lnb, s.n)
		m.ffnFwd(cnt, ff, s.sub[l][1].s, fin, at2(s.fgate, l), s.fch[l], s.fchg[l], in, s.n)
		m.subPost(cnt, s.sub[l][1], ff.lnw, ff.lnb, s.n)
	}
	if !post {
		m.norm(cnt, s.lnf, s.lnfm, s.lnfr, s.last(post), p.enc.lnfw, p.enc.lnfb, s.n, c.DModel)
	}
}

// decodeForward runs the decoder stack over a.dec's tokens with
// cross-attention to the encoder's output, and the logits of the predicted
// rows.
func (m *Model) decodeForward(a *edActs) {
	c, p, cnt := m.Config, m.ed.p, m.Flops
	post := c.PostLN
	s := &a.dec
	d := c.DModel
	enc := a.enc.output(post)
	ns := a.enc.n
	cnt.Mark()
	m.edEmbed(cnt, s, p.dec)
	for l := 0; l < c.Layers; l++ {
		ai := c.AttnIndex(l)
		at, cr, ff := p.dec.attn[ai], p.cross[ai], p.dec.ffn[c.FFNIndex(l)]
		in := s.input(post, l, 0)
		fin := m.subPre(cnt, s.sub[l][0], in, at.lnw, at.lnb, s.n)
		m.selfAttnFwd(cnt, at, fin, in, s.sub[l][0].s, s.qkv[l], s.atty[l], s.lse[l], nil, s.b, s.t, true)
		m.subPost(cnt, s.sub[l][0], at.lnw, at.lnb, s.n)
		// Cross-attention: keys and values once from the source rows.
		kernels.LinearForward(cnt, kernels.CrossQKV, a.ckv[l], enc, cr.kvw, cr.kvb, nil, ns, d, 2*d)
		in = s.input(post, l, 1)
		fin = m.subPre(cnt, s.sub[l][1], in, cr.lnw, cr.lnb, s.n)
		kernels.LinearForward(cnt, kernels.CrossQKV, a.cq[l], fin, cr.qw, cr.qb, nil, s.n, d, d)
		kernels.CrossAttentionForward(cnt, a.catty[l], a.clse[l], a.cq[l], a.ckv[l], a.enc.keyLens(), s.b, s.t, a.enc.t, c.Heads, c.HeadDim())
		kernels.LinearForward(cnt, kernels.CrossOut, s.sub[l][1].s, a.catty[l], cr.projw, cr.projb, in, s.n, d, d)
		m.subPost(cnt, s.sub[l][1], cr.lnw, cr.lnb, s.n)
		in = s.input(post, l, 2)
		fin = m.subPre(cnt, s.sub[l][2], in, ff.lnw, ff.lnb, s.n)
		m.ffnFwd(cnt, ff, s.sub[l][2].s, fin, at2(s.fgate, l), s.fch[l], s.fchg[l], in, s.n)
		m.subPost(cnt, s.sub[l][2], ff.lnw, ff.lnb, s.n)
	}
	if !post {
		m.norm(cnt, s.lnf, s.lnfm, s.lnfr, s.last(post), p.dec.lnfw, p.dec.lnfb, s.n, d)
	}
	out := s.output(post)
	for i, r := range a.positions {
		copy(a.hin[i*d:(i+1)*d], out[int(r)*d:(int(r)+1)*d])
	}
	kernels.LinearForward(cnt, kernels.Logits, a.logits, a.hin, p.head, nil, nil, a.rows, d, c.Vocab)
}

// edEmbed writes a stack's input x0: the scaled token embedding plus the
// position's, then the embed-norm when the config has it.
func (m *Model) edEmbed(cnt *kernels.Counter, s *stackActs, v stackView) {
	c := m.Config
	out := s.x0
	if c.EmbedNorm {
		out = s.emb
	}
	kernels.ScaledEmbeddingForward(cnt, out, v.wte, m.positionTable(v), s.tokens, s.t, c.DModel, 0, c.EmbedMultiplier())
	if c.EmbedNorm {
		m.norm(cnt, s.x0, s.embm, s.embr, s.emb, v.elnw, v.elnb, s.n, c.DModel)
	}
}

// edEmbedBack takes s.dres, the gradient of x0, back into the stack's
// tables (through the embed-norm; s.dln is its scratch).
func (m *Model) edEmbedBack(cnt *kernels.Counter, s *stackActs, v, g stackView) {
	c := m.Config
	dout := s.dres
	if c.EmbedNorm {
		clear(s.dln)
		m.normBack(cnt, s.dln, g.elnw, g.elnb, s.dres, s.emb, v.elnw, s.embm, s.embr, s.n, c.DModel)
		dout = s.dln
	}
	kernels.ScaledEmbeddingBackward(cnt, g.wte, g.wpe, dout, s.tokens, s.t, c.DModel, c.EmbedMultiplier())
}

// subPre is a sub-layer's work before its function: pre-LN normalises x
// into sa.ln and returns it (the function's input); post-LN returns x.
func (m *Model) subPre(cnt *kernels.Counter, sa subAct, x, w, b []float32, n int) []float32 {
	if m.Config.PostLN {
		return x
	}
	m.norm(cnt, sa.ln, sa.mean, sa.rstd, x, w, b, n, m.Config.DModel)
	return sa.ln
}

// subPost is a sub-layer's work after its function: post-LN normalises the
// residual sum sa.s into sa.ln (the output).
func (m *Model) subPost(cnt *kernels.Counter, sa subAct, w, b []float32, n int) {
	if m.Config.PostLN {
		m.norm(cnt, sa.ln, sa.mean, sa.rstd, sa.s, w, b, n, m.Config.DModel)
	}
}

// selfAttnFwd writes out = res + proj(attention(qkv(x))) over b rows of t:
// causal, or bidirectional with key lengths lens (nil: full).
func (m *Model) selfAttnFwd(cnt *kernels.Counter, at attnView, x, res, out, qkv, atty, lse []float32, lens []int32, b, t int, causal bool) {
	c := m.Config
	n, d, H := b*t, c.DModel, c.Heads
	kernels.LinearForward(cnt, kernels.QKV, qkv, x, at.qkvw, at.qkvb, nil, n, d, 3*d)
	if causal {
		kernels.AttentionForwardGQA(cnt, atty, lse, qkv, b, t, H, H, c.HeadDim(), true)
	} else {
		kernels.AttentionForwardPadded(cnt, atty, lse, qkv, lens, b, t, d, H)
	}
	kernels.LinearForward(cnt, kernels.AttnOut, out, atty, at.projw, at.projb, res, n, d, d)
}

// ffnFwd is ffnForward counting into cnt.
func (m *Model) ffnFwd(cnt *kernels.Counter, ff ffnView, out, x, gate, up, h, res []float32, n int) {
	c := m.Config
	d, f := c.DModel, c.DFF
	if c.Gated() {
		kernels.LinearForward(cnt, kernels.FFNGate, gate, x, ff.gatew, ff.gateb, nil, n, d, f)
	}
	kernels.LinearForward(cnt, kernels.FFNUp, up, x, ff.upw, ff.upb, nil, n, d, f)
	switch c.MLP {
	case SwiGLU:
		kernels.SwiGLUForward(cnt, h, gate, up)
	case GeGLU:
		kernels.GeGLUForward(cnt, h, gate, up, c.ErfGELU())
	default:
		m.gelu(cnt, kernels.GELU, h, up)
	}
	kernels.LinearForward(cnt, kernels.FFNDown, out, h, ff.downw, ff.downb, res, n, f, d)
}

// ffnBack adds the gradient of an FFN's input (fin) into dinp given dout,
// the gradient of its output, accumulating its weight gradients.
func (m *Model) ffnBack(cnt *kernels.Counter, s *stackActs, l int, ff, gff ffnView, dinp, dout, fin []float32) {
	c := m.Config
	n, d, f := s.n, c.DModel, c.DFF
	kernels.LinearBackwardTo(cnt, kernels.FFNDown, s.dfchg, gff.downw, gff.downb, dout, s.fchg[l], ff.downw, n, f, d)
	clear(s.dfch)
	if c.Gated() {
		clear(s.dgate)
		switch c.MLP {
		case SwiGLU:
			kernels.SwiGLUBackward(cnt, s.dgate, s.dfch, s.fgate[l], s.fch[l], s.dfchg)
		default:
			kernels.GeGLUBackward(cnt, s.dgate, s.dfch, s.fgate[l], s.fch[l], s.dfchg, s.gscr, c.ErfGELU())
		}
		kernels.LinearBackward(cnt, kernels.FFNGate, dinp, gff.gatew, gff.gateb, s.dgate, fin, ff.gatew, n, d, f)
	} else {
		m.geluBack(cnt, kernels.GELU, s.dfch, s.fch[l], s.dfchg)
	}
	kernels.LinearBackward(cnt, kernels.FFNUp, dinp, gff.upw, gff.upb, s.dfch, fin, ff.upw, n, d, f)
}

// selfAttnBack adds the gradient of a self-attention sub-layer's input
// (fin) into dinp given dout.
func (m *Model) selfAttnBack(cnt *kernels.Counter, s *stackActs, l int, at, gat attnView, dinp, dout, fin []float32, lens []int32, causal bool) {
	c := m.Config
	n, d, H := s.n, c.DModel, c.Heads
	kernels.LinearBackwardTo(cnt, kernels.AttnOut, s.datty, gat.projw, gat.projb, dout, s.atty[l], at.projw, n, d, d)
	clear(s.dqkv)
	if causal {
		kernels.AttentionBackwardGQA(cnt, s.dqkv, s.datty, s.qkv[l], s.atty[l], s.lse[l], s.b, s.t, H, H, c.HeadDim(), true)
	} else {
		kernels.AttentionBackwardPadded(cnt, s.dqkv, s.datty, s.qkv[l], s.atty[l], s.lse[l], lens, s.b, s.t, d, H)
	}
	kernels.LinearBackward(cnt, kernels.QKV, dinp, gat.qkvw, gat.qkvb, s.dqkv, fin, at.qkvw, n, d, 3*d)
}

// subBack takes s.dres (the gradient of sub-layer k of layer l's output)
// to the gradient of its input, in place; fback adds the gradient of the
// function's input into its dinp given the gradient of its output.
func (m *Model) subBack(cnt *kernels.Counter, s *stackActs, l, k int, w, gw, gb []float32, fback func(dinp, dout, fin []float32)) {
	c := m.Config
	sa := s.sub[l][k]
	in := s.input(c.PostLN, l, k)
	n, d := s.n, c.DModel
	clear(s.dln)
	if c.PostLN {
		m.normBack(cnt, s.dln, gw, gb, s.dres, sa.s, w, sa.mean, sa.rstd, n, d)
		copy(s.dres, s.dln) // the skip connection's share
		fback(s.dres, s.dln, in)
		return
	}
	fback(s.dln, s.dres, sa.ln)
	m.normBack(cnt, s.dres, gw, gb, s.dln, in, w, sa.mean, sa.rstd, n, d)
}

// backwardEncDec is Backward after ForwardSeq2Seq.
func (m *Model) backwardEncDec() {
	c, st, cnt := m.Config, m.ed, m.Flops
	a, p, g := st.act, st.p, st.g
	post := c.PostLN
	s, e := &a.dec, &a.enc
	d := c.DModel
	cnt.Mark()
	kernels.CrossEntropyBackward(cnt, a.probs, a.probs, a.targets, 1/float32(a.rows), a.rows, c.Vocab)
	a.haveLoss = false // probs now hold dlogits
	kernels.LinearBackwardTo(cnt, kernels.Logits, a.dhin, g.head, nil, a.probs, a.hin, p.head, a.rows, d, c.Vocab)
	dout := s.dres // the gradient of the decoder's output
	if !post {
		dout = s.dln
	}
	clear(dout)
	for i, r := range a.positions {
		dst := dout[int(r)*d : (int(r)+1)*d]
		for j, v := range a.dhin[i*d : (i+1)*d] {
			dst[j] += v
		}
	}
	if !post {
		clear(s.dres)
		m.normBack(cnt, s.dres, g.dec.lnfw, g.dec.lnfb, s.dln, s.last(post), p.dec.lnfw, s.lnfm, s.lnfr, s.n, d)
	}
	enc := e.output(post)
	clear(a.denc)
	for l := c.Layers - 1; l >= 0; l-- {
		ai, fi := c.AttnIndex(l), c.FFNIndex(l)
		at, cr, ff := p.dec.attn[ai], p.cross[ai], p.dec.ffn[fi]
		gat, gcr, gff := g.dec.attn[ai], g.cross[ai], g.dec.ffn[fi]
		m.subBack(cnt, s, l, 2, ff.lnw, gff.lnw, gff.lnb, func(dinp, dout, fin []float32) {
			m.ffnBack(cnt, s, l, ff, gff, dinp, dout, fin)
		})
		m.subBack(cnt, s, l, 1, cr.lnw, gcr.lnw, gcr.lnb, func(dinp, dout, fin []float32) {
			kernels.LinearBackwardTo(cnt, kernels.CrossOut, s.datty, gcr.projw, gcr.projb, dout, a.catty[l], cr.projw, s.n, d, d)
			clear(a.dq)
			clear(a.dkv)
			kernels.CrossAttentionBackward(cnt, a.dq, a.dkv, s.datty, a.cq[l], a.ckv[l], a.catty[l], a.clse[l], e.keyLens(), s.b, s.t, e.t, c.Heads, c.HeadDim())
			kernels.LinearBackward(cnt, kernels.CrossQKV, dinp, gcr.qw, gcr.qb, a.dq, fin, cr.qw, s.n, d, d)
			kernels.LinearBackward(cnt, kernels.CrossQKV, a.denc, gcr.kvw, gcr.kvb, a.dkv, enc, cr.kvw, e.n, d, 2*d)
		})
		m.subBack(cnt, s, l, 0, at.lnw, gat.lnw, gat.lnb, func(dinp, dout, fin []float32) {
			m.selfAttnBack(cnt, s, l, at, gat, dinp, dout, fin, nil, true)
		})
	}
	m.edEmbedBack(cnt, s, p.dec, g.dec)

	// The encoder, from the gradient of its output that every decoder
	// layer's keys and values sent back.
	cnt = m.encFlops()
	cnt.Mark()
	if post {
		copy(e.dres, a.denc)
	} else {
		clear(e.dres)
		m.normBack(cnt, e.dres, g.enc.lnfw, g.enc.lnfb, a.denc, e.last(post), p.enc.lnfw, e.lnfm, e.lnfr, e.n, d)
	}
	ec := c.EncoderStack()
	for l := ec.Layers - 1; l >= 0; l-- {
		ai, fi := ec.AttnIndex(l), ec.FFNIndex(l)
		at, ff := p.enc.attn[ai], p.enc.ffn[fi]
		gat, gff := g.enc.attn[ai], g.enc.ffn[fi]
		m.subBack(cnt, e, l, 1, ff.lnw, gff.lnw, gff.lnb, func(dinp, dout, fin []float32) {
			m.ffnBack(cnt, e, l, ff, gff, dinp, dout, fin)
		})
		m.subBack(cnt, e, l, 0, at.lnw, gat.lnw, gat.lnb, func(dinp, dout, fin []float32) {
			m.selfAttnBack(cnt, e, l, at, gat, dinp, dout, fin, e.keyLens(), false)
		})
	}
	m.edEmbedBack(cnt, e, p.enc, g.enc)
}

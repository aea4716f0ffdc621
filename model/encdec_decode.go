package model

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/tformer/tformer/kernels"
)

// Source is one encoded source of an encoder–decoder: the encoder's output
// projected, once, into every decoder layer's cross-attention keys and
// values. Any number of Seq2SeqDecoders (the hypotheses of a beam search)
// read it.
type Source struct {
	m  *Model
	n  int
	kv [][]float32 // per decoder layer: n × 2d (keys, then values, per position)
}

// Len is the number of source tokens.
func (s *Source) Len() int { return s.n }

// EncodeSource runs the encoder over one source (no padding) and computes
// every decoder layer's cross-attention keys and values from its output.
// The encoder's FLOPs go to EncFlops (or Flops), the key/value projections
// to Flops under cross_qkv.
func (m *Model) EncodeSource(src []int32) (*Source, error) {
	c := m.Config
	if !c.IsEncDec() {
		return nil, errors.New("encode: this model is not an encoder-decoder (arch encdec)")
	}
	if len(src) == 0 {
		return nil, errors.New("encode: the source is empty")
	}
	if len(src) > c.MaxSeq {
		return nil, fmt.Errorf("encode: source length %d exceeds the encoder's context of %d", len(src), c.MaxSeq)
	}
	if err := m.checkTokens("source", src); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	n, d := len(src), c.DModel
	s := newStackActs(c, 1, n, c.EncLayers, 2)
	copy(s.tokens, src)
	m.encodeForward(m.encFlops(), &s)
	enc := s.output(c.PostLN)
	out := &Source{m: m, n: n}
	m.Flops.Mark()
	for l := 0; l < c.Layers; l++ {
		cr := m.ed.p.cross[c.AttnIndex(l)]
		kv := make([]float32, n*2*d)
		kernels.LinearForward(m.Flops, kernels.CrossQKV, kv, enc, cr.kvw, cr.kvb, nil, n, d, 2*d)
		out.kv = append(out.kv, kv)
	}
	return out, nil
}

// Seq2SeqDecoder runs an encoder–decoder's decoder one target token at a
// time over an encoded Source, with a key/value cache of its
// self-attention (the cross-attention's keys and values are the Source's).
// It allocates its buffers once; Step allocates nothing.
type Seq2SeqDecoder struct {
	m                      *Model
	src                    *Source
	pos                    int
	kc, vc                 [][]float32 // per layer: MaxSeq × d
	x, ln, s, atty, q, qkv []float32
	fch, fchg, gate        []float32
	logits, scratch        []float32
	mean, rstd             []float32
}

// NewSeq2SeqDecoder returns a decoder at position 0 over src.
func (m *Model) NewSeq2SeqDecoder(src *Source) (*Seq2SeqDecoder, error) {
	c := m.Config
	if !c.IsEncDec() {
		return nil, errors.New("decode: this model is not an encoder-decoder (arch encdec)")
	}
	if src == nil || src.m != m {
		return nil, errors.New("decode: the source was not encoded by this model")
	}
	d, f := c.DModel, c.DFF
	dec := &Seq2SeqDecoder{m: m, src: src,
		x: make([]float32, d), ln: make([]float32, d), s: make([]float32, d), atty: make([]float32, d), q: make([]float32, d),
		qkv: make([]float32, 3*d), fch: make([]float32, f), fchg: make([]float32, f),
		logits: make([]float32, c.Vocab), scratch: make([]float32, max(c.MaxSeq, src.n)),
		mean: make([]float32, 1), rstd: make([]float32, 1)}
	if c.Gated() {
		dec.gate = make([]float32, f)
	}
	for l := 0; l < c.Layers; l++ {
		dec.kc = append(dec.kc, make([]float32, c.MaxSeq*d))
		dec.vc = append(dec.vc, make([]float32, c.MaxSeq*d))
	}
	return dec, nil
}

// Pos is the number of target tokens consumed so far.
func (dec *Seq2SeqDecoder) Pos() int { return dec.pos }

// CopyFrom makes dec a copy of o (same model and source): its position and
// the cached keys and values up to it. Beam search uses it to continue a
// hypothesis in another decoder.
func (dec *Seq2SeqDecoder) CopyFrom(o *Seq2SeqDecoder) {
	d := dec.m.Config.DModel
	dec.src, dec.pos = o.src, o.pos
	for l := range dec.kc {
		copy(dec.kc[l][:o.pos*d], o.kc[l][:o.pos*d])
		copy(dec.vc[l][:o.pos*d], o.vc[l][:o.pos*d])
	}
}

// Step feeds one target token at the next position and returns the logits
// of the token after it (a slice reused by the next call).
func (dec *Seq2SeqDecoder) Step(tok int32) ([]float32, error) {
	m := dec.m
	c := m.Config
	if dec.pos >= c.MaxSeq {
		return nil, fmt.Errorf("decode: the decoder's context of %d tokens is full", c.MaxSeq)
	}
	if tok < 0 || int(tok) >= c.Vocab {
		return nil, fmt.Errorf("decode: token %d is outside the vocabulary [0, %d)", tok, c.Vocab)
	}
	p, st, cnt := dec.pos, m.ed.p, m.Flops
	d, H, dh := c.DModel, c.Heads, c.HeadDim()
	post := c.PostLN
	toks := [1]int32{tok}
	cnt.Mark()
	if c.EmbedNorm {
		kernels.ScaledEmbeddingForward(cnt, dec.s, st.dec.wte, m.positionTable(st.dec), toks[:], 1, d, p, c.EmbedMultiplier())
		m.norm(cnt, dec.x, dec.mean, dec.rstd, dec.s, st.dec.elnw, st.dec.elnb, 1, d)
	} else {
		kernels.ScaledEmbeddingForward(cnt, dec.x, st.dec.wte, m.positionTable(st.dec), toks[:], 1, d, p, c.EmbedMultiplier())
	}
	// sub runs one sub-layer around f, which writes x + f(in) into dec.s.
	pre := func(w, b []float32) []float32 {
		if post {
			return dec.x
		}
		m.norm(cnt, dec.ln, dec.mean, dec.rstd, dec.x, w, b, 1, d)
		return dec.ln
	}
	after := func(w, b []float32) {
		if post {
			m.norm(cnt, dec.x, dec.mean, dec.rstd, dec.s, w, b, 1, d)
		} else {
			copy(dec.x, dec.s)
		}
	}
	for l := 0; l < c.Layers; l++ {
		ai := c.AttnIndex(l)
		at, cr, ff := st.dec.attn[ai], st.cross[ai], st.dec.ffn[c.FFNIndex(l)]
		in := pre(at.lnw, at.lnb)
		kernels.LinearForward(cnt, kernels.QKV, dec.qkv, in, at.qkvw, at.qkvb, nil, 1, d, 3*d)
		copy(dec.kc[l][p*d:(p+1)*d], dec.qkv[d:2*d])
		copy(dec.vc[l][p*d:(p+1)*d], dec.qkv[2*d:])
		kernels.AttentionDecodeGQA(cnt, dec.atty, dec.qkv[:d], dec.kc[l], dec.vc[l], dec.scratch, p+1, H, H, dh)
		kernels.LinearForward(cnt, kernels.AttnOut, dec.s, dec.atty, at.projw, at.projb, dec.x, 1, d, d)
		after(at.lnw, at.lnb)
		in = pre(cr.lnw, cr.lnb)
		kernels.LinearForward(cnt, kernels.CrossQKV, dec.q, in, cr.qw, cr.qb, nil, 1, d, d)
		kernels.CrossAttentionDecode(cnt, dec.atty, dec.q, dec.src.kv[l], dec.scratch, dec.src.n, H, dh)
		kernels.LinearForward(cnt, kernels.CrossOut, dec.s, dec.atty, cr.projw, cr.projb, dec.x, 1, d, d)
		after(cr.lnw, cr.lnb)
		in = pre(ff.lnw, ff.lnb)
		m.ffnFwd(cnt, ff, dec.s, in, dec.gate, dec.fch, dec.fchg, dec.x, 1)
		after(ff.lnw, ff.lnb)
	}
	out := dec.x
	if !post {
		m.norm(cnt, dec.ln, dec.mean, dec.rstd, dec.x, st.dec.lnfw, st.dec.lnfb, 1, d)
		out = dec.ln
	}
	kernels.LinearForward(cnt, kernels.Logits, dec.logits, out, st.head, nil, nil, 1, d, c.Vocab)
	dec.pos++
	return dec.logits, nil
}

// GenerateOptions controls Greedy and BeamSearch.
type GenerateOptions struct {
	BOS    int32 // the start id fed first
	EOS    int32 // the id that ends a hypothesis (not included in its tokens)
	MaxLen int   // most tokens generated, the end id included: 1..MaxSeq
	// Beam is the number of hypotheses kept (BeamSearch; 1 is greedy).
	Beam int
	// LengthPenalty α ranks finished hypotheses by logP / length^α, the
	// length counting the generated tokens and the end id (0: by logP).
	LengthPenalty float64
}

// Hypothesis is one generated target.
type Hypothesis struct {
	Tokens   []int32 // generated ids, without the start and end ids
	LogProb  float64 // Σ log p of the generated ids (the end id included when Finished)
	Score    float64 // LogProb / length^α
	Finished bool    // ended by the end id (false: stopped at MaxLen)
}

func (m *Model) checkGenerate(o GenerateOptions, beam bool) error {
	c := m.Config
	if o.MaxLen < 1 || o.MaxLen > c.MaxSeq {
		return fmt.Errorf("generate: max length %d is outside [1, %d]", o.MaxLen, c.MaxSeq)
	}
	for _, id := range []int32{o.BOS, o.EOS} {
		if id < 0 || int(id) >= c.Vocab {
			return fmt.Errorf("generate: start/end id %d is outside the vocabulary [0, %d)", id, c.Vocab)
		}
	}
	if beam && (o.Beam < 1 || o.Beam > c.Vocab) {
		return fmt.Errorf("generate: beam %d is outside [1, vocab %d]", o.Beam, c.Vocab)
	}
	if !(o.LengthPenalty >= 0) || math.IsInf(o.LengthPenalty, 0) {
		return fmt.Errorf("generate: length penalty must be a finite number >= 0, got %g", o.LengthPenalty)
	}
	return nil
}

func lengthScore(logp float64, n int, alpha float64) float64 {
	if alpha == 0 {
		return logp
	}
	return logp / math.Pow(float64(n), alpha)
}

// logSoftmax writes the log-probabilities of logits into out (float64).
func logSoftmax(out []float64, logits []float32) {
	mx := math.Inf(-1)
	for _, z := range logits {
		mx = math.Max(mx, float64(z))
	}
	var s float64
	for _, z := range logits {
		s += math.Exp(float64(z) - mx)
	}
	lse := mx + math.Log(s)
	for i, z := range logits {
		out[i] = float64(z) - lse
	}
}

// Greedy decodes src by always taking the most likely next id (the first
// on ties) until the end id or MaxLen tokens.
func (m *Model) Greedy(src []int32, o GenerateOptions) (Hypothesis, error) {
	if err := m.checkGenerate(o, false); err != nil {
		return Hypothesis{}, err
	}
	s, err := m.EncodeSource(src)
	if err != nil {
		return Hypothesis{}, err
	}
	dec, err := m.NewSeq2SeqDecoder(s)
	if err != nil {
		return Hypothesis{}, err
	}
	var h Hypothesis
	lp := make([]float64, m.Config.Vocab)
	tok := o.BOS
	for n := 1; n <= o.MaxLen; n++ {
		logits, err := dec.Step(tok)
		if err != nil {
			return Hypothesis{}, err
		}
		best := 0
		for j, z := range logits {
			if z > logits[best] {
				best = j
			}
		}
		logSoftmax(lp, logits)
		h.LogProb += lp[best]
		if int32(best) == o.EOS {
			h.Finished = true
			break
		}
		tok = int32(best)
		h.Tokens = append(h.Tokens, tok)
	}
	n := len(h.Tokens)
	if h.Finished {
		n++
	}
	h.Score = lengthScore(h.LogProb, n, o.LengthPenalty)
	return h, nil
}

// BeamSearch decodes src keeping the Beam most likely partial targets: at
// each step every hypothesis's continuations are ranked by total log
// probability (ties: earlier hypothesis, then lower id); an end id among the
// first Beam candidates finishes that hypothesis (the Beam best finished
// ones by Score are kept), the best Beam others continue. It stops once
// Beam hypotheses have finished and none alive can beat the worst of them
// (its log probability so far over its length^α — exact for α = 0, the
// heuristic of Hugging Face's beam search otherwise), or at MaxLen, where
// the unfinished ones count as they are. It returns the kept hypotheses by
// Score, best first. With Beam 1 it returns what Greedy does.
func (m *Model) BeamSearch(src []int32, o GenerateOptions) ([]Hypothesis, error) {
	if err := m.checkGenerate(o, true); err != nil {
		return nil, err
	}
	s, err := m.EncodeSource(src)
	if err != nil {
		return nil, err
	}
	V, k := m.Config.Vocab, o.Beam
	type hyp struct {
		dec    *Seq2SeqDecoder
		tokens []int32
		logp   float64
		logits []float32
	}
	pool := make([]*Seq2SeqDecoder, 2*k)
	for i := range pool {
		if pool[i], err = m.NewSeq2SeqDecoder(s); err != nil {
			return nil, err
		}
	}
	first, err := pool[0].Step(o.BOS)
	if err != nil {
		return nil, err
	}
	alive := []hyp{{dec: pool[0], logits: first}}
	free := pool[1:]
	var done []Hypothesis
	// keep adds h to the finished hypotheses, keeping the k best by score
	// (the earlier on ties).
	keep := func(h Hypothesis) {
		i := sort.Search(len(done), func(i int) bool { return done[i].Score < h.Score })
		if i >= k {
			return
		}
		done = append(done, Hypothesis{})
		copy(done[i+1:], done[i:])
		done[i] = h
		if len(done) > k {
			done = done[:k]
		}
	}
	lp := make([]float64, V)
	type cand struct {
		h     int
		tok   int32
		score float64
	}
	var cands []cand
	var top []int
	for n := 1; ; n++ {
		cands = cands[:0]
		for i, h := range alive {
			logSoftmax(lp, h.logits)
			// Each hypothesis's 2k best continuations suffice: at most k
			// continue and at most k end.
			top = topK(top[:0], lp, 2*k)
			for _, j := range top {
				cands = append(cands, cand{i, int32(j), h.logp + lp[j]})
			}
		}
		sort.SliceStable(cands, func(a, b int) bool { return cands[a].score > cands[b].score })
		var next []cand
		for r, c := range cands {
			if c.tok == o.EOS {
				if r < k {
					toks := append([]int32(nil), alive[c.h].tokens...)
					keep(Hypothesis{Tokens: toks, LogProb: c.score, Score: lengthScore(c.score, n, o.LengthPenalty), Finished: true})
				}
				continue
			}
			if len(next) < k {
				next = append(next, c)
			}
			if len(next) == k && r >= k-1 {
				break
			}
		}
		if len(next) == 0 || len(done) == k && done[k-1].Score >= lengthScore(next[0].score, n, o.LengthPenalty) {
			break
		}
		if n == o.MaxLen {
			for _, c := range next {
				toks := append(append([]int32(nil), alive[c.h].tokens...), c.tok)
				keep(Hypothesis{Tokens: toks, LogProb: c.score, Score: lengthScore(c.score, n, o.LengthPenalty)})
			}
			break
		}
		// Continue each chosen candidate in a free decoder, copying its
		// parent's cache; then the parents' decoders are free again.
		var nextAlive []hyp
		for _, c := range next {
			dec := free[0]
			free = free[1:]
			dec.CopyFrom(alive[c.h].dec)
			logits, err := dec.Step(c.tok)
			if err != nil {
				return nil, err
			}
			nextAlive = append(nextAlive, hyp{dec: dec, tokens: append(append([]int32(nil), alive[c.h].tokens...), c.tok),
				logp: c.score, logits: append([]float32(nil), logits...)})
		}
		for _, h := range alive {
			free = append(free, h.dec)
		}
		alive = nextAlive
	}
	return done, nil
}

// topK returns the indices of the k largest values of x (all of them when
// fewer), largest first, the lower index first on ties, appended to dst.
func topK(dst []int, x []float64, k int) []int {
	for j, v := range x {
		if len(dst) == k && v <= x[dst[k-1]] {
			continue
		}
		i := len(dst)
		if i < k {
			dst = append(dst, j)
		} else {
			i = k - 1
		}
		for i > 0 && x[dst[i-1]] < v {
			dst[i] = dst[i-1]
			i--
		}
		dst[i] = j
	}
	return dst
}

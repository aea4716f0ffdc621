package model

import (
	"fmt"

	"github.com/tformer/tformer/kernels"
)

// Decoder runs the model one token at a time with a key/value cache, so each
// new token costs one position's work instead of re-running the prefix.
// A Decoder allocates its buffers once; Step allocates nothing. Prefill
// feeds a whole prompt in batched passes (see Decoder.Prefill). After
// Model.Quantize to bf16 or int8, Step's products read the narrow weights
// (kernels.MatVecBF16, kernels.MatVecInt8).
type Decoder struct {
	m   *Model
	pos int
	// per layer: cached keys and values of the key/value heads only,
	// MaxSeq × kv_heads·dh each
	kc, vc          [][]float32
	x, ln, res2     []float32 // d
	atty            []float32 // heads·dh
	qkv             []float32 // (heads + 2·kv_heads)·dh
	fch, fchg, gate []float32 // d_ff (gate: gated FFNs)
	logits, scratch []float32
	mean, rstd      []float32   // 1
	pn              []float32   // d: a sub-layer's output before its post-norm (PostNorms)
	emb, hd, hg, hl []float32   // E: factorized embedding and head
	pre             *prefillBuf // Prefill's buffers (nil before its first call)
}

// NewDecoder returns a decoder at position 0 over m's current parameters.
func (m *Model) NewDecoder() *Decoder {
	c := m.Config
	d := c.DModel
	dec := &Decoder{m: m,
		x: make([]float32, d), ln: make([]float32, d), atty: make([]float32, c.QDim()), res2: make([]float32, d),
		qkv: make([]float32, c.QKVDim()), fch: make([]float32, c.DFF), fchg: make([]float32, c.DFF),
		logits: make([]float32, c.Vocab), scratch: make([]float32, c.MaxSeq),
		mean: make([]float32, 1), rstd: make([]float32, 1), pn: make([]float32, d),
	}
	if c.HasHead() {
		e := c.E()
		dec.emb, dec.hd, dec.hg, dec.hl = make([]float32, e), make([]float32, e), make([]float32, e), make([]float32, e)
	}
	if c.Gated() {
		dec.gate = make([]float32, c.DFF)
	}
	for l := 0; l < c.Layers; l++ {
		dec.kc = append(dec.kc, make([]float32, c.MaxSeq*c.KVDim()))
		dec.vc = append(dec.vc, make([]float32, c.MaxSeq*c.KVDim()))
	}
	return dec
}

// Pos is the number of tokens consumed so far.
func (dec *Decoder) Pos() int { return dec.pos }

// Reset empties the cache.
func (dec *Decoder) Reset() { dec.pos = 0 }

// Step feeds one token at the next position and returns the logits for the
// token after it (a slice reused by the next call). An encoder cannot
// generate: Step returns an error.
func (dec *Decoder) Step(tok int32) ([]float32, error) {
	m := dec.m
	c := m.Config
	if err := dec.check(); err != nil {
		return nil, err
	}
	if dec.pos >= c.MaxSeq {
		return nil, fmt.Errorf("decode: context of %d tokens is full", c.MaxSeq)
	}
	if tok < 0 || int(tok) >= c.Vocab {
		return nil, fmt.Errorf("decode: token %d is outside the vocabulary [0, %d)", tok, c.Vocab)
	}
	d, cnt, p := c.DModel, m.Flops, dec.pos
	qd := c.QDim()
	toks := [1]int32{tok}
	cnt.Mark()
	m.embed(dec.x, dec.emb, toks[:], 1, p)
	for l := 0; l < c.Layers; l++ {
		at := m.p.attn[c.AttnIndex(l)]
		m.norm(cnt, dec.ln, dec.mean, dec.rstd, dec.x, at.lnw, at.lnb, 1, d)
		linear(cnt, kernels.QKV, dec.qkv, dec.ln, at.qkvw, at.qkvq, at.qkvb, nil, 1, d, c.QKVDim())
		m.rope(dec.qkv, 1, 1, p)
		dec.cacheKV(l, dec.qkv, p, 1)
		dec.attendRow(l, dec.qkv[:qd], dec.x, p+1)
	}
	dec.logitsRow()
	dec.pos++
	return dec.logits, nil
}

// cacheKV writes the keys and values of r rows of qkv (each QKVDim wide,
// rotated) into layer l's cache at positions p..p+r−1.
func (dec *Decoder) cacheKV(l int, qkv []float32, p, r int) {
	c := dec.m.Config
	qd, kd, ld := c.QDim(), c.KVDim(), c.QKVDim()
	kc, vc := dec.kc[l], dec.vc[l]
	for i := 0; i < r; i++ {
		row := qkv[i*ld : (i+1)*ld]
		copy(kc[(p+i)*kd:(p+i+1)*kd], row[qd:qd+kd])
		copy(vc[(p+i)*kd:(p+i+1)*kd], row[qd+kd:])
	}
}

// attendRow runs layer l from its attention on for one position: query q
// attends to the first nk cached positions, the output projection adds the
// residual row x, and the FFN leaves the layer's output in dec.x.
func (dec *Decoder) attendRow(l int, q, x []float32, nk int) {
	m := dec.m
	c, cnt := m.Config, m.Flops
	at, ff := m.p.attn[c.AttnIndex(l)], m.p.ffn[c.FFNIndex(l)]
	kernels.AttentionDecodeOpts(cnt, dec.atty, q, dec.kc[l], dec.vc[l], dec.scratch, nk, c.Heads, c.KV(), c.HeadDim(), c.AttnOpts(l))
	m.attnOut(at, dec.res2, dec.atty, x, dec.pn, dec.rstd, 1)
	m.norm(cnt, dec.ln, dec.mean, dec.rstd, dec.res2, ff.lnw, ff.lnb, 1, c.DModel)
	m.ffnPost(ff, dec.x, dec.ln, dec.gate, dec.fch, dec.fchg, dec.res2, dec.pn, dec.rstd, 1)
}

// logitsRow is the final norm and the output head on dec.x, into
// dec.logits.
func (dec *Decoder) logitsRow() {
	m := dec.m
	m.norm(m.Flops, dec.ln, dec.mean, dec.rstd, dec.x, m.p.lnfw, m.p.lnfb, 1, m.Config.DModel)
	m.headForward(headOut{hd: dec.hd, hg: dec.hg, hl: dec.hl, mean: dec.mean, rstd: dec.rstd, logits: dec.logits}, dec.ln, 1)
	m.capLogits(dec.logits, 1)
}

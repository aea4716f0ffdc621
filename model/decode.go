package model

import (
	"fmt"

	"github.com/tformer/tformer/kernels"
)

// Decoder runs the model one token at a time with a key/value cache, so each
// new token costs one position's work instead of re-running the prefix.
// A Decoder allocates its buffers once; Step allocates nothing.
type Decoder struct {
	m   *Model
	pos int
	// per layer: cached keys and values, MaxSeq × d each
	kc, vc            [][]float32
	x, ln, atty, res2 []float32 // d
	qkv               []float32 // 3d
	fch, fchg         []float32 // d_ff
	logits, scratch   []float32
	mean, rstd        []float32 // 1
	emb, hd, hg, hl   []float32 // E: factorized embedding and head
}

// NewDecoder returns a decoder at position 0 over m's current parameters.
func (m *Model) NewDecoder() *Decoder {
	c := m.Config
	d := c.DModel
	dec := &Decoder{m: m,
		x: make([]float32, d), ln: make([]float32, d), atty: make([]float32, d), res2: make([]float32, d),
		qkv: make([]float32, 3*d), fch: make([]float32, c.DFF), fchg: make([]float32, c.DFF),
		logits: make([]float32, c.Vocab), scratch: make([]float32, c.MaxSeq),
		mean: make([]float32, 1), rstd: make([]float32, 1),
	}
	if c.HasHead() {
		e := c.E()
		dec.emb, dec.hd, dec.hg, dec.hl = make([]float32, e), make([]float32, e), make([]float32, e), make([]float32, e)
	}
	for l := 0; l < c.Layers; l++ {
		dec.kc = append(dec.kc, make([]float32, c.MaxSeq*d))
		dec.vc = append(dec.vc, make([]float32, c.MaxSeq*d))
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
	if c.IsEncoder() {
		return nil, fmt.Errorf("decode: this model is an encoder (bidirectional, trained by masked-LM); it cannot generate text")
	}
	if dec.pos >= c.MaxSeq {
		return nil, fmt.Errorf("decode: context of %d tokens is full", c.MaxSeq)
	}
	if tok < 0 || int(tok) >= c.Vocab {
		return nil, fmt.Errorf("decode: token %d is outside the vocabulary [0, %d)", tok, c.Vocab)
	}
	d, f, cnt, p := c.DModel, c.DFF, m.Flops, dec.pos
	toks := [1]int32{tok}
	cnt.Mark()
	m.embed(dec.x, dec.emb, toks[:], 1, p)
	for l := 0; l < c.Layers; l++ {
		at, ff := m.p.attn[c.AttnIndex(l)], m.p.ffn[c.FFNIndex(l)]
		m.layerNorm(cnt, dec.ln, dec.mean, dec.rstd, dec.x, at.lnw, at.lnb, 1, d)
		kernels.LinearForward(cnt, kernels.QKV, dec.qkv, dec.ln, at.qkvw, at.qkvb, nil, 1, d, 3*d)
		copy(dec.kc[l][p*d:(p+1)*d], dec.qkv[d:2*d])
		copy(dec.vc[l][p*d:(p+1)*d], dec.qkv[2*d:])
		kernels.AttentionDecode(cnt, dec.atty, dec.qkv[:d], dec.kc[l], dec.vc[l], dec.scratch, p+1, d, c.Heads)
		kernels.LinearForward(cnt, kernels.AttnOut, dec.res2, dec.atty, at.projw, at.projb, dec.x, 1, d, d)
		m.layerNorm(cnt, dec.ln, dec.mean, dec.rstd, dec.res2, ff.lnw, ff.lnb, 1, d)
		kernels.LinearForward(cnt, kernels.FFNUp, dec.fch, dec.ln, ff.upw, ff.upb, nil, 1, d, f)
		m.gelu(cnt, kernels.GELU, dec.fchg, dec.fch)
		kernels.LinearForward(cnt, kernels.FFNDown, dec.x, dec.fchg, ff.downw, ff.downb, dec.res2, 1, f, d)
	}
	m.layerNorm(cnt, dec.ln, dec.mean, dec.rstd, dec.x, m.p.lnfw, m.p.lnfb, 1, d)
	m.headForward(headOut{hd: dec.hd, hg: dec.hg, hl: dec.hl, mean: dec.mean, rstd: dec.rstd, logits: dec.logits}, dec.ln, 1)
	dec.pos++
	return dec.logits, nil
}

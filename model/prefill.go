package model

import (
	"fmt"

	"github.com/tformer/tformer/kernels"
)

// PrefillChunk is the most prompt positions Decoder.Prefill runs through
// the model in one batched pass; longer prompts go in chunks of this many,
// so the decoder's prefill buffers stay bounded (about 256·(4d + (h +
// 2·kv_heads)·dh + 3·d_ff) floats) whatever the prompt length.
const PrefillChunk = 256

// prefillBuf is a decoder's working memory for Prefill: the activations of
// up to rows positions, allocated on the first Prefill and kept.
type prefillBuf struct {
	rows            int
	x, ln, res2, pn []float32 // rows × d (pn: PostNorms' sub-layer outputs)
	atty            []float32 // rows × heads·dh
	qkv             []float32 // rows × (heads + 2·kv_heads)·dh
	fch, fchg, gate []float32 // rows × d_ff (gate: gated FFNs only)
	mean, rstd      []float32 // rows
	lse             []float32 // heads × rows
	emb             []float32 // rows × E (factorized embeddings only)
}

func newPrefillBuf(c Config) *prefillBuf {
	r, d, f := min(PrefillChunk, c.MaxSeq), c.DModel, c.DFF
	b := &prefillBuf{rows: r,
		x: make([]float32, r*d), ln: make([]float32, r*d), res2: make([]float32, r*d), pn: make([]float32, r*d),
		atty: make([]float32, r*c.QDim()), qkv: make([]float32, r*c.QKVDim()),
		fch: make([]float32, r*f), fchg: make([]float32, r*f),
		mean: make([]float32, r), rstd: make([]float32, r), lse: make([]float32, c.Heads*r),
	}
	if c.Gated() {
		b.gate = make([]float32, r*f)
	}
	if c.Factorized() {
		b.emb = make([]float32, r*c.E())
	}
	return b
}

// PrefillFloats is the number of float32 values of the decoder's prefill
// buffers (0 before its first Prefill).
func (dec *Decoder) PrefillFloats() int64 {
	b := dec.pre
	if b == nil {
		return 0
	}
	var n int64
	for _, x := range [][]float32{b.x, b.ln, b.res2, b.atty, b.qkv, b.fch, b.fchg, b.gate, b.mean, b.rstd, b.lse, b.emb} {
		n += int64(len(x))
	}
	return n
}

// check returns Step's and Prefill's error for a model that cannot decode.
func (dec *Decoder) check() error {
	c := dec.m.Config
	if c.IsEncoder() {
		return fmt.Errorf("decode: this model is an encoder (bidirectional, trained by masked-LM); it cannot generate text")
	}
	if c.IsEncDec() {
		return fmt.Errorf("decode: this model is an encoder-decoder; it decodes with NewSeq2SeqDecoder over an encoded source")
	}
	return nil
}

// Prefill feeds tokens at the next positions, as many Step calls would, and
// returns the logits for the token after the last one (the slice Step
// returns, reused by the next call). It runs the tokens through the model
// as batched passes of up to PrefillChunk positions: every projection is
// one matrix product over the chunk's rows (kernels.LinearForward, or the
// bf16 and int8 forms that widen the narrow weights a block at a time), the
// attention is the fused kernel (kernels.AttentionPrefillGQA) over the
// cache, and each layer's keys and values (rotated, key/value heads only)
// go into the cache at their positions. Only what the cache and the last
// logits need is computed: the last layer's attention output and FFN, the
// final norm and the output projection run for the last position alone.
// The logits equal Step's up to float32 rounding (a matrix product sums in
// another order than a matrix-vector product). The prefill buffers are
// allocated on the first call and reused; later calls allocate nothing.
// It returns an error, changing nothing, for an empty prompt, one that
// does not fit the context after the positions already fed, or a token
// outside the vocabulary.
func (dec *Decoder) Prefill(tokens []int32) ([]float32, error) {
	if err := dec.check(); err != nil {
		return nil, err
	}
	c := dec.m.Config
	switch {
	case len(tokens) == 0:
		return nil, fmt.Errorf("decode: the prompt is empty (give at least one token)")
	case dec.pos+len(tokens) > c.MaxSeq:
		if dec.pos == 0 {
			return nil, fmt.Errorf("decode: the prompt is %d tokens, longer than the model's context of %d", len(tokens), c.MaxSeq)
		}
		return nil, fmt.Errorf("decode: %d tokens after the %d already fed exceed the model's context of %d", len(tokens), dec.pos, c.MaxSeq)
	}
	for i, tok := range tokens {
		if tok < 0 || int(tok) >= c.Vocab {
			return nil, fmt.Errorf("decode: prompt token %d (at %d) is outside the vocabulary [0, %d)", tok, i, c.Vocab)
		}
	}
	if dec.pre == nil {
		dec.pre = newPrefillBuf(c)
	}
	for s := 0; s < len(tokens); s += dec.pre.rows {
		e := min(len(tokens), s+dec.pre.rows)
		dec.prefillChunk(tokens[s:e], e == len(tokens))
	}
	return dec.logits, nil
}

// prefillChunk runs one chunk of at most pre.rows tokens at the next
// positions, writing the cache; with last it also computes the logits of
// its last position.
func (dec *Decoder) prefillChunk(toks []int32, last bool) {
	m, b := dec.m, dec.pre
	c, cnt := m.Config, m.Flops
	r, p := len(toks), dec.pos
	d, f := c.DModel, c.DFF
	qd, ld := c.QDim(), c.QKVDim()
	H, KV, dh := c.Heads, c.KV(), c.HeadDim()
	x, ln, res2 := b.x[:r*d], b.ln[:r*d], b.res2[:r*d]
	qkv, atty := b.qkv[:r*ld], b.atty[:r*qd]
	mean, rstd := b.mean[:r], b.rstd[:r]
	fch, fchg, gate, emb := b.fch[:r*f], b.fchg[:r*f], b.gate, b.emb
	if gate != nil {
		gate = gate[:r*f]
	}
	if emb != nil {
		emb = emb[:r*c.E()]
	}
	cnt.Mark()
	m.embed(x, emb, toks, r, p)
	for l := 0; l < c.Layers; l++ {
		at, ff := m.p.attn[c.AttnIndex(l)], m.p.ffn[c.FFNIndex(l)]
		kc, vc := dec.kc[l], dec.vc[l]
		m.norm(cnt, ln, mean, rstd, x, at.lnw, at.lnb, r, d)
		linear(cnt, kernels.QKV, qkv, ln, at.qkvw, at.qkvq, at.qkvb, nil, r, d, ld)
		m.rope(qkv, r, r, p)
		dec.cacheKV(l, qkv, p, r)
		if l == c.Layers-1 {
			// The last layer's outputs feed nothing but the logits: once
			// its keys and values are cached, only the last position of
			// the prompt goes on, as Step runs it.
			if last {
				dec.attendRow(l, qkv[(r-1)*ld:(r-1)*ld+qd], x[(r-1)*d:], p+r)
			}
			break
		}
		kernels.AttentionPrefillOpts(cnt, atty, b.lse[:H*r], qkv, ld, kc, vc, p, r, H, KV, dh, c.AttnOpts(l))
		m.attnOut(at, res2, atty, x, b.pn[:r*d], rstd, r)
		m.norm(cnt, ln, mean, rstd, res2, ff.lnw, ff.lnb, r, d)
		m.ffnPost(ff, x, ln, gate, fch, fchg, res2, b.pn[:r*d], rstd, r)
	}
	dec.pos += r
	if last {
		dec.logitsRow()
	}
}

package model

import "fmt"

// addEncDec lays out an encoder–decoder's tensors, in order:
//
//	wte [K×d]                          the target table (with tying all also the source table; tied: the output matrix)
//	enc.wte [K×d]                      the source table (tying decoder or none)
//	enc.wpe, wpe [(pos_offset+max_seq)×d] learned positions of the encoder and the decoder (none when sinusoidal)
//	enc.emb_ln.w/b [d]                 embed-norm: the encoder's norm after its embedding
//	enc.attn.i.{ln.w,ln.b,qkv.w,qkv.b,proj.w,proj.b}
//	enc.ffn.i.{ln.w,ln.b,[gate.w,gate.b,]up.w,up.b,down.w,down.b}
//	enc.lnf.w/b [d]                    pre-LN: the encoder's final norm
//	emb_ln.w/b [d]                     embed-norm: the decoder's
//	attn.i.*                           decoder self-attention blocks (as the encoder's)
//	cross.i.{ln.w,ln.b,q.w [d×d],q.b,kv.w [2d×d],kv.b,proj.w,proj.b}
//	ffn.i.*                            decoder FFN blocks
//	lnf.w/b [d]                        pre-LN: the decoder's final norm
//	lm_head [K×d]                      tying none: the output matrix
//
// A block's ln is the norm before its sub-layer (pre-LN) or after its
// residual add (post-LN). kv.w holds the keys' rows, then the values'.
// Sharing follows each stack's AttnIndex and FFNIndex (the encoder's with
// EncLayers layers); a decoder's cross-attention block is indexed as its
// self-attention block. With ShareStacks the decoder has no attn.i or ffn.i
// of its own: its layers use the encoder's enc.attn.i and enc.ffn.i.
func (l *Layout) addEncDec(c Config, add func(name string, uses int, decay bool, shape ...int)) {
	d, f, K := c.DModel, c.DFF, c.Vocab
	switch c.TyingMode() {
	case TieAll:
		add("wte", 3, true, K, d)
	case TieDecoder:
		add("wte", 2, true, K, d)
		add("enc.wte", 1, true, K, d)
	default:
		add("wte", 1, true, K, d)
		add("enc.wte", 1, true, K, d)
	}
	if !c.Sinusoidal() {
		add("enc.wpe", 1, true, c.MaxSeq+c.PosOffset, d)
		add("wpe", 1, true, c.MaxSeq+c.PosOffset, d)
	}
	norm := func(p string, uses int) {
		add(p+".w", uses, false, d)
		if !c.RMS() {
			add(p+".b", uses, false, d)
		}
	}
	linear := func(p string, uses, out, in int, bias bool) {
		add(p+".w", uses, true, out, in)
		if bias {
			add(p+".b", uses, false, out)
		}
	}
	uses := func(s Config) (attn, ffn []int) {
		attn, ffn = make([]int, s.AttnBlocks()), make([]int, s.FFNBlocks())
		for i := 0; i < s.Layers; i++ {
			attn[s.AttnIndex(i)]++
			ffn[s.FFNIndex(i)]++
		}
		return attn, ffn
	}
	qb, lb := c.QKVBias(), c.LinearBias()
	encAttn, encFFN := uses(c.EncoderStack())
	decAttn, decFFN := uses(c)
	if c.ShareStacks {
		for i := range encAttn {
			encAttn[i] += decAttn[i]
		}
		for i := range encFFN {
			encFFN[i] += decFFN[i]
		}
	}
	stack := func(prefix string, attn, ffn []int, cross bool) {
		if c.EmbedNorm {
			norm(prefix+"emb_ln", 1)
		}
		blocks := !cross || !c.ShareStacks // the decoder's own self-attention and FFN blocks
		for i, u := range attn {
			if !blocks {
				break
			}
			p := fmt.Sprintf("%sattn.%d.", prefix, i)
			norm(p+"ln", u)
			linear(p+"qkv", u, 3*d, d, qb)
			linear(p+"proj", u, d, d, lb)
		}
		if cross {
			for i, u := range decAttn {
				p := fmt.Sprintf("cross.%d.", i)
				norm(p+"ln", u)
				linear(p+"q", u, d, d, qb)
				linear(p+"kv", u, 2*d, d, qb)
				linear(p+"proj", u, d, d, lb)
			}
		}
		for i, u := range ffn {
			if !blocks {
				break
			}
			p := fmt.Sprintf("%sffn.%d.", prefix, i)
			norm(p+"ln", u)
			if c.Gated() {
				linear(p+"gate", u, f, d, lb)
			}
			linear(p+"up", u, f, d, lb)
			linear(p+"down", u, d, f, lb)
		}
		if !c.PostLN {
			norm(prefix+"lnf", 1)
		}
	}
	stack("enc.", encAttn, encFFN, false)
	stack("", decAttn, decFFN, true)
	if c.TyingMode() == TieNone {
		add("lm_head", 1, true, K, d)
	}
}

package model

import (
	"fmt"
	"strings"
)

// TensorInfo describes one stored parameter tensor: its place in the
// parameter slab and how many times a forward pass applies it.
type TensorInfo struct {
	Name   string // e.g. "wte", "attn.0.qkv.w", "ffn.1.ln.b"
	Shape  []int
	Offset int  // index of its first element in the slab
	Size   int  // number of elements
	Uses   int  // applications per forward pass (2 for a tied embedding, L/G for a shared block)
	Decay  bool // whether AdamW applies weight decay to it (matrices yes, biases/norms no)
}

// Layout is the ordered list of stored tensors of a Config. Every shared or
// tied weight appears exactly once.
type Layout struct {
	Tensors []TensorInfo
	Total   int // elements in the slab
	index   map[string]int
}

// NewLayout lays out c's parameters in one slab (c must be valid). The
// tensors, in order:
//
//	wte [K×E], wpe [max_seq×E]                   token and position tables (no wpe with rotary positions)
//	wtt [types×E], emb_ln.w/b [E]                encoder: type table, embedding LayerNorm
//	embed_proj.w [d×E], embed_proj.b [d]         factorized (E < d): the E -> d projection
//	attn.i.{ln.w,ln.b,qkv.w,qkv.b,proj.w,proj.b} stored attention sub-blocks
//	ffn.i.{ln.w,ln.b,up.w,up.b,down.w,down.b}    stored FFN sub-blocks
//	lnf.w/b [d]                                  decoder: final LayerNorm
//	head.dense.w [E×d], head.dense.b [E],        encoder or factorized decoder: output head
//	head.ln.w/b [E], head.bias [K]
//	lm_head [K×E]                                untied: output matrix
//
// With GQA or a head_dim of its own, qkv.w is [(H + 2·H_kv)·dh × d] (queries,
// then keys, then values) and proj.w [d × H·dh]; a gated FFN adds gate.w
// [d_ff×d] before up.w. RMSNorms have no .b; Bias "none" drops every linear
// bias, "qkv" all but qkv.b. PostNorms adds attn.i.postln.w and
// ffn.i.postln.w [d] after each block's last matrix (or bias).
//
// A block's ln is the LayerNorm before its sub-layer in a decoder (pre-LN)
// and after its residual add in an encoder (post-LN).
//
// An encoder–decoder's tensors are listed at newEncDecLayout.
func NewLayout(c Config) *Layout {
	l := &Layout{index: map[string]int{}}
	add := l.adder()
	if c.IsEncDec() {
		l.addEncDec(c, add)
		return l
	}
	d, f, e := c.DModel, c.DFF, c.E()
	embUses := 1
	if c.Tie {
		embUses = 2
	}
	add("wte", embUses, true, c.Vocab, e)
	if !c.Rotary() {
		add("wpe", 1, true, c.MaxSeq, e)
	}
	if c.IsEncoder() {
		add("wtt", 1, true, c.Types(), e)
		add("emb_ln.w", 1, false, e)
		add("emb_ln.b", 1, false, e)
	}
	if c.Factorized() {
		add("embed_proj.w", 1, true, d, e)
		add("embed_proj.b", 1, false, d)
	}
	attnUses := make([]int, c.AttnBlocks())
	ffnUses := make([]int, c.FFNBlocks())
	for i := 0; i < c.Layers; i++ {
		attnUses[c.AttnIndex(i)]++
		ffnUses[c.FFNIndex(i)]++
	}
	norm := func(p string, uses int) {
		add(p+".w", uses, false, d)
		if !c.RMS() {
			add(p+".b", uses, false, d)
		}
	}
	qkv, q := c.QKVDim(), c.QDim()
	for i, u := range attnUses {
		p := fmt.Sprintf("attn.%d.", i)
		norm(p+"ln", u)
		add(p+"qkv.w", u, true, qkv, d)
		if c.QKVBias() {
			add(p+"qkv.b", u, false, qkv)
		}
		add(p+"proj.w", u, true, d, q)
		if c.LinearBias() {
			add(p+"proj.b", u, false, d)
		}
		if c.PostNorms {
			add(p+"postln.w", u, false, d)
		}
	}
	for i, u := range ffnUses {
		p := fmt.Sprintf("ffn.%d.", i)
		norm(p+"ln", u)
		if c.Gated() {
			add(p+"gate.w", u, true, f, d)
			if c.LinearBias() {
				add(p+"gate.b", u, false, f)
			}
		}
		add(p+"up.w", u, true, f, d)
		if c.LinearBias() {
			add(p+"up.b", u, false, f)
		}
		add(p+"down.w", u, true, d, f)
		if c.LinearBias() {
			add(p+"down.b", u, false, d)
		}
		if c.PostNorms {
			add(p+"postln.w", u, false, d)
		}
	}
	if !c.IsEncoder() {
		norm("lnf", 1)
	}
	if c.HasHead() {
		add("head.dense.w", 1, true, e, d)
		add("head.dense.b", 1, false, e)
		add("head.ln.w", 1, false, e)
		add("head.ln.b", 1, false, e)
		add("head.bias", 1, false, c.Vocab)
	}
	if !c.Tie {
		add("lm_head", 1, true, c.Vocab, e)
	}
	return l
}

// adder returns the function that appends a tensor to l.
func (l *Layout) adder() func(name string, uses int, decay bool, shape ...int) {
	return func(name string, uses int, decay bool, shape ...int) {
		n := 1
		for _, s := range shape {
			n *= s
		}
		l.index[name] = len(l.Tensors)
		l.Tensors = append(l.Tensors, TensorInfo{Name: name, Shape: shape, Offset: l.Total, Size: n, Uses: uses, Decay: decay})
		l.Total += n
	}
}

// Lookup returns the tensor called name.
func (l *Layout) Lookup(name string) (TensorInfo, bool) {
	i, ok := l.index[name]
	if !ok {
		return TensorInfo{}, false
	}
	return l.Tensors[i], true
}

// Slice returns the named tensor's elements within slab (params or grads).
func (l *Layout) Slice(slab []float32, name string) []float32 {
	t, ok := l.Lookup(name)
	if !ok {
		panic("model: no tensor " + name)
	}
	return slab[t.Offset : t.Offset+t.Size]
}

// ShapeString formats a shape as "3x4".
func ShapeString(s []int) string {
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, "x")
}

// UniqueParams is the number of stored parameters.
func (c Config) UniqueParams() int64 { return int64(NewLayout(c).Total) }

// AppliedParams counts each stored parameter once per use in a forward pass:
// a tied embedding twice (lookup and output), a block shared by k layers k
// times. It equals the parameter count of the same model untied and unshared.
func (c Config) AppliedParams() int64 {
	var n int64
	for _, t := range NewLayout(c).Tensors {
		n += int64(t.Size) * int64(t.Uses)
	}
	return n
}

package model

import (
	"errors"
	"fmt"

	"github.com/tformer/tformer/kernels"
)

// MLMBatch is the input of an encoder's masked-LM pass: B sequences of T
// tokens, of which the Positions are predicted.
type MLMBatch struct {
	B, T int
	// Tokens holds the B·T input ids, with the predicted positions already
	// masked (see MaskBatch). Every id must be in [0, Vocab); the last id,
	// Vocab-1, is [MASK].
	Tokens []int32
	// Types holds the B·T token types in [0, Config.Types()); nil means all 0.
	Types []int32
	// Lengths holds each sequence's number of real tokens in [1, T]: the
	// positions after them are padding, which no position attends to. nil
	// means every sequence is full.
	Lengths []int32
	// Positions lists the flat indices r·T+i of the positions to predict,
	// each inside its sequence's length. nil means every position.
	Positions []int32
	// Targets holds the original token of each predicted position. With nil
	// Targets only the logits are computed (and Backward cannot follow).
	Targets []int32
}

// MLMResult is the outcome of ForwardMLM.
type MLMResult struct {
	Loss    float32 // mean cross-entropy over the predicted positions (0 without targets)
	Correct int     // predicted positions whose most likely token is the target
	Count   int     // predicted positions
}

func (m *Model) checkMLM(x *MLMBatch) error {
	c := m.Config
	b, t := x.B, x.T
	if err := m.checkShape(b, t); err != nil {
		return err
	}
	n := b * t
	if len(x.Tokens) != n {
		return fmt.Errorf("want %d×%d = %d tokens, got %d", b, t, n, len(x.Tokens))
	}
	if err := m.checkTokens("token", x.Tokens); err != nil {
		return err
	}
	if x.Types != nil {
		if len(x.Types) != n {
			return fmt.Errorf("want %d token types, got %d", n, len(x.Types))
		}
		for i, ty := range x.Types {
			if ty < 0 || int(ty) >= c.Types() {
				return fmt.Errorf("type[%d] = %d is outside the token types [0, %d)", i, ty, c.Types())
			}
		}
	}
	if x.Lengths != nil {
		if len(x.Lengths) != b {
			return fmt.Errorf("want %d sequence lengths, got %d", b, len(x.Lengths))
		}
		for r, l := range x.Lengths {
			if l < 1 || int(l) > t {
				return fmt.Errorf("length[%d] = %d is outside [1, %d]", r, l, t)
			}
		}
	}
	if x.Positions == nil {
		if x.Targets != nil && len(x.Targets) != n {
			return fmt.Errorf("predicting every position: want %d targets, got %d", n, len(x.Targets))
		}
	} else {
		if len(x.Positions) == 0 {
			return errors.New("no positions to predict")
		}
		if x.Targets != nil && len(x.Targets) != len(x.Positions) {
			return fmt.Errorf("want one target per predicted position (%d), got %d", len(x.Positions), len(x.Targets))
		}
		for i, p := range x.Positions {
			if p < 0 || int(p) >= n {
				return fmt.Errorf("position[%d] = %d is outside [0, %d)", i, p, n)
			}
			if x.Lengths != nil && int(p)%t >= int(x.Lengths[int(p)/t]) {
				return fmt.Errorf("position[%d] = %d is padding (sequence %d has %d tokens)", i, p, int(p)/t, x.Lengths[int(p)/t])
			}
		}
	}
	if x.Targets != nil {
		if err := m.checkTokens("target", x.Targets); err != nil {
			return err
		}
	}
	return nil
}

// ForwardMLM runs an encoder on x and, at the predicted positions only,
// its masked-LM head: the head (dense, GELU, LayerNorm, logits) and the loss
// cost work for those rows alone, so a batch with M predicted positions
// costs the same FLOPs whatever the tokens. With targets it returns the mean
// cross-entropy and the number of correct predictions and keeps what
// Backward needs.
func (m *Model) ForwardMLM(x MLMBatch) (MLMResult, error) {
	c := m.Config
	if !c.IsEncoder() {
		return MLMResult{}, fmt.Errorf("forward: this model is a %s; masked-LM needs an encoder (--arch encoder)", map[bool]string{false: "decoder", true: "encoder-decoder"}[c.IsEncDec()])
	}
	if err := m.checkMLM(&x); err != nil {
		return MLMResult{}, fmt.Errorf("forward: %w", err)
	}
	b, t := x.B, x.T
	n, d, f, e, cnt := b*t, c.DModel, c.DFF, c.E(), m.Flops
	rows := n
	if x.Positions != nil {
		rows = len(x.Positions)
	}
	a := m.activationsFor(b, t)
	a.setRows(c, rows)
	copy(a.tokens, x.Tokens)
	if x.Types != nil {
		copy(a.types, x.Types)
	} else {
		clear(a.types)
	}
	lens := []int32(nil)
	if x.Lengths != nil {
		copy(a.lens, x.Lengths)
		lens = a.lens
	}
	a.haveLens = lens != nil
	if x.Positions != nil {
		copy(a.positions, x.Positions)
	} else {
		for i := range a.positions {
			a.positions[i] = int32(i)
		}
	}
	cnt.Mark()
	kernels.EmbeddingTypesForward(cnt, a.emb, m.p.wte, m.p.wpe, m.p.wtt, a.tokens, a.types, t, e)
	if c.Factorized() {
		m.layerNorm(cnt, a.embln, a.embm, a.embr, a.emb, m.p.elnw, m.p.elnb, n, e)
		kernels.LinearForward(cnt, kernels.EmbedProj, a.res[0], a.embln, m.p.projw, m.p.projb, nil, n, e, d)
	} else {
		m.layerNorm(cnt, a.res[0], a.embm, a.embr, a.emb, m.p.elnw, m.p.elnb, n, e)
	}
	// Post-LN layers. res[l] is layer l's input; res2[l] the attention
	// residual sum and ln1[l] its LayerNorm (x1); ln2[l] the FFN residual sum,
	// whose LayerNorm is res[l+1].
	for l := 0; l < c.Layers; l++ {
		at, ff := m.p.attn[c.AttnIndex(l)], m.p.ffn[c.FFNIndex(l)]
		kernels.LinearForward(cnt, kernels.QKV, a.qkv[l], a.res[l], at.qkvw, at.qkvb, nil, n, d, 3*d)
		kernels.AttentionForwardPadded(cnt, a.atty[l], a.lse[l], a.qkv[l], lens, b, t, d, c.Heads)
		kernels.LinearForward(cnt, kernels.AttnOut, a.res2[l], a.atty[l], at.projw, at.projb, a.res[l], n, d, d)
		m.layerNorm(cnt, a.ln1[l], a.ln1m[l], a.ln1r[l], a.res2[l], at.lnw, at.lnb, n, d)
		kernels.LinearForward(cnt, kernels.FFNUp, a.fch[l], a.ln1[l], ff.upw, ff.upb, nil, n, d, f)
		m.gelu(cnt, kernels.GELU, a.fchg[l], a.fch[l])
		kernels.LinearForward(cnt, kernels.FFNDown, a.ln2[l], a.fchg[l], ff.downw, ff.downb, a.ln1[l], n, f, d)
		m.layerNorm(cnt, a.res[l+1], a.ln2m[l], a.ln2r[l], a.ln2[l], ff.lnw, ff.lnb, n, d)
	}
	last := a.res[c.Layers]
	for i, p := range a.positions {
		copy(a.hin[i*d:(i+1)*d], last[int(p)*d:(int(p)+1)*d])
	}
	m.headForward(a.head(), a.hin, rows)
	a.haveLoss = x.Targets != nil
	res := MLMResult{Count: rows}
	if x.Targets == nil {
		return res, nil
	}
	copy(a.targets, x.Targets)
	res.Loss = kernels.CrossEntropyForward(cnt, a.probs, a.losses, a.logits, a.targets, rows, c.Vocab)
	res.Correct = countCorrect(a.logits, a.targets, c.Vocab)
	return res, nil
}

// Losses returns the per-row cross-entropies of the last Forward or
// ForwardMLM with targets (one per position, or per predicted position). The
// slice is reused by the next call.
func (m *Model) Losses() []float32 {
	if m.ed != nil {
		if m.ed.act == nil {
			return nil
		}
		return m.ed.act.losses
	}
	if m.act == nil {
		return nil
	}
	return m.act.losses
}

// countCorrect counts the rows whose largest logit (the first, on ties) is
// at the target.
func countCorrect(logits []float32, targets []int32, v int) int {
	n := 0
	for r, tg := range targets {
		row := logits[r*v : (r+1)*v]
		best := 0
		for j, z := range row {
			if z > row[best] {
				best = j
			}
		}
		if best == int(tg) {
			n++
		}
	}
	return n
}

// backwardEncoder is Backward after ForwardMLM.
func (m *Model) backwardEncoder() {
	c, a, cnt := m.Config, m.act, m.Flops
	b, t := a.b, a.t
	n, d, f, e, rows := b*t, c.DModel, c.DFF, c.E(), a.rows
	lens := []int32(nil)
	if a.haveLens {
		lens = a.lens
	}
	cnt.Mark()
	kernels.CrossEntropyBackward(cnt, a.probs, a.probs, a.targets, 1/float32(rows), rows, c.Vocab)
	m.headBackward(a.hin, a.dhin, rows)
	a.haveLoss = false // probs now hold dlogits
	clear(a.dres)
	for i, p := range a.positions {
		dst := a.dres[int(p)*d : (int(p)+1)*d]
		for j, g := range a.dhin[i*d : (i+1)*d] {
			dst[j] += g
		}
	}
	for l := c.Layers - 1; l >= 0; l-- {
		ai, fi := c.AttnIndex(l), c.FFNIndex(l)
		at, ff := m.p.attn[ai], m.p.ffn[fi]
		gat, gff := m.g.attn[ai], m.g.ffn[fi]
		// a.dres holds dL/d(res[l+1]); through the FFN's LayerNorm to its sum.
		clear(a.dln)
		kernels.LayerNormBackward(cnt, a.dln, gff.lnw, gff.lnb, a.dres, a.ln2[l], ff.lnw, a.ln2m[l], a.ln2r[l], n, d)
		copy(a.dres, a.dln) // the skip connection's share of dL/d(x1)
		kernels.LinearBackwardTo(cnt, kernels.FFNDown, a.dfchg, gff.downw, gff.downb, a.dln, a.fchg[l], ff.downw, n, f, d)
		clear(a.dfch)
		m.geluBack(cnt, kernels.GELU, a.dfch, a.fch[l], a.dfchg)
		kernels.LinearBackward(cnt, kernels.FFNUp, a.dres, gff.upw, gff.upb, a.dfch, a.ln1[l], ff.upw, n, d, f)
		// a.dres holds dL/d(x1); through the attention's LayerNorm to its sum.
		clear(a.dln)
		kernels.LayerNormBackward(cnt, a.dln, gat.lnw, gat.lnb, a.dres, a.res2[l], at.lnw, a.ln1m[l], a.ln1r[l], n, d)
		copy(a.dres, a.dln) // the skip connection's share of dL/d(res[l])
		kernels.LinearBackwardTo(cnt, kernels.AttnOut, a.datty, gat.projw, gat.projb, a.dln, a.atty[l], at.projw, n, d, d)
		clear(a.dqkv)
		kernels.AttentionBackwardPadded(cnt, a.dqkv, a.datty, a.qkv[l], a.atty[l], a.lse[l], lens, b, t, d, c.Heads)
		kernels.LinearBackward(cnt, kernels.QKV, a.dres, gat.qkvw, gat.qkvb, a.dqkv, a.res[l], at.qkvw, n, d, 3*d)
	}
	// a.dres holds dL/d(res[0]).
	dnorm := a.dres
	if c.Factorized() {
		kernels.LinearBackwardTo(cnt, kernels.EmbedProj, a.dembln, m.g.projw, m.g.projb, a.dres, a.embln, m.p.projw, n, e, d)
		dnorm = a.dembln
	}
	clear(a.demb)
	kernels.LayerNormBackward(cnt, a.demb, m.g.elnw, m.g.elnb, dnorm, a.emb, m.p.elnw, a.embm, a.embr, n, e)
	kernels.EmbeddingTypesBackward(cnt, m.g.wte, m.g.wpe, m.g.wtt, a.demb, a.tokens, a.types, t, e)
}

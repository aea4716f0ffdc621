package model

import "fmt"

// FamilyString describes the family choices of c that differ from GPT-2's
// (key/value heads, head width, RMSNorm, rotary positions, gated FFN,
// biases) as " key=value" pairs, "" for a GPT-2-style block; an
// encoder–decoder's first say its stacks, tying, norm placement, positions
// and embedding scale. The CLI's model line and the cost model's
// description both use it.
func (c Config) FamilyString() string {
	s := ""
	if c.IsEncDec() {
		s += fmt.Sprintf(" enc_layers=%d dec_layers=%d tying=%s", c.EncLayers, c.Layers, c.TyingMode())
		if c.PostLN {
			s += " ln=post"
		} else {
			s += " ln=pre"
		}
		if c.Sinusoidal() {
			s += " positions=sinusoidal"
		}
		if c.EmbedScale {
			s += " embed_scale"
		}
		if c.Activation != "" {
			s += " activation=" + string(c.Activation)
		}
		if c.ShareStacks {
			s += " share_stacks"
		}
	}
	if c.KV() != c.Heads {
		s += fmt.Sprintf(" kv_heads=%d", c.KV())
	}
	if c.DHead != 0 {
		s += fmt.Sprintf(" head_dim=%d", c.DHead)
	}
	if c.RMS() {
		s += " norm=rmsnorm"
	}
	if c.Rotary() {
		s += fmt.Sprintf(" positions=rope(θ=%g)", c.Theta())
	}
	if c.MLP != "" {
		s += " mlp=" + string(c.MLP)
	}
	if c.Bias != "" {
		s += " bias=" + string(c.Bias)
	}
	if c.EmbedScale && !c.IsEncDec() {
		s += " embed_scale"
	}
	if c.SlidingWindow > 0 {
		s += fmt.Sprintf(" sliding_window=%d", c.SlidingWindow)
		if c.SlidingEvery > 1 {
			s += fmt.Sprintf(" sliding_every=%d", c.SlidingEvery)
		}
	}
	if c.AttnSoftcap != 0 {
		s += fmt.Sprintf(" attn_softcap=%g", c.AttnSoftcap)
	}
	if c.FinalSoftcap != 0 {
		s += fmt.Sprintf(" final_softcap=%g", c.FinalSoftcap)
	}
	if c.QueryScalar != 0 {
		s += fmt.Sprintf(" query_scalar=%g", c.QueryScalar)
	}
	if c.PostNorms {
		s += " post_norms"
	}
	return s
}

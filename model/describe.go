package model

import "fmt"

// FamilyString describes the family choices of c that differ from GPT-2's
// (key/value heads, head width, RMSNorm, rotary positions, gated FFN,
// biases) as " key=value" pairs, "" for a GPT-2-style block. The CLI's
// model line and the cost model's description both use it.
func (c Config) FamilyString() string {
	s := ""
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
	return s
}

package cost

// BytesPerValue is the size of one stored value (float32).
const BytesPerValue = 4

// Memory is the memory of one training step over Batch sequences of Seq
// tokens, in bytes.
type Memory struct {
	Seq   int `json:"seq"`
	Batch int `json:"batch"`
	// Params, Grads: the stored (unique) parameters and their gradients.
	Params int64 `json:"params"`
	Grads  int64 `json:"grads"`
	// AdamW: the optimizer's two moment slabs, each the size of Params.
	AdamW int64 `json:"adamw"`
	// Activations: the tensors the forward keeps for backward (every layer's
	// input, norms and their statistics, QKV, attention output, FFN
	// pre- and post-activation), the logits and probabilities, and the
	// backward scratch — without the attention probabilities.
	Activations int64 `json:"activations"`
	// AttentionScores: the B·H·n·n attention probabilities per layer, which
	// the engine materialises and keeps for backward (for causal attention
	// too: the masked half is stored as zeros).
	AttentionScores int64 `json:"attention_scores"`
	Total           int64 `json:"total"`
}

// ActivationFloats is the number of float32 values in Activations plus
// AttentionScores — for a decoder exactly model.(*Model).ActivationFloats()
// after a Forward of this shape.
func (m Memory) ActivationFloats() int64 { return (m.Activations + m.AttentionScores) / BytesPerValue }

// Memory returns the training-step memory at (batch, seq). For a decoder it
// follows the engine's buffers exactly; for an encoder it applies the same
// layout to its structure (an estimate: there is no encoder engine). Small
// per-goroutine scratch (one row of n values in attention backward) and the
// int32 token and target ids (8 bytes per token) are not counted.
func (s Spec) Memory(seq, batch int) Memory {
	c := s.Config
	B, n := int64(batch), int64(seq)
	N := B * n
	d, f, K, L, H, E := int64(c.DModel), int64(c.DFF), int64(c.Vocab), int64(c.Layers), int64(c.Heads), int64(s.E())
	p := s.Parameters().Total.Unique
	m := Memory{Seq: seq, Batch: batch, Params: p * BytesPerValue, Grads: p * BytesPerValue, AdamW: 2 * p * BytesPerValue}

	// Per layer: input res, ln1, ln2, qkv (3d), attention output, res2 -> 8·N·d;
	// four LayerNorm statistics rows of N; FFN pre- and post-GELU 2·N·f.
	act := L * (8*N*d + 4*N + 2*N*f)
	// The last layer's output (res[L]).
	act += N * d
	// Backward scratch reused by every layer: dres, dln, datty (3·N·d), dqkv
	// (3·N·d), dfch and dfchg (2·N·f).
	act += 6*N*d + 2*N*f
	hasOut := s.Arch == Decoder || s.MLMHead
	if s.Arch == Decoder {
		act += N*d + 2*N // final LayerNorm output and statistics
	} else {
		act += 2*N*E + 2*N // embedding sum and its LayerNorm output (over E), statistics
		if E != d {
			act += N * d // mapped embedding
		}
		if s.MLMHead {
			act += 3*N*E + 2*N // dense output, GELU output, LayerNorm output and statistics
		}
	}
	if hasOut {
		act += 2*N*K + N // logits, probabilities (reused for dlogits), per-row losses
	}
	m.Activations = act * BytesPerValue
	m.AttentionScores = L * B * H * n * n * BytesPerValue
	m.Total = m.Params + m.Grads + m.AdamW + m.Activations + m.AttentionScores
	return m
}

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
	// backward scratch — without the attention statistics.
	Activations int64 `json:"activations"`
	// AttentionLSE: the B·H·n log-sum-exp values per layer that the fused
	// attention kernel keeps for backward in place of the probabilities.
	AttentionLSE int64 `json:"attention_lse"`
	Total        int64 `json:"total"`
	// NaiveAttentionProbs is not part of Total: the B·H·n·n probabilities
	// per layer that an attention kernel which materialises them (the usual
	// unfused implementation) would keep for backward instead of
	// AttentionLSE.
	NaiveAttentionProbs int64 `json:"naive_attention_probs"`
}

// ActivationFloats is the number of float32 values in Activations plus
// AttentionLSE — for an engine model (ForModel) exactly
// model.(*Model).ActivationFloats() after a forward pass of this shape.
func (m Memory) ActivationFloats() int64 { return (m.Activations + m.AttentionLSE) / BytesPerValue }

// Memory returns the training-step memory at (batch, seq). For an engine
// model (ForModel) it follows the engine's buffers exactly; a pooler, which
// the engine does not build, adds nothing (its B·d values are negligible).
// The attention kernel's per-goroutine scratch (packed copies of one
// head's Q, K, V and their gradients: O(n·dh) per thread, reused across
// calls) and the int32 token, type, length, target and position ids are not
// counted.
func (s Spec) Memory(seq, batch int) Memory {
	c := s.Config
	B, n := int64(batch), int64(seq)
	N := B * n
	d, f, K, L, H, E := int64(c.DModel), int64(c.DFF), int64(c.Vocab), int64(c.Layers), int64(c.Heads), int64(s.E())
	p := s.Parameters().Total.Unique
	m := Memory{Seq: seq, Batch: batch, Params: p * BytesPerValue, Grads: p * BytesPerValue, AdamW: 2 * p * BytesPerValue}

	// Per layer: input res, ln1, ln2, qkv (3d), attention output, res2 -> 8·N·d;
	// four LayerNorm statistics rows of N; FFN pre- and post-GELU 2·N·f. (An
	// encoder keeps the same tensors: the two residual sums before their
	// LayerNorms, the first LayerNorm's output, and the statistics.)
	// With GQA or a head_dim of its own qkv is N·(H + 2·H_kv)·dh and the
	// attention output N·H·dh; an RMSNorm keeps one statistic per row, not
	// two; a gated FFN keeps its gate's pre-activation too.
	qd, qkv := int64(c.QDim()), int64(c.QKVDim())
	stats := int64(2)
	if c.RMS() {
		stats = 1
	}
	ffnActs, ffnScratch := int64(2), int64(2)
	if c.Gated() {
		ffnActs, ffnScratch = 3, 3 // the gate; its gradient
		if c.MLP == "geglu" {
			ffnScratch = 4 // GeGLU's backward scratch
		}
	}
	act := L * (4*N*d + N*qkv + N*qd + 2*stats*N + ffnActs*N*f)
	// The last layer's output (res[L]).
	act += N * d
	if s.Config.PostNorms {
		// Per layer both sub-layers' outputs before their post-norms and
		// the post-norms' statistics; one backward scratch.
		act += L*(2*N*d+2*N) + N*d
	}
	// Backward scratch reused by every layer: dres, dln (2·N·d), datty
	// (N·H·dh), dqkv, dfch and dfchg (and dgate).
	act += 2*N*d + N*qd + N*qkv + ffnScratch*N*f
	if s.Arch == Decoder {
		act += N*d + stats*N // final norm output and statistics
		if E != d {
			act += 2 * N * E // embedding sum (the projection's input) and its gradient
		}
	} else {
		act += 2*N*E + 2*N // embedding sum and its gradient, LayerNorm statistics
		if E != d {
			act += 2 * N * E // the embedding LayerNorm's output (the projection's input) and its gradient
		}
	}
	if s.hasOutput() {
		R := s.headRows(seq, batch)
		if s.Arch == Encoder {
			act += 2 * R * d // the gathered hidden rows and their gradient
		}
		if s.headThroughE() {
			act += 5*R*E + 2*R // dense, GELU and LayerNorm outputs, two gradient scratch rows, statistics
		}
		act += 2*R*K + R // logits, probabilities (reused for dlogits), per-row losses
	}
	m.Activations = act * BytesPerValue
	m.AttentionLSE = L * B * H * n * BytesPerValue
	m.NaiveAttentionProbs = L * B * H * n * n * BytesPerValue
	m.Total = m.Params + m.Grads + m.AdamW + m.Activations + m.AttentionLSE
	return m
}

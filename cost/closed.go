package cost

// PerToken compares the exact training FLOPs per token (forward with the
// loss, plus backward, divided by B·n) with two common closed forms.
//
// PaLM (Chowdhery et al. 2022, appendix B) counts 6N + 12·L·H·Q·T per token,
// with Q the head dimension and T the sequence length: 6N for the parameter
// matmuls forward and backward, 12·L·H·Q·T = 3 x 4·L·d·T for QKᵀ and AV over
// the full T² (no causal halving). We take N as the applied parameters that
// take part in a matmul: everything but the embedding tables' lookup use, so
// the output projection (the tied embedding's second use) is in N.
//
// Kaplan et al. 2020 (table 1) count C_forward ≈ 2N + 2·L·n_ctx·d with N the
// non-embedding parameters (embedding tables and the output projection
// excluded) and 2·L·n·d the causal-average QKᵀ+AV; training is ≈ 3·C_forward.
//
// The exact count differs from both by: the logits matmul (2·d·K per token
// forward; in PaLM's N but not Kaplan's), the loss and the elementwise work
// (biases, residual adds, LayerNorm, GELU, softmax, the embedding sum) that
// both omit, the causal diagonal (n(n+1)/2 pairs, not n²/2: 2·(n+1)·d per
// layer rather than Kaplan's 2·n·d), and PaLM's full n² where the engine
// computes only the causal half. Backward is exactly twice the forward for
// every parameter matmul (input and weight gradients), as both forms
// assume; the fused attention's backward is three times its forward QKᵀ
// (it recomputes the scores rather than keep the n² probabilities), so its
// attention matmuls are 2.5x the forward's, not 2x.
type PerToken struct {
	Seq          int     `json:"seq"`
	Exact        float64 `json:"exact"`         // engine's training FLOPs per token
	ExactForward float64 `json:"exact_forward"` // forward only (with loss)
	PaLM         float64 `json:"palm"`          // 6N + 12·L·H·Q·T
	PaLMN        int64   `json:"palm_n"`
	Kaplan       float64 `json:"kaplan"`         // 3·(2N + 2·L·n·d)
	KaplanFwd    float64 `json:"kaplan_forward"` // 2N + 2·L·n·d
	KaplanN      int64   `json:"kaplan_n"`
}

// ClosedForms evaluates the exact and closed-form per-token training FLOPs
// at seq tokens (batch 1; per-token values do not depend on the batch, apart
// from an encoder's pooler).
func (s Spec) ClosedForms(seq int, causal bool) PerToken {
	c := s.Config
	p := s.Parameters()
	f := s.FLOPs(seq, 1, causal)
	n := float64(seq)
	L, H, Q, d := float64(c.Layers), float64(c.Heads), float64(c.HeadDim()), float64(c.DModel)
	kN := p.NonEmbedding(s)
	pN := kN
	if s.hasOutput() {
		pN += int64(c.Vocab) * int64(s.E())
	}
	out := PerToken{Seq: seq, PaLMN: pN, KaplanN: kN}
	out.Exact = float64(f.Total().Total()) / n
	out.ExactForward = float64(f.Forward.Total()) / n
	out.PaLM = 6*float64(pN) + 12*L*H*Q*n
	out.KaplanFwd = 2*float64(kN) + 2*L*n*d
	out.Kaplan = 3 * out.KaplanFwd
	return out
}

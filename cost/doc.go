// Package cost is tformer's analytical cost model: for a transformer
// described by a Spec it computes, exactly and without running anything,
//
//   - parameters, unique (stored) and applied (counted once per use in a
//     forward pass), per component, and what input–output tying and
//     cross-layer sharing save against the untied, unshared model;
//   - FLOPs per component (embedding, qkv, scores, softmax, av, attn_out,
//     ffn_up, gelu, ffn_down, layernorm, logits, loss, and for encoders
//     embed_proj, mlm_dense, pooler) for a batch of B sequences of n tokens,
//     forward and backward, for one token of cached generation, and for a
//     prompt prefilled into the cache as model.Decoder.Prefill runs it;
//   - the sequence lengths at which multi-head attention (MHA) and its n²
//     core overtake the FFN, solved exactly from the per-layer polynomials;
//   - the memory of a training step: parameters, gradients, AdamW moments,
//     the activations the engine keeps for backward plus its scratch, and
//     the attention probability buffer it materialises;
//   - per-token training FLOPs beside the closed forms of PaLM and Kaplan et al.
//
// # Conventions
//
// The FLOP counts use exactly the conventions of package kernels, so that for
// a decoder they equal, per component, what the engine's kernel counters
// record (the package's tests run the engine and check this to the FLOP):
//
//   - A matrix product (m x k)·(k x n) is 2·m·k·n FLOPs — one multiply and one
//     add per term. MACs are never reported.
//   - A bias add is 1 FLOP per output element (and its gradient 1 per summed
//     element); the residual add fused into attn_out and ffn_down is 1 per
//     element forward and free backward.
//   - Other operations count the per-element constants kernels.Flops*:
//     embedding 1 forward / 2 backward, LayerNorm 8 / 17, GELU 9 / 19, loss
//     5 per logit forward and 1 per logit plus 1 per row backward.
//   - Attention is one fused, tiled kernel (kernels/attention.go): per
//     (query, key) pair and head QKᵀ 2·dh, softmax 5 and AV 2·dh forward;
//     backward QKᵀ 6·dh (it recomputes the scores instead of keeping the
//     probabilities, then dQ and dK), softmax 6 and AV 4·dh; per query row
//     and head, softmax dh forward (the output's normalisation) plus dh per
//     rescale of the running output (kernels.AttentionRescales), and 2·dh
//     backward. Cached decoding counts softmax 6 per pair.
//   - Causal attention computes n(n+1)/2 (query, key) pairs per head
//     (kernels.AttentionPairs); bidirectional attention n². The engine's
//     decoder is causal; encoders are bidirectional.
//   - Backward computes the input gradient of every linear layer (including
//     the first layer's QKV, whose gradient flows on to the embeddings) and
//     the weight gradient; the logits product has no bias.
//   - "forward" is a training forward: it includes the loss. MHA is
//     qkv+scores+softmax+av+attn_out, FFN is ffn_up+gelu+ffn_down, and the
//     attention core is scores+av (the QKᵀ and AV products).
//
// Encoders (BERT, ALBERT) apply the same conventions to their structure —
// token, position and type tables, an embedding LayerNorm, ALBERT's E->d
// mapping, post-LN layers (the same two LayerNorms per layer), an optional
// pooler and masked-LM head. The engine builds encoders without a pooler and
// with the MLM head run on the masked positions only (ForModel); for those,
// and for factorized decoders, the package's tests check FLOPs and memory
// against the executed kernels too, and parameters against model.Config.
// Published BERT and ALBERT parameter counts (with the pooler, as Hugging
// Face's BertModel and AlbertModel have it) are checked against the presets.
//
// Memory is in bytes of float32 values.
package cost

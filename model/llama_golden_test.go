package model

import "testing"

// TestGoldenLlamaPyTorch compares logits, loss and every gradient of the
// Llama-family decoders (RMSNorm with and without Gemma's 1+w gain, RoPE
// plain and with llama3 scaling, SwiGLU and GeGLU, GQA and MQA, head_dim
// independent of d/heads, q/k/v biases and all biases, √d embedding scale,
// tied and untied, shared and unshared, sliding windows shorter than the
// sequence on every layer and on the even layers, Gemma 2's soft-capped
// scores and logits, query_pre_attn_scalar and post-norms) with fixtures written by
// reference/torch_llama_ref.py, an independent PyTorch implementation in the
// layout of Hugging Face's modeling_llama (separate q/k/v projections,
// rotate_half, repeat_kv), computed in float64: max|got-want| <= 1e-4 ·
// max|want| per tensor.
func TestGoldenLlamaPyTorch(t *testing.T) {
	checkGolden(t, "../testdata/golden/llama/*.safetensors", 10, "reference/torch_llama_ref.py")
}

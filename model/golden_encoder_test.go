package model

import "testing"

// TestGoldenPyTorchEncoder compares encoders (masked-LM at the fixture's
// positions, with padding and token types) and factorized decoders with
// fixtures written by reference/torch_encoder_ref.py, an independent PyTorch
// implementation computed in float64: logits, loss and every gradient, each
// tensor within max|got-want| <= 1e-4 · max|want|, and the count of correct
// predictions exactly.
func TestGoldenPyTorchEncoder(t *testing.T) {
	checkGolden(t, "../testdata/golden/encoder/*.safetensors", 10, "reference/torch_encoder_ref.py")
}

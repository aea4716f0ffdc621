package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCostLlamaPresetsAndConfig: the presets report their published counts
// and a gemma2 config.json is read; unsupported model types name the field.
func TestCostLlamaPresetsAndConfig(t *testing.T) {
	out, err := runCost(t, "--preset", "llama-3.2-1b", "--seq", "1024")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1,235,814,400", "tying saves 262,668,288", "rope", "ffn_gate", "glu", "Inference with a KV cache", "kv = kv_heads·head_dim = 512"} {
		if !strings.Contains(out, want) {
			t.Errorf("llama-3.2-1b output lacks %q", want)
		}
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.json")
	os.WriteFile(cfg, []byte(`{"model_type":"gemma2","vocab_size":256000,"hidden_size":2304,"num_hidden_layers":26,"num_attention_heads":8,"num_key_value_heads":4,"head_dim":256,"intermediate_size":9216,"max_position_embeddings":8192,"sliding_window":4096,"attn_logit_softcapping":50.0,"final_logit_softcapping":30.0}`), 0o644)
	if out, err = runCost(t, "--config", cfg, "--seq", "8192"); err != nil || !strings.Contains(out, "2,614,341,888") {
		t.Errorf("gemma2 config: %v\n%s", err, out)
	}
	os.WriteFile(cfg, []byte(`{"model_type":"falcon","hidden_size":8}`), 0o644)
	if _, err = runCost(t, "--config", cfg); err == nil || !strings.Contains(err.Error(), "model_type") {
		t.Errorf("falcon config: %v", err)
	}
	// The family flags on the model flags: GQA and SwiGLU change the counts.
	out, err = runCost(t, "--arch", "llama", "--seq", "64", "--vocab", "256")
	if err != nil || !strings.Contains(out, "ffn_gate") || !strings.Contains(out, "rope") {
		t.Errorf("--arch llama: %v\n%s", err, out)
	}
	if _, err = runCost(t, "--arch", "llama", "--kv-heads", "3"); err == nil || !strings.Contains(err.Error(), "kv-heads") {
		t.Errorf("--kv-heads 3 of 4 heads: %v", err)
	}
	if _, err = runCost(t, "--rope-scaling", "32,1"); err == nil || !strings.Contains(err.Error(), "--rope-scaling") {
		t.Errorf("bad --rope-scaling: %v", err)
	}
}

// TestTrainLlama trains a tiny Llama-style model (shared, GQA), generates
// from its checkpoint, and evaluates it.
func TestTrainLlama(t *testing.T) {
	dir := t.TempDir()
	data := writeText(t, dir)
	ck := filepath.Join(dir, "m.safetensors")
	args := append([]string{"train", "--arch", "llama", "--data", data, "--steps", "3", "--out", ck, "--sample", "5", "--share", "all", "--groups", "1"}, small...)
	so, se, code := run(t, args...)
	if code != 0 {
		t.Fatalf("train --arch llama: exit %d\n%s\n%s", code, so, se)
	}
	if !strings.Contains(se, "norm=rmsnorm") || !strings.Contains(se, "mlp=swiglu") || !strings.Contains(se, "kv_heads=1") {
		t.Errorf("model line lacks the family:\n%s", se)
	}
	if so, se, code = run(t, "generate", "--model", ck, "--tokens", "5", "--prompt", "the "); code != 0 {
		t.Fatalf("generate: exit %d\n%s\n%s", code, so, se)
	}
	if _, se, code = run(t, "train", "--arch", "llama", "--positions", "spiral"); code == 0 || !strings.Contains(se, "positions") {
		t.Errorf("--positions spiral: exit %d, %s", code, se)
	}
}

package main

import (
	"fmt"
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

// TestTrainGemma2Family: --arch gemma2 trains with or without a window (its
// every-other-layer period applies once one is given), and a period with no
// window anywhere is refused in one line.
func TestTrainGemma2Family(t *testing.T) {
	dir := t.TempDir()
	data := writeText(t, dir)
	for i, extra := range [][]string{nil, {"--sliding-window", "4"}} {
		out := filepath.Join(dir, fmt.Sprintf("g%d.safetensors", i))
		so, se := mustRun(t, append(append([]string{"train", "--arch", "gemma2", "--data", data, "--steps", "1", "--out", out, "--sample", "0", "--heads", "2"}, small...), extra...)...)
		stdout := so + se
		for _, want := range []string{"mlp=geglu", "embed_scale", "attn_softcap=50", "final_softcap=30", "post_norms"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("%v: the model line lacks %q:\n%s", extra, want, stdout)
			}
		}
		if w := strings.Contains(stdout, "sliding_window=4 sliding_every=2"); w != (extra != nil) {
			t.Errorf("%v: window in the model line %v:\n%s", extra, w, stdout)
		}
	}
	wantError(t, "--sliding-every 3 needs --sliding-window", append([]string{"train", "--data", data, "--steps", "1", "--out", filepath.Join(dir, "x.safetensors"), "--sliding-every", "3"}, small...)...)
}

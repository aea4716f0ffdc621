package main

import (
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// TestEncoderTrainEval trains a small factorized, shared encoder by masked-LM,
// resumes it, evaluates it (text and JSON), and checks that it refuses to
// generate.
func TestEncoderTrainEval(t *testing.T) {
	dir := t.TempDir()
	data := writeText(t, dir)
	ck := filepath.Join(dir, "enc.safetensors")
	args := append([]string{"train", "--arch", "encoder", "--embed-dim", "8", "--share", "all", "--data", data, "--steps", "6", "--out", ck}, small...)
	out, errOut, code := run(t, args...)
	if code != 0 {
		t.Fatalf("train exit %d: %s", code, errOut)
	}
	for _, want := range []string{"model: encoder", "embed_dim=8", "vocab=257", "id 256 is [MASK]", "masking 2 of each window's 16 tokens", "validation masked-LM loss", "accuracy"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("train stderr lacks %q:\n%s", want, errOut)
		}
	}
	if !strings.Contains(out, "trained 6 steps") || !strings.Contains(out, "masked-LM loss") || strings.Contains(out, "sample") {
		t.Errorf("train stdout:\n%s", out)
	}
	if _, errOut, code = run(t, "train", "--data", data, "--resume", ck, "--steps", "8", "--out", ck); code != 0 || !strings.Contains(errOut, "resuming") {
		t.Fatalf("resume exit %d: %s", code, errOut)
	}
	out, errOut, code = run(t, "eval", "--model", ck, "--data", data, "--json", "--batch", "3")
	if code != 0 {
		t.Fatalf("eval exit %d: %s", code, errOut)
	}
	var r struct {
		Loss, Accuracy float64
		Masked, Tokens int
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Tokens != 1800/16*16 || r.Masked != 1800/16*2 || r.Loss <= 0 || r.Accuracy < 0 || r.Accuracy > 1 {
		t.Fatalf("eval --json: %q (%v)", out, err)
	}
	out2, _, _ := run(t, "eval", "--model", ck, "--data", data, "--json", "--batch", "8")
	var r2 struct {
		Loss, Accuracy float64
		Masked, Tokens int
	}
	if err := json.Unmarshal([]byte(out2), &r2); err != nil || math.Abs(r2.Loss-r.Loss) > 1e-6*r.Loss || r2.Masked != r.Masked || r2.Accuracy != r.Accuracy {
		t.Errorf("eval depends on --batch: %s vs %s", out, out2)
	}
	out, _, code = run(t, "eval", "--model", ck, "--data", data)
	if code != 0 || !strings.Contains(out, "masked-LM loss") || !strings.Contains(out, "accuracy") {
		t.Errorf("eval: %s", out)
	}
	_, errOut, code = run(t, "generate", "--model", ck, "--prompt", "the ")
	if code == 0 || !strings.Contains(errOut, "cannot generate") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Errorf("generate on an encoder: exit %d, %q", code, errOut)
	}
}

func TestEncoderBadInput(t *testing.T) {
	dir := t.TempDir()
	data := writeText(t, dir)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"train", "--arch", "encoder", "--seq", "1", "--data", data}, "too short for masked-LM"},
		{[]string{"train", "--arch", "encoder", "--d-model", "16", "--heads", "2", "--embed-dim", "32", "--data", data}, "embed-dim (32) cannot be larger than d-model (16)"},
		{[]string{"train", "--arch", "encoder", "--share", "all", "--layers", "4", "--groups", "3", "--data", data}, "groups (3) must divide layers (4)"},
		{[]string{"train", "--arch", "bert", "--data", data}, "unknown architecture"},
		{[]string{"train", "--type-vocab", "2", "--data", data}, "token types (type-vocab 2) apply to encoders only"},
	} {
		out, errOut, code := run(t, c.args...)
		lines := strings.Split(strings.TrimRight(errOut, "\n"), "\n")
		if code == 0 || !strings.Contains(errOut, c.want) || len(lines) != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want one line containing %q", c.args, code, out, errOut, c.want)
		}
	}
}

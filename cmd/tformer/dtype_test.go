package main

import (
	"bytes"
	"context"
	"io"
	"math"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEvalDTypeLoss trains a small GPT-2-style and a small Llama-style
// model on the built-in corpus and scores its held-out split with f32,
// bf16 and int8 weights: bf16 must stay within 1e-2 nats of f32 (issue
// 14), int8 within 3e-2; the differences are logged.
func TestEvalDTypeLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two small models")
	}
	for _, arch := range []string{"gpt2", "llama"} {
		ck := filepath.Join(t.TempDir(), "m.safetensors")
		args := []string{"train", "--arch", arch, "--d-model", "32", "--layers", "2", "--heads", "4", "--max-seq", "32", "--seq", "32",
			"--batch", "8", "--steps", "150", "--eval-windows", "2", "--sample", "0", "--out", ck}
		if arch == "llama" {
			args = append(args, "--kv-heads", "2")
		}
		if _, errOut, code := run(t, args...); code != 0 {
			t.Fatalf("%s: train exit %d: %s", arch, code, errOut)
		}
		loss := map[string]float64{}
		for _, dt := range []string{"f32", "bf16", "int8"} {
			r := evalJSONOf(t, &evalOptions{Model: ck, Batch: 64, DType: dt})
			loss[dt] = r["loss"].(float64)
		}
		t.Logf("%s: held-out loss f32 %.5f, bf16 %.5f (%+.2e), int8 %.5f (%+.2e)", arch, loss["f32"], loss["bf16"], loss["bf16"]-loss["f32"], loss["int8"], loss["int8"]-loss["f32"])
		if loss["f32"] > 3.5 {
			t.Errorf("%s: the model did not learn (loss %.3f)", arch, loss["f32"])
		}
		if d := math.Abs(loss["bf16"] - loss["f32"]); !(d <= 1e-2) {
			t.Errorf("%s: bf16 loss differs by %g nats", arch, d)
		}
		if d := math.Abs(loss["int8"] - loss["f32"]); !(d <= 3e-2) {
			t.Errorf("%s: int8 loss differs by %g nats", arch, d)
		}
	}
}

// TestDTypeFlag: generate, eval and serve take --dtype; a bad value, or a
// narrow dtype on an encoder, is one clear line and exit 1; generate runs
// in each dtype.
func TestDTypeFlag(t *testing.T) {
	ck := tinyCheckpoint(t, tinyByteConfig)
	for _, args := range [][]string{
		{"generate", "--model", ck, "--prompt", "a", "--dtype", "fp16"},
		{"eval", "--model", ck, "--dtype", "fp16"},
		{"serve", "--model", ck, "--dtype", "fp16", "--addr", "127.0.0.1:0"},
	} {
		_, errOut, code := run(t, args...)
		if code != 1 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.Contains(errOut, `--dtype: unknown dtype "fp16" (want f32, bf16 or int8)`) {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
	for _, dt := range []string{"f32", "bf16", "int8"} {
		out, errOut, code := run(t, "generate", "--model", ck, "--prompt", "ab", "--tokens", "5", "--temperature", "0", "--dtype", dt)
		if code != 0 || !strings.HasPrefix(out, "ab") {
			t.Errorf("generate --dtype %s: exit %d, %q, %s", dt, code, out, errOut)
		}
		if dt != "f32" && !strings.Contains(errOut, "note: weights in "+dt) {
			t.Errorf("generate --dtype %s: no note of the weights' memory: %s", dt, errOut)
		}
	}
	enc := tinyByteConfig
	enc.Arch, enc.Vocab = "encoder", 257
	ek := tinyCheckpoint(t, enc)
	var out, errw bytes.Buffer
	err := evalRun(&evalOptions{Model: ek, Batch: 4, DType: "int8"}, &out, &errw)
	if err == nil || !strings.Contains(err.Error(), "--dtype int8") || !strings.Contains(err.Error(), "encoder") {
		t.Errorf("int8 encoder: %v", err)
	}
}

// TestServeDType: serve --dtype int8 loads the model narrowed and answers a
// completion (in process, on 127.0.0.1).
func TestServeDType(t *testing.T) {
	ck := tinyCheckpoint(t, tinyByteConfig)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := make(chan string, 1)
	var logw bytes.Buffer
	done := make(chan error, 1)
	o := &ServeOptions{Model: ck, DType: "int8", Name: "tformer", Addr: "127.0.0.1:0", Concurrency: 1, Queue: 2, MaxTokens: 16,
		MaxBody: 1 << 20, Shutdown: time.Second, Quiet: true, ready: func(a string) { addr <- a }}
	go func() { done <- serveRun(ctx, o, &logw) }()
	var a string
	select {
	case a = <-addr:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	resp, err := http.Post("http://"+a+"/v1/completions", "application/json", strings.NewReader(`{"model":"tformer","prompt":"ab","max_tokens":4,"temperature":0}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"completion_tokens":4`) {
		t.Errorf("POST /v1/completions: %d %s", resp.StatusCode, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
	if !strings.Contains(logw.String(), "note: weights in int8") {
		t.Errorf("no note of the int8 weights: %s", logw.String())
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// runBench runs `tformer bench args...` in-process and returns stdout and stderr.
func runBench(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	root := newRoot()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"bench"}, args...))
	err := root.Execute()
	return out.String(), errOut.String(), err
}

// benchFast shrinks every part to run in milliseconds.
var benchFast = []string{"--sizes", "64", "--gpt2-shapes=false", "--attn-seq", "32", "--attn-d", "32", "--attn-heads", "4",
	"--min-time", "1ms", "--fma-time", "5ms", "--model", "tiny", "--steps", "2", "--batch", "2", "--seq", "8", "--gen-tokens", "8", "--prompt-tokens", "12", "--prompt-steps", "--threads", "1"}

func TestBenchJSON(t *testing.T) {
	out, stderr, err := runBench(t, append(benchFast, "--json")...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "bench: gemm NT 64x64x64") {
		t.Errorf("no progress on stderr: %q", stderr)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, out)
	}
	for _, k := range []string{"fma_peak_gflops", "gemm", "attention", "train_step_ms", "train_tokens_per_s",
		"generate_tokens_per_s", "generate_tiny_tokens_per_s", "first_token", "cpu", "threads", "date"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	var r struct {
		FMA      float64 `json:"fma_peak_gflops"`
		FMAISA   string  `json:"fma_peak_isa"`
		FMAPeaks []struct {
			ISA    string  `json:"isa"`
			Bits   int     `json:"bits"`
			GFLOPS float64 `json:"gflops"`
		} `json:"fma_peaks"`
		GEMM []struct {
			M, N, K int
			Form    string
			Threads int
			GFLOPS  float64 `json:"gflops"`
			ISA     string  `json:"isa"`
		} `json:"gemm"`
		Attention []struct {
			Seq, D, Heads int
			GFLOPS        float64 `json:"gflops"`
		} `json:"attention"`
		TrainStepMS     float64 `json:"train_step_ms"`
		TrainTokensPerS float64 `json:"train_tokens_per_s"`
		GenTPS          float64 `json:"generate_tokens_per_s"`
		CPU             struct {
			Accel  string `json:"accel"`
			NumCPU int    `json:"num_cpu"`
		} `json:"cpu"`
		Threads    int    `json:"threads"`
		Date       string `json:"date"`
		FirstToken []struct {
			Model, DType, Method string
			PromptTokens         int     `json:"prompt_tokens"`
			Seconds              float64 `json:"seconds"`
		} `json:"first_token"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.FMA < 0 || len(r.GEMM) != 1 || r.GEMM[0].M != 64 || r.GEMM[0].N != 64 || r.GEMM[0].K != 64 ||
		r.GEMM[0].Form != "NT" || r.GEMM[0].Threads != 1 || r.GEMM[0].GFLOPS <= 0 {
		t.Errorf("fma/gemm: %+v %+v", r.FMA, r.GEMM)
	}
	// Each figure names the kernels that produced it; the FMA limit the
	// instructions it was measured with, widest first.
	if r.GEMM[0].ISA != r.CPU.Accel {
		t.Errorf("gemm isa %q, kernels %q", r.GEMM[0].ISA, r.CPU.Accel)
	}
	if len(r.FMAPeaks) > 0 {
		if r.FMAISA != r.FMAPeaks[0].ISA || r.FMA != r.FMAPeaks[0].GFLOPS {
			t.Errorf("fma_peak %v %q, fma_peaks %+v", r.FMA, r.FMAISA, r.FMAPeaks)
		}
		for i, p := range r.FMAPeaks {
			if p.ISA == "" || p.GFLOPS <= 0 || (i > 0 && p.Bits >= r.FMAPeaks[i-1].Bits) {
				t.Errorf("fma_peaks[%d] = %+v", i, p)
			}
		}
	}
	if len(r.Attention) != 1 || r.Attention[0].Seq != 32 || r.Attention[0].D != 32 || r.Attention[0].Heads != 4 || r.Attention[0].GFLOPS <= 0 {
		t.Errorf("attention: %+v", r.Attention)
	}
	if r.TrainStepMS <= 0 || r.TrainTokensPerS <= 0 || r.GenTPS <= 0 {
		t.Errorf("train/generate: %v ms, %v tok/s, %v gen tok/s", r.TrainStepMS, r.TrainTokensPerS, r.GenTPS)
	}
	// The tiny model, each dtype prefilled and stepped.
	if len(r.FirstToken) != 6 {
		t.Errorf("first_token: %+v", r.FirstToken)
	}
	for i, f := range r.FirstToken {
		if f.Model != "tiny" || f.PromptTokens != 12 || f.Seconds <= 0 || f.Method != []string{"prefill", "step"}[i%2] || f.DType != []string{"f32", "bf16", "int8"}[i/2] {
			t.Errorf("first_token[%d] = %+v", i, f)
		}
	}
	if r.CPU.Accel == "" || r.CPU.NumCPU <= 0 || r.Threads != 1 || r.Date == "" {
		t.Errorf("header: %+v threads %d date %q", r.CPU, r.Threads, r.Date)
	}
}

func TestBenchOnlyGEMMTable(t *testing.T) {
	out, _, err := runBench(t, append(benchFast, "--only", "gemm", "--sizes", "32,48")...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "GEMM") || !strings.Contains(out, "48") || strings.Contains(out, "Training step") || strings.Contains(out, "FMA peak") {
		t.Errorf("table:\n%s", out)
	}
	out, _, err = runBench(t, append(benchFast, "--only", "gemm", "--json")...)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"fma_peak_gflops", "attention", "train_step_ms", "generate_tokens_per_s"} {
		if _, ok := raw[k]; ok {
			t.Errorf("--only gemm printed %q", k)
		}
	}
}

func TestBenchTable(t *testing.T) {
	out, _, err := runBench(t, benchFast...)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"FMA peak", "GEMM", "Attention", "Training step", "tokens/s", "Generation", "tiny"} {
		if !strings.Contains(out, s) {
			t.Errorf("table lacks %q:\n%s", s, out)
		}
	}
}

func TestBenchBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--only", "gemm,warp"}, `--only: unknown part "warp"`},
		{[]string{"--only", ""}, `--only: unknown part ""`},
		{[]string{"--sizes", "64,x"}, `--sizes: "x" is not a positive integer`},
		{[]string{"--sizes", "0"}, `--sizes: "0" is not a positive integer`},
		{[]string{"--attn-seq", "-4"}, `--attn-seq: "-4" is not a positive integer`},
		{[]string{"--steps", "0"}, "--steps must be positive"},
		{[]string{"--min-time", "0s"}, "--min-time must be positive"},
		{[]string{"--model", "huge"}, `--model: unknown model "huge"`},
		{[]string{"--attn-heads", "3"}, "--attn-heads 3 must divide --attn-d 512"},
		{[]string{"--prompt-tokens", "-1"}, "--prompt-tokens must be >= 0"},
		{[]string{"--prompt-tokens", "0", "--prompt-steps"}, "--prompt-steps times a prompt: it needs --prompt-tokens above 0"},
	} {
		_, _, err := runBench(t, c.args...)
		if err == nil {
			t.Errorf("%v: no error", c.args)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") {
			t.Errorf("%v: error %q, want one line containing %q", c.args, msg, c.want)
		}
	}
}

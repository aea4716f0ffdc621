package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestBenchDTypes: every figure of bench --json names its dtype and ISA;
// the generate part runs each --dtype side by side, best of --gen-rounds,
// with the weights' bytes shrinking with the type; a bad --dtype is refused.
func TestBenchDTypes(t *testing.T) {
	out, _, err := runBench(t, append(benchFast, "--only", "gemm,attention,generate", "--gen-rounds", "2", "--json")...)
	if err != nil {
		t.Fatal(err)
	}
	type fig struct {
		DType       string    `json:"dtype"`
		ISA         string    `json:"isa"`
		Model       string    `json:"model"`
		WeightBytes int64     `json:"weight_bytes"`
		Rounds      []float64 `json:"rounds_tokens_per_s"`
		TokensPerS  float64   `json:"tokens_per_s"`
	}
	var r struct {
		CPU struct {
			Accel string `json:"accel"`
		} `json:"cpu"`
		GEMM      []fig `json:"gemm"`
		Attention []fig `json:"attention"`
		Generate  []fig `json:"generate"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	for _, f := range append(r.GEMM, r.Attention...) {
		if f.DType != "f32" || f.ISA != r.CPU.Accel {
			t.Errorf("figure %+v: want dtype f32, isa %s", f, r.CPU.Accel)
		}
	}
	if len(r.Generate) != 3 {
		t.Fatalf("generate: %+v", r.Generate)
	}
	for i, want := range []string{"f32", "bf16", "int8"} {
		g := r.Generate[i]
		if g.DType != want || g.ISA != r.CPU.Accel || g.Model != "tiny" || len(g.Rounds) != 2 || g.TokensPerS <= 0 {
			t.Errorf("generate[%d] = %+v", i, g)
		}
		if i > 0 && g.WeightBytes >= r.Generate[i-1].WeightBytes {
			t.Errorf("%s weights %d bytes, not fewer than %s's %d", want, g.WeightBytes, r.Generate[i-1].DType, r.Generate[i-1].WeightBytes)
		}
	}
	if _, _, err := runBench(t, append(benchFast, "--only", "generate", "--dtype", "f32,fp8")...); err == nil || !strings.Contains(err.Error(), `--dtype: unknown dtype "fp8"`) {
		t.Errorf("bad --dtype: %v", err)
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// cost, profile and bench parse their flags into an options struct (the
// runF pattern of cli/cli), and their run functions work in process.

func TestCostFlags(t *testing.T) {
	var got *costOptions
	cmd := newCostCmd(func(o *costOptions) error { got = o; return nil })
	cmd.SetArgs(strings.Fields("--preset albert-base --mlm-head --pooler=false --seq 64,128 --batch 2 --train --format json --d-model 384"))
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Preset != "albert-base" || !got.MLMHead || got.Pooler || !got.changed("pooler") || got.Seqs != "64,128" || got.Batch != 2 || !got.Train || got.Format != "json" {
		t.Errorf("parsed %+v", got)
	}
	if got.changed("causal") || !got.Model.changed("d-model") {
		t.Errorf("changed flags: causal %v d-model %v", got.changed("causal"), got.Model.changed("d-model"))
	}
	s, err := costSpec(got)
	if err != nil {
		t.Fatal(err)
	}
	if s.Config.DModel != 384 || s.Pooler || !s.MLMHead || s.E() != 128 {
		t.Errorf("spec %+v: want albert-base at d 384, masked-LM head, no pooler", s)
	}
	var out, errw bytes.Buffer
	if err := costRun(got, &out, &errw); err != nil {
		t.Fatal(err)
	}
	var r struct {
		Seqs []int `json:"seqs"`
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%v: %.200s", err, out.String())
	}
	if o := (&costOptions{Preset: "gpt2", Config: "x", Model: got.Model, Seqs: "8", Batch: 1, Format: "table"}); costRun(o, &out, &errw) == nil {
		t.Error("--preset with --config ran")
	}
}

func TestProfileFlags(t *testing.T) {
	var got *profileOptions
	cmd := newProfileCmd(func(o *profileOptions) error { got = o; return nil })
	cmd.SetArgs(strings.Fields("--vocab 32 --d-model 16 --layers 1 --heads 2 --seq 8,16 --reps 2 --warmup-reps 0 --forward-only --threads 1 --max-mem 1GiB --format md"))
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Seqs != "8,16" || got.Reps != 2 || got.Warmup != 0 || !got.ForwardOnly || got.Threads != 1 || got.MaxMem != "1GiB" || got.Format != "md" || got.Batch != 1 || got.Seed != 1 {
		t.Errorf("parsed %+v", got)
	}
	cfg, err := profileConfig(got, []int{8, 32})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Vocab != 32 || cfg.DModel != 16 || cfg.DFF != 64 || cfg.MaxSeq != 32 {
		t.Errorf("config %+v: want vocab 32, d 16, d_ff 64, context raised to 32", cfg)
	}
	var out, errw bytes.Buffer
	if err := profileRun(got, &out, &errw); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "|") || !strings.Contains(errw.String(), "profile: done") {
		t.Errorf("stdout %.300q stderr %.300q", out.String(), errw.String())
	}
}

func TestBenchFlags(t *testing.T) {
	var got *benchOptions
	cmd := newBenchCmd(func(o *benchOptions) error { got = o; return nil })
	cmd.SetArgs(strings.Fields("--only gemm --sizes 32 --gpt2-shapes=false --min-time 1ms --json --threads 1"))
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Only != "gemm" || got.Sizes != "32" || got.GPT2Shapes || got.MinTime != time.Millisecond || !got.JSON || got.Threads != 1 || got.Steps != 3 || got.Model != "gpt2" {
		t.Errorf("parsed %+v", got)
	}
	var out, errw bytes.Buffer
	if err := benchRun(got, &out, &errw); err != nil {
		t.Fatal(err)
	}
	var r benchReport
	if err := json.Unmarshal(out.Bytes(), &r); err != nil || len(r.GEMM) != 1 || r.GEMM[0].M != 32 {
		t.Errorf("report %v: %.300s", err, out.String())
	}
	bad := *got
	bad.AttnSeqs, bad.Only = "1048576", "attention"
	bad.AttnD = 1 << 20
	if err := benchRun(&bad, &out, &errw); err == nil || !strings.Contains(err.Error(), "--attn-seq 1048576") {
		t.Errorf("a huge attention ran or was refused in other words: %v", err)
	}
}

// --version says something under every kind of build: the module version
// of go install, the revision of a stamped go build, or "devel" and why
// under go run and go test (which stamp nothing).
func TestVersionOf(t *testing.T) {
	for _, c := range []struct {
		bi   debug.BuildInfo
		want []string
	}{
		{debug.BuildInfo{Main: debug.Module{Version: "v0.3.0"}}, []string{"v0.3.0, go1.99 ", ", kernels avx512f, checkpoints tformer/1"}},
		{debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "5406f116749d01e5278b23a52bd361aa926df180"}, {Key: "vcs.time", Value: "2026-12-03T17:44:27Z"},
			{Key: "vcs.modified", Value: "true"}, {Key: "GOAMD64", Value: "v3"}}},
			[]string{"devel 5406f116749d+dirty (2026-12-03T17:44:27Z), go1.99 ", "/v3, kernels"}},
		{debug.BuildInfo{}, []string{"devel (no VCS revision recorded: go run, go test", "go1.99"}},
	} {
		got := versionOf(&c.bi, "go1.99", "avx512f")
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("versionOf(%+v) = %q, want it to contain %q", c.bi, got, w)
			}
		}
	}
	// Under go test nothing is stamped: the version still names the
	// build's Go, kernels and checkpoint format.
	if v := version(); strings.Contains(v, "(devel)") || !strings.Contains(v, "kernels ") || !strings.Contains(v, "checkpoints tformer/") {
		t.Errorf("version() = %q", v)
	}
}

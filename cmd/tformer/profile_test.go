package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// profileSmall is a model and sweep that profiles in milliseconds.
var profileSmall = []string{"--d-model", "16", "--layers", "2", "--heads", "2", "--vocab", "13", "--seq", "4,8", "--batch", "2", "--reps", "2", "--warmup-reps", "0"}

// runProfile runs `tformer profile args...` in-process through the root
// command and returns stdout and stderr.
func runProfile(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	root := newRoot()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"profile"}, args...))
	err := root.Execute()
	return out.String(), errOut.String(), err
}

func TestProfileJSON(t *testing.T) {
	out, stderr, err := runProfile(t, append(profileSmall, "--format", "json", "--share", "ffn", "--no-tie", "--threads", "1")...)
	if err != nil {
		t.Fatal(err)
	}
	var j struct {
		Model struct {
			DModel int    `json:"d_model"`
			DFF    int    `json:"d_ff"`
			MaxSeq int    `json:"max_seq"`
			Tie    bool   `json:"tie"`
			Share  string `json:"share"`
		} `json:"model"`
		Train    bool     `json:"train"`
		Threads  int      `json:"threads"`
		Warnings []string `json:"warnings"`
		PerSeq   []struct {
			Seq        int  `json:"seq"`
			FLOPsMatch bool `json:"flops_match"`
			Rows       []struct {
				Key       string          `json:"key"`
				Seconds   float64         `json:"seconds"`
				TimeShare float64         `json:"time_share"`
				FLOPShare float64         `json:"flop_share"`
				Backward  json.RawMessage `json:"backward"`
			} `json:"rows"`
		} `json:"per_seq"`
	}
	if err := json.Unmarshal([]byte(out), &j); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if j.Model.DModel != 16 || j.Model.DFF != 64 || j.Model.MaxSeq != 8 || j.Model.Tie || j.Model.Share != "ffn" || !j.Train || j.Threads != 1 {
		t.Errorf("header: %+v train=%v threads=%d", j.Model, j.Train, j.Threads)
	}
	if len(j.Warnings) != 0 || len(j.PerSeq) != 2 || j.PerSeq[1].Seq != 8 {
		t.Fatalf("warnings %v, per_seq %+v", j.Warnings, j.PerSeq)
	}
	for _, s := range j.PerSeq {
		var ts, fs float64
		for _, r := range s.Rows {
			ts += r.TimeShare
			fs += r.FLOPShare
			if r.Backward == nil {
				t.Errorf("n=%d %s: no backward", s.Seq, r.Key)
			}
		}
		if !s.FLOPsMatch || ts < 0.999 || ts > 1.001 || fs < 0.999 || fs > 1.001 {
			t.Errorf("n=%d: flops_match %v, shares sum to %v and %v", s.Seq, s.FLOPsMatch, ts, fs)
		}
	}
	if !strings.Contains(stderr, "profile: [2/2] n=8 batch 2") || !strings.Contains(stderr, "profile: done") {
		t.Errorf("no progress on stderr:\n%s", stderr)
	}
}

func TestProfileFormats(t *testing.T) {
	out, _, err := runProfile(t, profileSmall...)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"tformer profile: model d=16 layers=2 heads=2 d_ff=64 vocab=13 context=8",
		"forward + backward", "n = 4, batch 2: step", "attention core (fused)", "attn_out (+residual)",
		"time/FLOP", "GFLOP/s", "time % / FLOP %", "fused loop"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}

	out, _, err = runProfile(t, append(profileSmall, "--format", "csv", "--forward-only")...)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(recs) < 3 || recs[0][0] != "seq" || recs[0][2] != "component" {
		t.Fatalf("csv: %v\n%s", err, out)
	}
	for _, r := range recs[1:] {
		if r[7] != "" { // bwd_seconds
			t.Errorf("forward-only csv has backward time: %v", r)
		}
		if r[2] == "attention_core" && r[3] != "scores+softmax+av" {
			t.Errorf("attention core parts %q", r[3])
		}
	}

	out, _, err = runProfile(t, append(profileSmall, "--format", "md", "--forward-only")...)
	if err != nil || !strings.Contains(out, "| attention core (fused) |") || !strings.Contains(out, "forward only") || strings.Contains(out, "bwd ms") {
		t.Errorf("md: %v\n%s", err, out)
	}
}

func TestProfilePlotAndPreset(t *testing.T) {
	dir := t.TempDir()
	plot := filepath.Join(dir, "p.svg")
	if _, _, err := runProfile(t, append(profileSmall, "--plot", plot)...); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(plot); err != nil || !bytes.Contains(b, []byte("<svg")) {
		t.Errorf("plot: %v", err)
	}
	// A preset with its fields overridden down to a tiny model.
	out, _, err := runProfile(t, "--preset", "gpt2", "--d-model", "16", "--heads", "2", "--layers", "1", "--vocab", "17",
		"--seq", "4", "--reps", "1", "--warmup-reps", "0", "--forward-only", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var j struct {
		Model struct {
			Vocab, Layers int
			MaxSeq        int `json:"max_seq"`
		} `json:"model"`
	}
	if err := json.Unmarshal([]byte(out), &j); err != nil || j.Model.Vocab != 17 || j.Model.Layers != 1 || j.Model.MaxSeq != 1024 {
		t.Errorf("preset override: %v %+v", err, j.Model)
	}
}

// TestProfileBadInput checks that each mistake gives one clear line on
// stderr and a non-zero exit.
func TestProfileBadInput(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--seq", "0"}, `--seq: "0" is not a positive integer`},
		{[]string{"--seq", "a,b"}, `--seq: "a" is not a positive integer`},
		{[]string{"--batch", "0"}, "--batch must be positive"},
		{[]string{"--reps", "0"}, "--reps must be positive"},
		{[]string{"--warmup-reps", "-1"}, "--warmup-reps must be >= 0"},
		{[]string{"--format", "xml"}, `--format: unknown format "xml"`},
		{[]string{"--plot", filepath.Join(dir, "p.gif")}, "must end in .svg or .png"},
		{[]string{"--heads", "3"}, "heads (3) must divide d-model (256)"},
		{[]string{"--share", "most"}, `unknown sharing mode "most"`},
		{[]string{"--arch", "mlp"}, "unknown architecture"},
		{[]string{"--preset", "nope"}, `unknown preset "nope"`},
		{[]string{"--preset", "gpt2", "--config", "x.json"}, "give --preset or --config, not both"},
		{[]string{"--max-mem", "lots"}, `--max-mem: "lots" is not a positive size`},
		{[]string{"--seq", "4096", "--batch", "8", "--max-mem", "1GiB"}, "n=4096 at batch 8 needs about"},
		{[]string{"--threads", "-1"}, "--threads must be >= 0"},
		{[]string{"extra"}, `unknown command "extra"`},
	} {
		stdout, stderr, code := run(t, append([]string{"profile"}, c.args...)...)
		lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
		if code == 0 || len(lines) != 1 || !strings.HasPrefix(lines[0], "tformer: ") || !strings.Contains(stderr, c.want) || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want one line with %q", c.args, code, stdout, stderr, c.want)
		}
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"8GiB": 8 << 30, "512M": 512 << 20, "1.5g": 3 << 29, "1000": 1000, "2KB": 2048, " 1 TiB ": 1 << 40} {
		if got, err := parseBytes(in); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "GiB", "-1G", "0", "x", "1e30G"} {
		if _, err := parseBytes(in); err == nil {
			t.Errorf("parseBytes(%q): no error", in)
		}
	}
}

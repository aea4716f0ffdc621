package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tformer/tformer/safetensors"
)

var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tformer-cli")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "tformer")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		panic("build tformer: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// run executes the binary and returns stdout, stderr and the exit code.
func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var so, se strings.Builder
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return so.String(), se.String(), code
}

var small = []string{"--d-model", "16", "--layers", "2", "--heads", "2", "--max-seq", "16", "--seq", "16", "--batch", "2", "--eval-windows", "4"}

func writeText(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "text.txt")
	if err := os.WriteFile(p, []byte(strings.Repeat("the quick brown fox jumps over the lazy dog. ", 40)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTrainEvalGenerate(t *testing.T) {
	dir := t.TempDir()
	data := writeText(t, dir)
	ck := filepath.Join(dir, "m.safetensors")
	args := append([]string{"train", "--data", data, "--steps", "6", "--out", ck, "--sample", "20", "--share", "all"}, small...)
	out, errOut, code := run(t, args...)
	if code != 0 {
		t.Fatalf("train exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "unique (stored)") || !strings.Contains(errOut, "applied (per forward pass)") {
		t.Errorf("train did not report unique and applied parameters:\n%s", errOut)
	}
	if !strings.Contains(out, "trained 6 steps") || !strings.Contains(out, "sample") {
		t.Errorf("train output:\n%s", out)
	}
	// resume to a longer run
	_, errOut, code = run(t, "train", "--data", data, "--resume", ck, "--steps", "8", "--out", ck, "--sample", "0")
	if code != 0 || !strings.Contains(errOut, "resuming") {
		t.Fatalf("resume exit %d: %s", code, errOut)
	}
	out, errOut, code = run(t, "eval", "--model", ck, "--data", data, "--json")
	if code != 0 {
		t.Fatalf("eval exit %d: %s", code, errOut)
	}
	var r struct {
		Loss, Perplexity float64
		Tokens           int
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Tokens != (1800-1)/16*16 || r.Loss <= 0 {
		t.Fatalf("eval --json: %q (%v)", out, err)
	}
	out, errOut, code = run(t, "generate", "--model", ck, "--prompt", "the ", "--tokens", "30", "--seed", "3")
	if code != 0 || !strings.HasPrefix(out, "the ") || len(out) != 4+30+1 {
		t.Fatalf("generate exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	out2, _, _ := run(t, "generate", "--model", ck, "--prompt", "the ", "--tokens", "30", "--seed", "3")
	if out2 != out {
		t.Errorf("same seed, different samples: %q vs %q", out, out2)
	}
}

// TestBadInput: each bad input gives one line on stderr and a non-zero exit.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	data := writeText(t, dir)
	empty := filepath.Join(dir, "empty.txt")
	os.WriteFile(empty, nil, 0o644)
	short := filepath.Join(dir, "short.txt")
	os.WriteFile(short, []byte("too short"), 0o644)
	ck := filepath.Join(dir, "m.safetensors")
	if _, e, code := run(t, append([]string{"train", "--data", data, "--steps", "1", "--out", ck, "--sample", "0"}, small...)...); code != 0 {
		t.Fatal(e)
	}
	raw, _ := os.ReadFile(ck)
	trunc := filepath.Join(dir, "trunc.safetensors")
	os.WriteFile(trunc, raw[:len(raw)/2], 0o644)
	garbage := filepath.Join(dir, "garbage.safetensors")
	os.WriteFile(garbage, []byte("this is not a checkpoint at all"), 0o644)
	// a checkpoint whose tensor shapes disagree with its config
	f, err := safetensors.Read(ck)
	if err != nil {
		t.Fatal(err)
	}
	f.Metadata["config"] = strings.Replace(f.Metadata["config"], `"d_ff":64`, `"d_ff":60`, 1)
	mismatch := filepath.Join(dir, "mismatch.safetensors")
	if err := safetensors.WriteFile(mismatch, f); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"train", "--data", filepath.Join(dir, "missing.txt")}, "no such file"},
		{[]string{"train", "--data", empty}, "is empty"},
		{append([]string{"train", "--data", short}, small...), "too short"},
		{[]string{"train", "--heads", "3"}, "heads (3) must divide d-model (128)"},
		{[]string{"train", "--d-model", "0"}, "d-model must be positive"},
		{[]string{"train", "--layers", "-2"}, "layers must be positive"},
		{[]string{"train", "--steps", "0"}, "--steps must be positive"},
		{[]string{"train", "--share", "all", "--layers", "4", "--groups", "3"}, "groups (3) must divide layers (4)"},
		{[]string{"train", "--share", "most"}, "unknown sharing mode"},
		{[]string{"train", "--seq", "256"}, "exceeds the model's context"},
		{[]string{"eval", "--model", trunc, "--data", data}, "out of range"},
		{[]string{"eval", "--model", garbage, "--data", data}, "is not a model file"},
		{[]string{"generate", "--model", mismatch, "--prompt", "x"}, "shape"},
		{[]string{"generate", "--model", ck, "--prompt", "x", "--top-p", "2"}, "--top-p"},
		{[]string{"eval", "--data", data}, "required flag"},
		{[]string{"train", "--resume", ck, "--data", short}, "too short"},
	}
	for _, c := range cases {
		out, errOut, code := run(t, c.args...)
		lines := strings.Split(strings.TrimRight(errOut, "\n"), "\n")
		if code == 0 || !strings.Contains(errOut, c.want) || len(lines) != 1 || strings.Contains(errOut, "panic") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want one line containing %q", c.args, code, out, errOut, c.want)
		}
	}
}

// TestSIGTERMSavesCheckpoint: a terminated run saves a checkpoint it can
// resume from, and exits with status 130.
func TestSIGTERMSavesCheckpoint(t *testing.T) {
	dir := t.TempDir()
	data := writeText(t, dir)
	ck := filepath.Join(dir, "m.safetensors")
	cmd := exec.Command(bin, append([]string{"train", "--data", data, "--steps", "1000000", "--out", ck, "--sample", "0", "--eval-every", "0"}, small...)...)
	var se strings.Builder
	cmd.Stderr = &se
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// wait until training is under way
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(se.String(), "step ") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 130 {
		t.Fatalf("exit: %v, stderr:\n%s", err, se.String())
	}
	if !strings.Contains(se.String(), "interrupted at step") {
		t.Fatalf("stderr:\n%s", se.String())
	}
	_, errOut, code := run(t, "train", "--data", data, "--resume", ck, "--steps", "1", "--sample", "0", "--out", filepath.Join(dir, "x.safetensors"))
	if code == 0 || !strings.Contains(errOut, "beyond --steps 1") {
		t.Fatalf("resume with fewer steps: exit %d, %s", code, errOut)
	}
}

// TestGenerateFromOtherFormats: generate and eval read llm.c and Hugging Face files
// directly and gives the same text as from the tformer checkpoint.
func TestGenerateFromOtherFormats(t *testing.T) {
	dir := t.TempDir()
	data := writeText(t, dir)
	ck := filepath.Join(dir, "m.safetensors")
	if _, e, code := run(t, append([]string{"train", "--data", data, "--steps", "3", "--out", ck, "--sample", "0"}, small...)...); code != 0 {
		t.Fatal(e)
	}
	want, e, code := run(t, "generate", "--model", ck, "--prompt", "the ", "--tokens", "20")
	if code != 0 {
		t.Fatal(e)
	}
	wantEval, e, code := run(t, "eval", "--model", ck, "--data", data, "--json")
	if code != 0 {
		t.Fatal(e)
	}
	for _, out := range []string{filepath.Join(dir, "m.bin"), filepath.Join(dir, "hf")} {
		if _, e, code := run(t, "convert", ck, out); code != 0 {
			t.Fatalf("convert %s: %s", out, e)
		}
		got, e, code := run(t, "generate", "--model", out, "--prompt", "the ", "--tokens", "20")
		if code != 0 || got != want {
			t.Errorf("generate from %s: exit %d, %q (stderr %s), want %q", out, code, got, e, want)
		}
		ev, e, code := run(t, "eval", "--model", out, "--data", data, "--json")
		if code != 0 || ev != wantEval {
			t.Errorf("eval from %s: exit %d, %q (stderr %s), want %q", out, code, ev, e, wantEval)
		}
	}
}

// TestFineTuneFromOtherFormat: --init starts from converted weights; the
// first validation loss equals the source model's last one.
func TestFineTuneFromOtherFormat(t *testing.T) {
	dir := t.TempDir()
	data := writeText(t, dir)
	ck := filepath.Join(dir, "m.safetensors")
	_, e1, code := run(t, append([]string{"train", "--data", data, "--steps", "4", "--out", ck, "--sample", "0"}, small...)...)
	if code != 0 {
		t.Fatal(e1)
	}
	bin := filepath.Join(dir, "m.bin")
	if _, e, code := run(t, "convert", ck, bin); code != 0 {
		t.Fatal(e)
	}
	_, e2, code := run(t, "train", "--init", bin, "--data", data, "--steps", "2", "--batch", "2", "--eval-windows", "4", "--out", filepath.Join(dir, "ft.safetensors"), "--sample", "0")
	if code != 0 || !strings.Contains(e2, "fine-tuning") {
		t.Fatalf("fine-tune exit %d: %s", code, e2)
	}
	last := func(s, marker string) string {
		lines := strings.Split(s, "\n")
		var hit []string
		for _, l := range lines {
			if strings.Contains(l, marker) {
				hit = append(hit, l[strings.Index(l, marker):])
			}
		}
		if len(hit) == 0 {
			t.Fatalf("no %q in %s", marker, s)
		}
		return hit[len(hit)-1]
	}
	first := func(s, marker string) string {
		i := strings.Index(s, marker)
		if i < 0 {
			t.Fatalf("no %q in %s", marker, s)
		}
		return strings.SplitN(s[i:], "\n", 2)[0]
	}
	if a, b := last(e1, "validation loss"), first(e2, "validation loss"); a != b {
		t.Errorf("source ended with %q, fine-tune started with %q", a, b)
	}
	if _, e, code := run(t, "train", "--init", bin, "--d-model", "32"); code == 0 || !strings.Contains(e, "cannot be set with --init") {
		t.Errorf("--init with a model flag: exit %d, %s", code, e)
	}
}

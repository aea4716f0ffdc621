package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tformer/tformer/checkpoint"
	"github.com/tformer/tformer/internal/atomicfile"
	"github.com/tformer/tformer/llmc"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/safetensors"
	"github.com/tformer/tformer/train"
)

// tinyRun is a two-step run of a tiny decoder on a small text in dir, with
// no flag marked as set.
func tinyRun(t *testing.T, dir string) *trainOptions {
	t.Helper()
	o := train.DefaultOptions()
	o.Steps, o.Batch, o.Seq, o.EvalWindows, o.EvalEvery = 2, 2, 16, 4, 0
	mf := &modelFlags{c: model.Config{DModel: 16, Layers: 2, Heads: 2, MaxSeq: 16, Tie: true, Groups: 1}, share: "none", arch: "decoder"}
	return &trainOptions{Train: o, Model: mf, Data: writeText(t, dir), Out: filepath.Join(dir, "m.safetensors"),
		Tokenizer: "byte", Prompt: "The ", Sample: 0}
}

// setFlags marks the named flags as given on the command line.
func setFlags(opts *trainOptions, flags ...string) {
	opts.Changed = func(f string) bool { return slices.Contains(flags, f) }
}

func runTrain(opts *trainOptions) (string, string, error) {
	var so, se bytes.Buffer
	err := trainRun(context.Background(), opts, &so, &se)
	return so.String(), se.String(), err
}

// TestTrainChecksOutFirst: issue 15 item 4 — an --out that cannot be
// written (empty, in a missing or read-only directory, a directory) is
// refused before the first step.
func TestTrainChecksOutFirst(t *testing.T) {
	dir := t.TempDir()
	ro := filepath.Join(dir, "ro")
	os.Mkdir(ro, 0o555)
	cases := map[string]string{
		"":                               "--out is empty",
		filepath.Join(dir, "no", "x.st"): "cannot be written",
		dir:                              "is a directory",
	}
	if os.Getuid() != 0 {
		cases[filepath.Join(ro, "x.st")] = "permission denied"
	}
	for out, want := range cases {
		opts := tinyRun(t, dir)
		opts.Out = out
		_, se, err := runTrain(opts)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("--out %q: %v, want %q", out, err, want)
		}
		if strings.Contains(se, "step ") {
			t.Errorf("--out %q: trained before refusing:\n%s", out, se)
		}
	}
}

// TestTrainRefusesOverwrite: issue 15 item 5 — a fresh run does not replace
// an existing model (nor the --init model) without --force, and says so.
func TestTrainRefusesOverwrite(t *testing.T) {
	dir := t.TempDir()
	opts := tinyRun(t, dir)
	if _, _, err := runTrain(opts); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(opts.Out)
	again := tinyRun(t, dir)
	again.Train.Seed = 9
	_, _, err := runTrain(again)
	if err == nil || !strings.Contains(err.Error(), "refusing to replace it (it was kept)") || !strings.Contains(err.Error(), "trained 2 steps") {
		t.Fatalf("second fresh run: %v", err)
	}
	if after, _ := os.ReadFile(opts.Out); !bytes.Equal(before, after) {
		t.Fatal("the refused run changed the model")
	}
	ft := tinyRun(t, dir)
	ft.Init = opts.Out
	_, _, err = runTrain(ft)
	if err == nil || !strings.Contains(err.Error(), "the --init model") {
		t.Fatalf("--init X --out X: %v", err)
	}
	again.Force = true
	if _, se, err := runTrain(again); err != nil || !strings.Contains(se, "--force") {
		t.Fatalf("--force: %v\n%s", err, se)
	}
	if after, _ := os.ReadFile(opts.Out); bytes.Equal(before, after) {
		t.Fatal("--force did not replace the model")
	}
}

// TestTrainDivergenceKeepsCheckpoint: issue 15 item 2 through the command —
// lr 1e30 stops with an error saying what was kept, and the previous
// checkpoint is byte-identical.
func TestTrainDivergenceKeepsCheckpoint(t *testing.T) {
	for _, every := range []int{0, 1} {
		dir := t.TempDir()
		opts := tinyRun(t, dir)
		if _, _, err := runTrain(opts); err != nil {
			t.Fatal(err)
		}
		before, _ := os.ReadFile(opts.Out)
		bad := tinyRun(t, dir)
		bad.Resume, bad.CkptEvery = opts.Out, every
		bad.Train.Steps, bad.Train.LR, bad.Train.Warmup = 4, 1e30, 0
		setFlags(bad, "steps", "lr", "warmup", "min-lr")
		bad.Train.MinLR = 0
		so, _, err := runTrain(bad)
		if err == nil || !strings.Contains(err.Error(), "diverged") || !strings.Contains(err.Error(), "unchanged") {
			t.Fatalf("ckpt-every %d: err %v, stdout %q", every, err, so)
		}
		if after, _ := os.ReadFile(opts.Out); !bytes.Equal(before, after) {
			t.Fatalf("ckpt-every %d: the checkpoint changed", every)
		}
	}
	// Through the binary: a non-zero exit and one line.
	dir := t.TempDir()
	_, se, code := run(t, append([]string{"train", "--data", writeText(t, dir), "--out", filepath.Join(dir, "m.st"), "--lr", "1e30", "--warmup", "0", "--steps", "1", "--sample", "0"}, small...)...)
	if code == 0 || !strings.Contains(se, "diverged") {
		t.Fatalf("exit %d: %s", code, se)
	}
	if _, err := os.Stat(filepath.Join(dir, "m.st")); err == nil {
		t.Fatal("a diverged run wrote a checkpoint")
	}
}

// TestTrainFlagsRefused: issue 15 items 3 and 8 — non-finite and negative
// values, a bad prompt and an impossible size are one clear line, before
// training.
func TestTrainFlagsRefused(t *testing.T) {
	dir := t.TempDir()
	data := writeText(t, dir)
	out := filepath.Join(dir, "never.st")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--grad-clip", "Inf"}, "--grad-clip must be a finite number"},
		{[]string{"--grad-clip", "NaN"}, "--grad-clip must be a finite number"},
		{[]string{"--min-lr", "NaN"}, "--min-lr must be a finite number"},
		{[]string{"--weight-decay", "NaN"}, "--weight-decay must be a finite number"},
		{[]string{"--lr", "-Inf"}, "--lr must be a finite number"},
		{[]string{"--eval-every", "-1"}, "--eval-every"},
		{[]string{"--eval-windows", "-1"}, "--eval-windows"},
		{[]string{"--ckpt-every", "-1"}, "--ckpt-every must be >= 0"},
		{[]string{"--prompt", ""}, "--prompt is empty"},
		{[]string{"--prompt", strings.Repeat("x", 17)}, "--prompt is 17 tokens"},
		{[]string{"--batch", "100000000000000000"}, "tokens per step"},
		{[]string{"--layers", "1000000000"}, "needs about"},
		{[]string{"--out", ""}, "--out is empty"},
	}
	for _, c := range cases {
		args := append(append([]string{"train", "--data", data, "--out", out}, small...), c.args...)
		_, se, code := run(t, args...)
		lines := strings.Split(strings.TrimRight(se, "\n"), "\n")
		if code == 0 || !strings.Contains(lines[len(lines)-1], c.want) || strings.Contains(se, "step 1") {
			t.Errorf("%v: exit %d, stderr %q; want a refusal with %q", c.args, code, se, c.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused run wrote a checkpoint")
	}
}

// TestTrainLockAndFiles: issue 15 item 7 — a second trainer on one --out is
// refused, a killed save's temp files are removed, a symlinked --out is
// followed and a checkpoint's mode is kept.
func TestTrainLockAndFiles(t *testing.T) {
	dir := t.TempDir()
	opts := tinyRun(t, dir)
	l, err := atomicfile.TryLock(opts.Out)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := runTrain(opts); err == nil || !strings.Contains(err.Error(), "another tformer run is writing it") {
		t.Fatalf("locked --out: %v", err)
	}
	l.Unlock()

	stale := filepath.Join(dir, ".m.safetensors.tmp-deadbeef")
	os.WriteFile(stale, []byte("partial"), 0o600)
	if _, se, err := runTrain(opts); err != nil || !strings.Contains(se, "removed 1 temporary file") {
		t.Fatalf("%v\n%s", err, se)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Fatal("the stale temporary file is still there")
	}
	if ents, _ := filepath.Glob(filepath.Join(dir, ".m.safetensors.*")); len(ents) != 0 {
		t.Fatalf("left behind: %v", ents)
	}

	os.Chmod(opts.Out, 0o600)
	link := filepath.Join(dir, "link.st")
	os.Symlink("m.safetensors", link)
	re := tinyRun(t, dir)
	re.Resume, re.Out, re.Train.Steps = link, link, 3
	setFlags(re, "steps")
	if _, _, err := runTrain(re); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Lstat(link); st.Mode()&os.ModeSymlink == 0 {
		t.Fatal("the symlinked --out became a regular file")
	}
	if st, _ := os.Stat(opts.Out); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v after a rewrite, want 0600 kept", st.Mode().Perm())
	}
	if ck, err := checkpoint.Load(opts.Out); err != nil || ck.Train.Step != 3 {
		t.Fatalf("the link's target: %v", err)
	}
}

// TestTrainResume: issue 10 item 3 — resume writes back to its file,
// reports the steps it ran and a measured start loss, applies and prints
// what may change, and refuses shape flags.
func TestTrainResume(t *testing.T) {
	dir := t.TempDir()
	opts := tinyRun(t, dir)
	opts.Out = filepath.Join(dir, "r.safetensors")
	if _, _, err := runTrain(opts); err != nil {
		t.Fatal(err)
	}
	re := tinyRun(t, dir)
	re.Resume, re.Train.Steps, re.Train.LR = opts.Out, 5, 1e-3
	setFlags(re, "steps", "lr")
	so, se, err := runTrain(re)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(so, "trained 3 steps (2 -> 5)") || !strings.Contains(so, "saved "+opts.Out) {
		t.Errorf("summary: %s", so)
	}
	if !strings.Contains(se, "step 2: validation loss") || !strings.Contains(se, "changed on resume: steps 2 -> 5, lr 0.003 -> 0.001, min-lr 0.0003 -> 0.0001") {
		t.Errorf("stderr:\n%s", se)
	}
	if _, err := os.Stat(filepath.Join(dir, "m.safetensors")); err == nil {
		t.Error("resume wrote to the default --out")
	}
	ck, err := checkpoint.Load(opts.Out)
	if err != nil || ck.Train.Step != 5 {
		t.Fatalf("resumed file: %v", err)
	}
	var o train.Options
	json.Unmarshal(ck.Train.Options, &o)
	if o.LR != 1e-3 || o.Steps != 5 {
		t.Errorf("saved options %+v", o)
	}
	for _, f := range []string{"d-model", "layers", "share", "tokenizer", "batch", "seed"} {
		bad := tinyRun(t, dir)
		bad.Resume = opts.Out
		setFlags(bad, f)
		if _, _, err := runTrain(bad); err == nil || !strings.Contains(err.Error(), "--"+f+" cannot change on --resume") {
			t.Errorf("--%s on resume: %v", f, err)
		}
	}
}

// TestTrainMetrics: --metrics writes one object per step with exactly the
// keys `tformer plot` reads, val_loss null except on evaluated steps.
func TestTrainMetrics(t *testing.T) {
	dir := t.TempDir()
	opts := tinyRun(t, dir)
	opts.Metrics = filepath.Join(dir, "m.jsonl")
	opts.Train.Steps, opts.Train.EvalEvery = 4, 2
	if _, _, err := runTrain(opts); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(opts.Metrics)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := []string{"gflops", "grad_norm", "loss", "lr", "mfu", "step", "tokens_per_s", "val_loss"}
	sc := bufio.NewScanner(f)
	step := 0
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !reflect.DeepEqual(keys, want) {
			t.Fatalf("keys %v, want %v", keys, want)
		}
		step++
		if int(m["step"].(float64)) != step {
			t.Fatalf("line %d is step %v", step, m["step"])
		}
		if evaluated := step%2 == 0; (m["val_loss"] != nil) != evaluated {
			t.Errorf("step %d: val_loss %v", step, m["val_loss"])
		}
		if g := m["gflops"].(float64); !(g > 0) {
			t.Errorf("step %d: gflops %v", step, g)
		}
		if mfu, ok := m["mfu"].(float64); m["mfu"] != nil && (!ok || !(mfu > 0)) {
			t.Errorf("step %d: mfu %v", step, m["mfu"])
		}
	}
	if step != 4 {
		t.Fatalf("%d lines, want 4", step)
	}
}

// TestFineTuneExampleDefaultMinLR: issue 10 item 1 — the --help fine-tune
// example (--lr 1e-4 with no --min-lr) runs: the default --min-lr is a
// fraction of --lr. An llm.c file stands in for gpt2_124M.bin (same
// tokenizer, tiny shape); --steps is cut to 2.
func TestFineTuneExampleDefaultMinLR(t *testing.T) {
	dir := t.TempDir()
	m, err := model.New(model.Config{Vocab: 50257, DModel: 8, Layers: 1, Heads: 1, DFF: 32, MaxSeq: 16, Tie: true, Share: model.ShareNone, Groups: 1})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	bin := filepath.Join(dir, "gpt2_124M.bin")
	if err := llmc.WriteCheckpoint(bin, m, llmc.Options{}); err != nil {
		t.Fatal(err)
	}
	opts := tinyRun(t, dir)
	opts.Init, opts.Train.LR = bin, 1e-4
	setFlags(opts, "init", "lr", "steps", "batch")
	_, se, err := runTrain(opts)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(se, "lr 0.0001 (warmup 30, cosine to 1e-05)") {
		t.Errorf("stderr:\n%s", se)
	}
}

// TestInputsNotOverwritten: issue 15 item 5 — tokenize and convert refuse
// to write over their input unless --force.
func TestInputsNotOverwritten(t *testing.T) {
	dir := t.TempDir()
	text := writeText(t, dir)
	before, _ := os.ReadFile(text)
	if _, se, code := run(t, "tokenize", text, text); code == 0 || !strings.Contains(se, "is the input text") {
		t.Fatalf("tokenize a a: exit %d %s", code, se)
	}
	if after, _ := os.ReadFile(text); !bytes.Equal(before, after) {
		t.Fatal("tokenize overwrote its input")
	}
	opts := tinyRun(t, dir)
	if _, _, err := runTrain(opts); err != nil {
		t.Fatal(err)
	}
	ck, _ := os.ReadFile(opts.Out)
	if _, se, code := run(t, "convert", opts.Out, opts.Out); code == 0 || !strings.Contains(se, "is the input") {
		t.Fatalf("convert c c: exit %d %s", code, se)
	}
	other := filepath.Join(dir, "other.safetensors")
	os.WriteFile(other, []byte("precious"), 0o644)
	if _, se, code := run(t, "convert", opts.Out, other); code == 0 || !strings.Contains(se, "already exists") {
		t.Fatalf("convert onto another file: exit %d %s", code, se)
	}
	if after, _ := os.ReadFile(opts.Out); !bytes.Equal(ck, after) {
		t.Fatal("convert changed its input")
	}
	if _, se, code := run(t, "convert", "--force", opts.Out, other); code != 0 {
		t.Fatalf("convert --force: %s", se)
	}
}

// TestModelFromPipeAndBoundedData: issue 15 item 7 — --model /dev/stdin
// reads a piped model (detection consumes nothing), and a device that never
// ends is refused at the data cap.
func TestModelFromPipeAndBoundedData(t *testing.T) {
	dir := t.TempDir()
	opts := tinyRun(t, dir)
	if _, _, err := runTrain(opts); err != nil {
		t.Fatal(err)
	}
	want, _, code := run(t, "eval", "--model", opts.Out, "--data", opts.Data)
	if code != 0 {
		t.Fatal(want)
	}
	for _, path := range []string{opts.Out, filepath.Join(dir, "m.bin")} {
		if strings.HasSuffix(path, ".bin") {
			if _, se, code := run(t, "convert", opts.Out, path); code != 0 {
				t.Fatal(se)
			}
		}
		b, _ := os.ReadFile(path)
		cmd := exec.Command(bin, "eval", "--model", "/dev/stdin", "--data", opts.Data)
		cmd.Stdin = bytes.NewReader(b) // a pipe, not a file
		var so, se strings.Builder
		cmd.Stdout, cmd.Stderr = &so, &se
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s through a pipe: %v %s", filepath.Base(path), err, se.String())
		}
		got := strings.Replace(so.String(), "/dev/stdin", opts.Out, 1)
		if !strings.Contains(got, strings.SplitN(want, ":", 2)[1]) {
			t.Errorf("through a pipe: %q, from the file: %q", so.String(), want)
		}
	}
	old := maxDataBytes
	maxDataBytes = 1 << 20
	defer func() { maxDataBytes = old }()
	if _, _, err := loadText("/dev/zero"); err == nil || !strings.Contains(err.Error(), "more than 1048576 bytes") {
		t.Fatalf("/dev/zero: %v", err)
	}
}

// TestEvalRefusesBrokenModels: issue 15 items 1 and 2 — the 240-byte
// checkpoint promising 1e9 layers is one line, and a model whose loss is
// not finite is an error, also with --json.
func TestEvalRefusesBrokenModels(t *testing.T) {
	dir := t.TempDir()
	data := writeText(t, dir)
	b, _ := safetensors.Encode(&safetensors.File{Metadata: map[string]string{"format": checkpoint.Format, "tokenizer": "byte",
		"config": `{"vocab":256,"d_model":32,"layers":1000000000,"heads":2,"d_ff":128,"max_seq":32,"tie":true,"share":"none","groups":1}`}})
	tiny := filepath.Join(dir, "tiny.safetensors")
	os.WriteFile(tiny, b, 0o644)
	if _, se, code := run(t, "eval", "--model", tiny, "--data", data); code != 1 || !strings.Contains(se, "1000000000 layers") || strings.Count(se, "\n") != 1 {
		t.Fatalf("240-byte checkpoint: exit %d %q", code, se)
	}
	m, _ := model.New(model.Config{Vocab: 256, DModel: 16, Layers: 1, Heads: 2, DFF: 32, MaxSeq: 16, Tie: true, Share: model.ShareNone, Groups: 1})
	for i := range m.Params {
		m.Params[i] = 3e38 // finite, but every product overflows
	}
	huge := filepath.Join(dir, "huge.safetensors")
	if err := checkpoint.Save(huge, &checkpoint.Checkpoint{Model: m, Tokenizer: "byte"}); err != nil {
		t.Fatal(err)
	}
	if _, se, code := run(t, "eval", "--model", huge, "--data", data, "--batch", "100000000000000000"); code != 1 || !strings.Contains(se, "tokens per forward pass") {
		t.Errorf("eval --batch 1e17: exit %d %q", code, se)
	}
	for _, extra := range [][]string{nil, {"--json"}} {
		so, se, code := run(t, append([]string{"eval", "--model", huge, "--data", data}, extra...)...)
		if code == 0 || !strings.Contains(se, "weights are broken") || so != "" {
			t.Errorf("eval %v of an overflowing model: exit %d, stdout %q, stderr %q", extra, code, so, se)
		}
	}
}

// TestSIGHUPSavesCheckpoint: a hang-up (closed terminal) saves and exits
// like Ctrl-C; while the run holds its --out, a second trainer there is
// refused.
func TestSIGHUPSavesCheckpoint(t *testing.T) {
	dir := t.TempDir()
	ck := filepath.Join(dir, "m.safetensors")
	cmd := exec.Command(bin, append([]string{"train", "--data", writeText(t, dir), "--steps", "1000000", "--out", ck, "--sample", "0", "--eval-every", "0"}, small...)...)
	var se lockedBuffer
	cmd.Stderr = &se
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	se.waitFor(t, "step 1/")
	// A second trainer on the same --out, in another process, is refused.
	if _, e2, code := run(t, "train", "--out", ck, "--force", "--steps", "1"); code != 1 || !strings.Contains(e2, "another tformer run is writing it") {
		t.Errorf("second trainer: exit %d, %s", code, e2)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 || !strings.Contains(se.String(), "checkpoint saved") {
		t.Fatalf("exit %v, stderr:\n%s", err, se.String())
	}
	if _, err := checkpoint.Load(ck); err != nil {
		t.Fatal(err)
	}
}

// TestKill9WhileCheckpointing: fault injection — a run checkpointing every
// step is killed with SIGKILL at random moments (5 times, about 2 s in
// all); every time the checkpoint on disk loads, and the next run removes
// the temporary files the killed saves left and ends with none.
func TestKill9WhileCheckpointing(t *testing.T) {
	if testing.Short() {
		t.Skip("kills subprocesses for a few seconds")
	}
	dir := t.TempDir()
	data := writeText(t, dir)
	ck := filepath.Join(dir, "m.safetensors")
	args := append([]string{"train", "--data", data, "--steps", "1000000", "--out", ck, "--sample", "0", "--eval-every", "0", "--ckpt-every", "1"}, small...)
	rng := rand.New(rand.NewPCG(15, 7))
	lastStep, stale := -1, 0
	for i := 0; i < 5; i++ {
		a := args
		if i > 0 {
			a = []string{"train", "--resume", ck, "--data", data, "--sample", "0", "--ckpt-every", "1"}
		}
		cmd := exec.Command(bin, a...)
		var se lockedBuffer
		cmd.Stderr = &se
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		se.waitFor(t, "checkpoint saved")
		time.Sleep(time.Duration(rng.IntN(200)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		c, err := checkpoint.Load(ck)
		if err != nil {
			t.Fatalf("kill %d: the checkpoint does not load: %v\n%s", i, err, se.String())
		}
		if c.Train.Step <= lastStep {
			t.Fatalf("kill %d: step %d, not past %d", i, c.Train.Step, lastStep)
		}
		lastStep = c.Train.Step
		tmps, _ := filepath.Glob(filepath.Join(dir, ".m.safetensors.tmp-*"))
		stale += len(tmps)
	}
	t.Logf("%d kills left %d temporary files; last checkpoint at step %d", 5, stale, lastStep)
	// The next run, to its end: no temporary or lock file remains.
	_, se, code := run(t, "train", "--resume", ck, "--data", data, "--sample", "0", "--steps", strconv.Itoa(lastStep+3))
	if code != 0 {
		t.Fatal(se)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".m.safetensors.*"))
	if len(left) != 0 {
		t.Fatalf("left behind after the next run: %v", left)
	}
}

// lockedBuffer collects a subprocess's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor waits (up to 20 s) until the output contains s.
func (l *lockedBuffer) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(l.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in:\n%s", s, l.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSizesBounded: issue 15 item 6 — counts that overflow 64 bits and
// sizes the machine cannot hold are refused with one line (with the
// memory estimate where there is one), never a panic, a wrong number or an
// out-of-memory death.
func TestSizesBounded(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.json")
	os.WriteFile(cfg, []byte(`{"model_type":"gpt2","vocab_size":50257,"n_embd":768,"n_layer":1000000000000000000,"n_head":12,"n_positions":1024}`), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"profile", "--batch", "4611686018427387904", "--seq", "128"}, "too large"},
		{[]string{"cost", "--batch", "4611686018427387904", "--train"}, "overflow 64-bit integers"},
		{[]string{"cost", "--layers", "1000000000000"}, "overflow 64-bit integers"},
		{[]string{"cost", "--config", cfg}, "overflow 64-bit integers"},
		{[]string{"profile", "--reps", "1000000000"}, "at most 10000"},
		{[]string{"bench", "--only", "generate", "--gen-tokens", "1000000000"}, "needs about"},
		{[]string{"bench", "--only", "gemm", "--sizes", "100000"}, "needs about"},
		{[]string{"bench", "--only", "train", "--batch", "100000000"}, "too large to train"},
		{[]string{"bench", "--only", "train", "--batch", "100000"}, "needs about"},
		{[]string{"bench", "--threads", "100000"}, "--threads must be at most 1024"},
		{[]string{"train", "--batch", "100000000000000000"}, "tokens per step"},
		{[]string{"train", "--layers", "1000000000", "--out", filepath.Join(dir, "x.st")}, "needs about"},
		{[]string{"train", "--d-ff", "2000000000", "--out", filepath.Join(dir, "x.st")}, "needs about"},
	}
	for _, c := range cases {
		so, se, code := run(t, c.args...)
		lines := strings.Split(strings.TrimRight(se, "\n"), "\n")
		if code != 1 || !strings.Contains(lines[len(lines)-1], c.want) || strings.Contains(se, "panic") || strings.Contains(so, "NaN") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want a refusal with %q", c.args, code, so, se, c.want)
		}
	}
}

// TestTrainCmdParsesIntoOptions: the command only parses flags into
// trainOptions (cli/cli's runF pattern), so flag handling is testable
// without running anything.
func TestTrainCmdParsesIntoOptions(t *testing.T) {
	var got *trainOptions
	cmd := newTrainCmd(func(o *trainOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--resume", "r.st", "--lr", "1e-3", "--steps", "50", "--metrics", "m.jsonl", "--force"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Resume != "r.st" || got.Train.LR != 1e-3 || got.Train.Steps != 50 || got.Metrics != "m.jsonl" || !got.Force {
		t.Fatalf("options %+v", got)
	}
	if !got.changed("lr") || got.changed("batch") || got.outPath() != "r.st" {
		t.Fatalf("changed lr %v batch %v, out %q", got.changed("lr"), got.changed("batch"), got.outPath())
	}
}

// TestPlateauWarning: issue 10 item 5 — a run that ends no better than the
// unigram entropy (here: lr 1e-7, nothing learned) is warned about; one that
// learned the text is not.
func TestPlateauWarning(t *testing.T) {
	if h, top := unigram([]int32{1, 1, 2, 3}, 4); h < 1.03 || h > 1.04 || top != 0.5 {
		t.Fatalf("unigram = %v, %v; want 1.0397, 0.5", h, top)
	}
	for _, c := range []struct {
		lr   float32
		warn bool
	}{{1e-7, true}, {3e-3, false}} {
		dir := t.TempDir()
		opts := tinyRun(t, dir)
		opts.Train.Steps, opts.Train.LR = plateauSteps, c.lr
		setFlags(opts, "lr")
		_, se, err := runTrain(opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(se, "unigram entropy"); got != c.warn {
			t.Errorf("lr %g: warning %v, want %v:\n%s", c.lr, got, c.warn, se)
		}
	}
}

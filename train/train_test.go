package train

import (
	"context"
	"math"

	"path/filepath"
	"strings"
	"testing"

	"github.com/tformer/tformer/checkpoint"
	"github.com/tformer/tformer/model"
)

func testData(n int) []int32 {
	out := make([]int32, n)
	for i := range out {
		// a learnable pattern: a repeating phrase with a counter
		out[i] = int32("the cat sat on the mat. "[i%24])
	}
	return out
}

// testTrainer starts a fresh run for a test: a model of config c initialised
// with seed, trained with options o on testData(n) cut in windows of o.Seq.
func testTrainer(t *testing.T, c model.Config, seed uint64, n int, o Options) *Trainer {
	t.Helper()
	m, err := model.New(c)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(seed)
	ds, err := Split(testData(n), o.Seq)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := New(m, ds, o)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// tinyOptions are the options of the tiny trainers: steps steps of batch
// windows of 16 tokens, no periodic evaluation.
func tinyOptions(steps, batch int) Options {
	o := DefaultOptions()
	o.Steps, o.Batch, o.Seq, o.Warmup, o.EvalEvery, o.EvalWindows = steps, batch, 16, 2, 0, 8
	return o
}

// tinyTrainer is a small decoder's run of steps steps.
func tinyTrainer(t *testing.T, steps int) *Trainer {
	t.Helper()
	c := model.Config{Vocab: 256, DModel: 16, Layers: 2, Heads: 2, DFF: 32, MaxSeq: 16, Tie: true, Share: model.ShareAll, Groups: 1}
	return testTrainer(t, c, 3, 2000, tinyOptions(steps, 4))
}

func losses(t *testing.T, tr *Trainer, n int) []float32 {
	t.Helper()
	var out []float32
	for i := 0; i < n; i++ {
		s, err := tr.TrainStep()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s.Loss)
	}
	return out
}

func TestReproducibleAndLearns(t *testing.T) {
	a := losses(t, tinyTrainer(t, 40), 40)
	b := losses(t, tinyTrainer(t, 40), 40)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("step %d: loss %v vs %v with the same seed", i+1, a[i], b[i])
		}
	}
	if !(a[39] < a[0]-1) {
		t.Fatalf("loss did not fall: %v -> %v", a[0], a[39])
	}
}

// TestResumeExact: a run checkpointed at step 5 and resumed gives, bit for
// bit, the losses of an uninterrupted run.
func TestResumeExact(t *testing.T) {
	full := losses(t, tinyTrainer(t, 10), 10)
	tr := tinyTrainer(t, 10)
	first := losses(t, tr, 5)
	path := filepath.Join(t.TempDir(), "ck.safetensors")
	if err := tr.Save(path); err != nil {
		t.Fatal(err)
	}
	rt, err := Resume(path, testData(2000), 0)
	if err != nil {
		t.Fatal(err)
	}
	if rt.Step != 5 || rt.Opts != tr.Opts {
		t.Fatalf("resumed at step %d with options %+v", rt.Step, rt.Opts)
	}
	rest := losses(t, rt, 5)
	got := append(first, rest...)
	for i := range full {
		if got[i] != full[i] {
			t.Fatalf("step %d: resumed loss %v, uninterrupted %v", i+1, got[i], full[i])
		}
	}
	// different data is refused
	if _, err := Resume(path, testData(3000), 0); err == nil || !strings.Contains(err.Error(), "data differs") {
		t.Fatalf("resume on other data: %v", err)
	}
}

// TestRunInterruptSaves: cancelling Run writes a checkpoint at the step reached.
func TestRunInterruptSaves(t *testing.T) {
	tr := tinyTrainer(t, 50)
	path := filepath.Join(t.TempDir(), "ck.safetensors")
	ctx, cancel := context.WithCancel(context.Background())
	err := tr.Run(ctx, path, 0, Hooks{OnStep: func(s StepInfo) {
		if s.Step == 3 {
			cancel()
		}
	}})
	if err != context.Canceled {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
	ck, err := checkpoint.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Train == nil || ck.Train.Step != 3 {
		t.Fatalf("checkpoint train state %+v, want step 3", ck.Train)
	}
}

func TestSplitErrors(t *testing.T) {
	if _, err := Split(nil, 8); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty data: %v", err)
	}
	if _, err := Split(testData(50), 8); err == nil || !strings.Contains(err.Error(), "too short") {
		t.Errorf("short data: %v", err)
	}
	ds, err := Split(testData(1000), 8)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Val) != 100 || len(ds.Train) != 900 {
		t.Errorf("split %d/%d, want 900/100", len(ds.Train), len(ds.Val))
	}
}

func TestLRSchedule(t *testing.T) {
	if got := LR(0, 100, 10, 1, 0.1); math.Abs(float64(got-0.1)) > 1e-7 {
		t.Errorf("first warmup step lr %v, want 0.1", got)
	}
	if got := LR(9, 100, 10, 1, 0.1); got != 1 {
		t.Errorf("end of warmup lr %v, want 1", got)
	}
	if got := LR(99, 100, 10, 1, 0.1); math.Abs(float64(got-0.1)) > 1e-6 {
		t.Errorf("last step lr %v, want 0.1", got)
	}
	if got := LR(10, 100, 10, 1, 0.1); got != 1 {
		t.Errorf("first decay step lr %v, want 1", got)
	}
}

func TestAdamWDecay(t *testing.T) {
	// With zero gradients only decay acts: matrices shrink by lr·wd, biases stay.
	c := model.Config{Vocab: 5, DModel: 4, Layers: 1, Heads: 1, DFF: 4, MaxSeq: 2, Tie: true, Share: model.ShareNone, Groups: 1}
	m, _ := model.New(c)
	for i := range m.Params {
		m.Params[i] = 1
	}
	o := NewAdamW(m, 0.9, 0.95, 1e-8, 0.5)
	o.Step(m.Params, m.Grads, 0.1, 1)
	if got := m.Param("wte")[0]; math.Abs(float64(got-0.95)) > 1e-6 {
		t.Errorf("tied embedding after decay: %v, want 0.95 (decayed once)", got)
	}
	if got := m.Param("attn.0.qkv.b")[0]; got != 1 {
		t.Errorf("bias after decay: %v, want 1 (no decay)", got)
	}
	if got := m.Param("lnf.w")[0]; got != 1 {
		t.Errorf("layernorm gain after decay: %v, want 1", got)
	}
}

func TestEvaluateWindows(t *testing.T) {
	tr := tinyTrainer(t, 1)
	r, err := Evaluate(tr.Model, testData(100), 16, 4, 0)
	if err != nil {
		t.Fatal(err)
	}
	if r.Tokens != 6*16 { // (100-1)/16 = 6 whole windows
		t.Errorf("scored %d tokens, want 96", r.Tokens)
	}
	if math.Abs(r.Perplexity-math.Exp(r.Loss)) > 1e-9 {
		t.Errorf("perplexity %v != exp(loss %v)", r.Perplexity, r.Loss)
	}
	if _, err := Evaluate(tr.Model, testData(10), 16, 4, 0); err == nil {
		t.Error("too-short data: want error")
	}
	if _, err := Evaluate(tr.Model, testData(100), 17, 4, 0); err == nil {
		t.Error("seq beyond context: want error")
	}
}

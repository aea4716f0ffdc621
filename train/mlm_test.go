package train

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tformer/tformer/model"
)

func encoderConfig() model.Config {
	return model.Config{Vocab: 257, DModel: 16, Layers: 2, Heads: 2, DFF: 32, MaxSeq: 16, Tie: true,
		Share: model.ShareAll, Groups: 1, Arch: model.ArchEncoder, EmbedDim: 8}
}

// tinyEncoderTrainer is a small encoder's masked-LM run of steps steps.
func tinyEncoderTrainer(t *testing.T, steps int) *Trainer {
	t.Helper()
	return testTrainer(t, encoderConfig(), 3, 2000, tinyOptions(steps, 8))
}

func TestEncoderReproducibleAndLearns(t *testing.T) {
	run := func() ([]float32, StepInfo) {
		tr := tinyEncoderTrainer(t, 60)
		var out []float32
		var last StepInfo
		for i := 0; i < 60; i++ {
			s, err := tr.TrainStep()
			if err != nil {
				t.Fatal(err)
			}
			if s.Masked != 8*model.MaskedPerSeq(16) {
				t.Fatalf("step %d masked %d positions, want %d", s.Step, s.Masked, 8*model.MaskedPerSeq(16))
			}
			out = append(out, s.Loss)
			last = s
		}
		return out, last
	}
	a, last := run()
	b, _ := run()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("step %d: loss %v vs %v with the same seed", i+1, a[i], b[i])
		}
	}
	if !(a[59] < a[0]-1) || last.Accuracy <= 0 {
		t.Fatalf("masked-LM loss did not fall: %v -> %v (accuracy %v)", a[0], a[59], last.Accuracy)
	}
}

// An encoder run checkpointed at step 4 and resumed masks and trains
// exactly as an uninterrupted one.
func TestEncoderResumeExact(t *testing.T) {
	full := losses(t, tinyEncoderTrainer(t, 8), 8)
	tr := tinyEncoderTrainer(t, 8)
	first := losses(t, tr, 4)
	path := filepath.Join(t.TempDir(), "enc.safetensors")
	if err := tr.Save(path); err != nil {
		t.Fatal(err)
	}
	rt, err := Resume(path, testData(2000), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !rt.Model.Config.IsEncoder() || rt.Model.Config != tr.Model.Config {
		t.Fatalf("resumed config %+v", rt.Model.Config)
	}
	got := append(first, losses(t, rt, 4)...)
	for i := range full {
		if got[i] != full[i] {
			t.Fatalf("step %d: resumed loss %v, uninterrupted %v", i+1, got[i], full[i])
		}
	}
}

func TestEvaluateMLM(t *testing.T) {
	tr := tinyEncoderTrainer(t, 1)
	data := testData(500)
	a, err := EvaluateMLM(tr.Model, data, 16, 3, 0, 7)
	if err != nil {
		t.Fatal(err)
	}
	b, err := EvaluateMLM(tr.Model, data, 16, 8, 0, 7) // other batch size: same windows, same masks
	if err != nil {
		t.Fatal(err)
	}
	if a.Masked != 31*model.MaskedPerSeq(16) || a.Tokens != 31*16 {
		t.Errorf("scored %d masked of %d tokens, want %d of %d", a.Masked, a.Tokens, 31*model.MaskedPerSeq(16), 31*16)
	}
	if d := a.Loss - b.Loss; d > 1e-6 || d < -1e-6 || a.Accuracy != b.Accuracy {
		t.Errorf("batch 3: %+v, batch 8: %+v", a, b)
	}
	c, _ := EvaluateMLM(tr.Model, data, 16, 3, 0, 8)
	if c.Loss == a.Loss {
		t.Error("another mask seed gave the same loss")
	}
	r, err := tr.ValidateMLM()
	if err != nil || r.Masked == 0 {
		t.Errorf("ValidateMLM: %+v %v", r, err)
	}
	if _, err := EvaluateMLM(tr.Model, data[:10], 16, 3, 0, 7); err == nil || !strings.Contains(err.Error(), "too short") {
		t.Errorf("short data: %v", err)
	}
	if _, err := Evaluate(tr.Model, data, 16, 3, 0); err == nil || !strings.Contains(err.Error(), "encoder") {
		t.Errorf("next-token Evaluate on an encoder: %v", err)
	}
	dec := tinyTrainer(t, 1)
	if _, err := EvaluateMLM(dec.Model, data, 16, 3, 0, 7); err == nil || !strings.Contains(err.Error(), "decoder") {
		t.Errorf("EvaluateMLM on a decoder: %v", err)
	}
}

func TestEncoderTrainerErrors(t *testing.T) {
	m, _ := model.New(encoderConfig())
	ds, _ := Split(testData(2000), 16)
	o := DefaultOptions()
	o.Seq = 1
	if _, err := New(m, ds, o); err == nil || !strings.Contains(err.Error(), "too short for masked-LM") {
		t.Errorf("--seq 1: %v", err)
	}
	// data using the [MASK] id: the vocab is not the tokenizer's + 1
	c := encoderConfig()
	c.Vocab = 100
	m, _ = model.New(c)
	o.Seq = 16
	if _, err := New(m, ds, o); err == nil || !strings.Contains(err.Error(), "reserved for [MASK]") {
		t.Errorf("data with the [MASK] id: %v", err)
	}
}

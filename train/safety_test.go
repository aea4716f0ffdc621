package train

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tformer/tformer/checkpoint"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/safetensors"
)

// TestValidateRejectsNonFinite: issue 15 item 3 and 8 — NaN and Inf
// options, and negative evaluation and window counts, are refused with the
// flag's name.
func TestValidateRejectsNonFinite(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	cases := map[string]func(o *Options){
		"--grad-clip":    func(o *Options) { o.GradClip = inf },
		"--grad-clip ":   func(o *Options) { o.GradClip = nan },
		"--min-lr":       func(o *Options) { o.MinLR = nan },
		"--weight-decay": func(o *Options) { o.WeightDecay = nan },
		"--lr":           func(o *Options) { o.LR = inf },
		"--eval-every":   func(o *Options) { o.EvalEvery = -1 },
		"--eval-windows": func(o *Options) { o.EvalWindows = -3 },
		"--batch":        func(o *Options) { o.Batch = 1 << 40 },
	}
	for flag, mod := range cases {
		o := DefaultOptions()
		mod(&o)
		err := o.Validate(128)
		if err == nil || !strings.Contains(err.Error(), strings.TrimSpace(flag)) {
			t.Errorf("%s: %v", flag, err)
		}
	}
	if err := DefaultOptions().Validate(128); err != nil {
		t.Fatal(err)
	}
	if err := DefaultEncoderOptions().Validate(128); err != nil {
		t.Fatal(err)
	}
}

// TestDivergenceKeepsCheckpoint: issue 15 item 2 — at lr 1e30 the run stops
// with a DivergedError, and the checkpoint written before is byte-identical
// afterwards (with and without periodic checkpoints: the step-1 state,
// with finite but huge weights, is refused because its next loss is NaN).
func TestDivergenceKeepsCheckpoint(t *testing.T) {
	for _, every := range []int{0, 1} {
		dir := t.TempDir()
		out := filepath.Join(dir, "m.safetensors")
		good := tinyTrainer(t, 2)
		if err := good.Run(context.Background(), out, 0, Hooks{}); err != nil {
			t.Fatal(err)
		}
		before, _ := os.ReadFile(out)
		o := tinyOptions(3, 4)
		o.LR, o.MinLR, o.Warmup = 1e30, 0, 0
		c := model.Config{Vocab: 256, DModel: 16, Layers: 2, Heads: 2, DFF: 32, MaxSeq: 16, Tie: true, Share: model.ShareAll, Groups: 1}
		bad := testTrainer(t, c, 3, 2000, o)
		err := bad.Run(context.Background(), out, every, Hooks{})
		var div *DivergedError
		if !errors.As(err, &div) {
			t.Fatalf("ckpt-every %d: err = %v, want a DivergedError", every, err)
		}
		after, _ := os.ReadFile(out)
		if !bytes.Equal(before, after) {
			t.Fatalf("ckpt-every %d: the previous checkpoint changed", every)
		}
		ents, _ := os.ReadDir(dir)
		if len(ents) != 1 {
			t.Fatalf("ckpt-every %d: %d files in the directory, want 1", every, len(ents))
		}
		// Save itself refuses the state.
		if err := bad.Save(out); !errors.As(err, &div) {
			t.Fatalf("Save of a diverged state: %v", err)
		}
	}
}

// TestResumeRefusesStepBeyondRun: a crafted training state past its own
// run's end is refused (issue 15 item 8).
func TestResumeRefusesStepBeyondRun(t *testing.T) {
	tr := tinyTrainer(t, 2)
	p := filepath.Join(t.TempDir(), "m.safetensors")
	if err := tr.Save(p); err != nil {
		t.Fatal(err)
	}
	f, _ := safetensors.Read(p)
	f.Metadata["train"] = strings.Replace(f.Metadata["train"], `"step":0`, `"step":1000000000000000000`, 1)
	if err := safetensors.WriteFile(p, f); err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoint.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ResumeFrom(ck, testData(2000)); err == nil || !strings.Contains(err.Error(), "beyond its run") {
		t.Fatalf("err = %v", err)
	}
}

// TestSaveReportsMarshalError: issue 15 item 3 — options that cannot be
// encoded (a NaN set behind Validate's back) fail the save instead of
// writing "options": null, and nothing is written.
func TestSaveReportsMarshalError(t *testing.T) {
	tr := tinyTrainer(t, 2)
	tr.Opts.GradClip = float32(math.NaN())
	p := filepath.Join(t.TempDir(), "m.safetensors")
	if err := tr.Save(p); err == nil || !strings.Contains(err.Error(), "encode the training options") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(p); err == nil {
		t.Fatal("a checkpoint was written")
	}
}

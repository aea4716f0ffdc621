package hfbart

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tformer/tformer/model"
)

// expected is a fixture's <name>.expected.json, written by
// reference/hf_bart_dirs.py.
type expected struct {
	Src         [][]int32 `json:"src"`
	SrcLens     []int32   `json:"src_lens"`
	Tgt         [][]int32 `json:"tgt"`
	LogitsShape []int     `json:"logits_shape"`
	Logits      []float64 `json:"logits"`
	Greedy      []int32   `json:"greedy"`
}

func readExpected(t *testing.T, path string) expected {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var e expected
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// seq2seqLogits runs the teacher-forced forward of e's pairs and returns
// the logits [B·T·K].
func seq2seqLogits(t *testing.T, m *model.Model, e expected) []float32 {
	t.Helper()
	b, ts, tt := len(e.Src), len(e.Src[0]), len(e.Tgt[0])
	var src, tgt []int32
	for i := range e.Src {
		src = append(src, e.Src[i]...)
		tgt = append(tgt, e.Tgt[i]...)
	}
	if _, err := m.ForwardSeq2Seq(model.Seq2SeqBatch{B: b, SrcT: ts, TgtT: tt, Src: src, SrcLens: e.SrcLens, Tgt: tgt}); err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), m.Logits()...)
}

// TestGoldenPyTorchBART loads the directories reference/hf_bart_dirs.py
// wrote — random weights under Hugging Face's names, F32 with the tied
// copies and a zero final_logits_bias stored, F16 with scale_embedding and
// gelu_new, BF16 untied with ReLU — and compares the logits of two pairs
// (the second source padded) with the script's own BART forward in float64:
// max|got-want| <= 1e-4 · max|want|; and the greedy decode of the first
// source (through the engine's KV cache) with the script's.
func TestGoldenPyTorchBART(t *testing.T) {
	exps, _ := filepath.Glob("../testdata/bart/*.expected.json")
	if len(exps) != 3 {
		t.Fatalf("found %d fixtures, want 3 (regenerate with reference/hf_bart_dirs.py)", len(exps))
	}
	for _, ep := range exps {
		name := strings.TrimSuffix(filepath.Base(ep), ".expected.json")
		t.Run(name, func(t *testing.T) {
			l, err := Load(filepath.Join("../testdata/bart", name))
			if err != nil {
				t.Fatal(err)
			}
			e := readExpected(t, ep)
			got := seq2seqLogits(t, l.Model, e)
			if len(got) != len(e.Logits) {
				t.Fatalf("%d logits, want %d", len(got), len(e.Logits))
			}
			var worst, scale float64
			for i, w := range e.Logits {
				worst = math.Max(worst, math.Abs(float64(got[i])-w))
				scale = math.Max(scale, math.Abs(w))
			}
			if worst > 1e-4*scale {
				t.Fatalf("max |logit diff| %.3g > 1e-4 · %.3g", worst, scale)
			}
			// The cached decoder's greedy decode of the first source
			// equals the reference's (full forward per step).
			h, err := l.Model.Greedy(e.Src[0], model.GenerateOptions{BOS: 2, EOS: 2, MaxLen: 8})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(h.Tokens, e.Greedy) {
				t.Fatalf("greedy %v, want %v", h.Tokens, e.Greedy)
			}
			t.Logf("%s (%s): max |diff| %.2g of max |logit| %.3g; notes %q", name, l.DType, worst, scale, l.Notes)
		})
	}
}

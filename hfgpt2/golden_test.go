package hfgpt2

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/safetensors"
)

const fixtures = "../testdata/interop"

// expectation holds the reference outputs written by reference/interop_ref.py.
type expectation struct {
	tokens, targets []int32
	b, t            int
	logits          []float32
	loss            float32
}

func readExpect(t *testing.T, name string) expectation {
	t.Helper()
	f, err := safetensors.Read(filepath.Join(fixtures, "expect", name+".safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	get := func(n string) safetensors.Tensor {
		tn, ok := f.Get(n)
		if !ok {
			t.Fatalf("expect/%s lacks %s", name, n)
		}
		return tn
	}
	var e expectation
	if e.tokens, err = get("tokens").Int32s(); err != nil {
		t.Fatal(err)
	}
	if e.targets, err = get("targets").Int32s(); err != nil {
		t.Fatal(err)
	}
	if e.logits, err = get("logits").Float32s(); err != nil {
		t.Fatal(err)
	}
	l, err := get("loss").Float32s()
	if err != nil {
		t.Fatal(err)
	}
	e.loss = l[0]
	e.b, e.t = get("tokens").Shape[0], get("tokens").Shape[1]
	return e
}

// checkOutputs runs m on the expectation's tokens and compares logits and
// loss with max|got-want| <= 1e-5·max|want|.
func checkOutputs(t *testing.T, m *model.Model, e expectation) {
	t.Helper()
	loss, err := m.Forward(e.tokens, e.targets, e.b, e.t)
	if err != nil {
		t.Fatal(err)
	}
	compare(t, "logits", m.Logits(), e.logits)
	compare(t, "loss", []float32{loss}, []float32{e.loss})
}

func compare(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	var maxWant, maxDiff float64
	for i := range want {
		maxWant = math.Max(maxWant, math.Abs(float64(want[i])))
		maxDiff = math.Max(maxDiff, math.Abs(float64(got[i])-float64(want[i])))
	}
	t.Logf("%s: relative error %.2g", what, maxDiff/maxWant)
	if maxWant == 0 || maxDiff > 1e-5*maxWant {
		t.Errorf("%s: max |diff| %.3g vs max |want| %.3g (relative %.3g > 1e-5)", what, maxDiff, maxWant, maxDiff/maxWant)
	}
}

// TestGoldenHF loads tiny GPT-2s that reference/interop_ref.py wrote in
// Hugging Face's layout (its own writer, not tformer's) and compares the
// logits and loss with the ones its own PyTorch GPT-2 computed.
func TestGoldenHF(t *testing.T) {
	for _, c := range []struct {
		name  string
		tie   bool
		dtype safetensors.DType
		dff   int
		note  string
	}{
		{"hf_tied", true, safetensors.F32, 64, ""},
		{"hf_f16_noprefix", true, safetensors.F16, 64, "F16"},
		{"hf_bf16", true, safetensors.BF16, 64, "BF16"},
		{"hf_untied", false, safetensors.F32, 40, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, err := Load(filepath.Join(fixtures, c.name))
			if err != nil {
				t.Fatal(err)
			}
			cfg := l.Model.Config
			if cfg.Tie != c.tie || cfg.DFF != c.dff || cfg.Vocab != 61 || cfg.DModel != 16 || cfg.MaxSeq != 12 {
				t.Errorf("config %+v", cfg)
			}
			if l.DType != c.dtype {
				t.Errorf("dtype %s, want %s", l.DType, c.dtype)
			}
			if c.note != "" && !strings.Contains(strings.Join(l.Notes, "\n"), c.note) {
				t.Errorf("notes %q do not mention %s", l.Notes, c.note)
			}
			if l.Tokenizer != nil {
				t.Errorf("fixture has no tokenizer files but one was loaded")
			}
			checkOutputs(t, l.Model, readExpect(t, c.name))
		})
	}
}

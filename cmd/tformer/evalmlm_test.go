package main

import (
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tformer/tformer/modelio"
	"github.com/tformer/tformer/train"
)

var writeMLMWindows = flag.Bool("write-mlm-windows", false, "rewrite testdata/mlmeval/*.json's windows (then run reference/hf_mlm_eval_ref.py for the expected loss)")

// mlmEvalFixture is one model's masked windows and what PyTorch
// (reference/hf_mlm_eval_ref.py) computes on them.
type mlmEvalFixture struct {
	Model     string    `json:"model"`
	Seq       int       `json:"seq"`
	Windows   [][]int32 `json:"windows"`   // as masked, [CLS] ... [SEP]
	Positions [][]int32 `json:"positions"` // scored positions within each window
	Targets   [][]int32 `json:"targets"`   // their original tokens
	Expect    *struct {
		Loss     float64 `json:"loss"`
		Accuracy float64 `json:"accuracy"`
	} `json:"expect,omitempty"`
}

// eval on a Hugging Face BERT or ALBERT directory masks with the
// tokenizer's [MASK] (id 4 here; vocab−1 = 29 is the letter y) inside
// [CLS] ... [SEP] windows, and its loss and accuracy equal an independent
// PyTorch BertForMaskedLM / AlbertForMaskedLM on the same masked windows.
func TestEvalHFMaskedLMMatchesReference(t *testing.T) {
	const tokJSON = "../../testdata/fillmask/tokenizer.json"
	text := "../../testdata/mlmeval/text.txt"
	for _, name := range []string{"bert_tiny", "albert_tiny"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("../../testdata/golden/hf", name)
			l, err := modelio.LoadMaskedLM(dir, tokJSON)
			if err != nil {
				t.Fatal(err)
			}
			if got := l.Model.Config.MaskID(); got != 4 {
				t.Fatalf("MaskID %d, want the tokenizer's [MASK] 4", got)
			}
			b, err := os.ReadFile(text)
			if err != nil {
				t.Fatal(err)
			}
			ids := l.Tokenizer.Encode(b)
			const seq = 12
			got := mlmEvalFixture{Model: name, Seq: seq}
			masked := 0
			r, err := train.EvaluateMLMWith(l.Model, ids, train.MLMEvalOptions{Seq: seq, Batch: 8, Seed: train.EvalMaskSeed,
				Prefix: l.Prefix, Suffix: l.Suffix,
				Inspect: func(tokens, positions, targets []int32) {
					k := 0
					for w := 0; w < len(tokens)/seq; w++ {
						win := slices.Clone(tokens[w*seq : (w+1)*seq])
						var pos, tgt []int32
						for ; k < len(positions) && int(positions[k]) < (w+1)*seq; k++ {
							pos = append(pos, positions[k]-int32(w*seq))
							tgt = append(tgt, targets[k])
							if win[pos[len(pos)-1]] == 4 {
								masked++
							}
						}
						got.Windows, got.Positions, got.Targets = append(got.Windows, win), append(got.Positions, pos), append(got.Targets, tgt)
					}
				}})
			if err != nil {
				t.Fatal(err)
			}
			for w, win := range got.Windows {
				if win[0] != 2 || win[seq-1] != 3 {
					t.Fatalf("window %d is %v: want [CLS]=2 first and [SEP]=3 last", w, win)
				}
				for _, p := range got.Positions[w] {
					if p == 0 || p == seq-1 {
						t.Fatalf("window %d: the special token at %d was masked", w, p)
					}
				}
			}
			if frac := float64(masked) / float64(r.Masked); frac < 0.6 || frac > 0.95 {
				t.Errorf("%d of %d scored positions hold [MASK] (id 4): want about 80%%", masked, r.Masked)
			}
			fixture := filepath.Join("../../testdata/mlmeval", name+".json")
			if *writeMLMWindows {
				j, _ := json.Marshal(got)
				if err := os.WriteFile(fixture, append(j, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
				t.Skip("wrote " + fixture)
			}
			fb, err := os.ReadFile(fixture)
			if err != nil {
				t.Fatal(err)
			}
			var want mlmEvalFixture
			if err := json.Unmarshal(fb, &want); err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(got.Windows, want.Windows, slices.Equal) || !slices.EqualFunc(got.Positions, want.Positions, slices.Equal) || !slices.EqualFunc(got.Targets, want.Targets, slices.Equal) {
				t.Fatalf("the masked windows differ from %s (was the masking stream changed?)", fixture)
			}
			if want.Expect == nil {
				t.Fatalf("%s has no expect: run reference/hf_mlm_eval_ref.py", fixture)
			}
			if math.Abs(r.Loss-want.Expect.Loss) > 1e-5*math.Max(1, want.Expect.Loss) || math.Abs(r.Accuracy-want.Expect.Accuracy) > 1e-9 {
				t.Errorf("loss %.7f accuracy %.5f, PyTorch %.7f %.5f", r.Loss, r.Accuracy, want.Expect.Loss, want.Expect.Accuracy)
			}
			// The command prints the same numbers.
			out, _ := mustRun(t, "eval", "--model", dir, "--tokenizer", tokJSON, "--data", text, "--seq", "12", "--json")
			var cli struct {
				Loss, Accuracy float64
				Masked         int
				MaskID         int32 `json:"mask_id"`
			}
			if err := json.Unmarshal([]byte(out), &cli); err != nil {
				t.Fatalf("%v: %q", err, out)
			}
			if math.Abs(cli.Loss-want.Expect.Loss) > 1e-5*math.Max(1, want.Expect.Loss) || cli.Accuracy != r.Accuracy || cli.MaskID != 4 {
				t.Errorf("eval --json %q: want loss %.7f accuracy %.5f mask_id 4", strings.TrimSpace(out), want.Expect.Loss, r.Accuracy)
			}
		})
	}
}

func TestEvalHFMaskedLMBadInput(t *testing.T) {
	dir := t.TempDir()
	noMask := tinyWordPiece(t, dir, false)
	bert := "../../testdata/golden/hf/bert_tiny"
	wantError(t, "no [MASK]", "eval", "--model", bert, "--tokenizer", noMask)
	wantError(t, "pass --tokenizer", "eval", "--model", bert)
	wantError(t, "leaves no room", "eval", "--model", bert, "--tokenizer", "../../testdata/fillmask/tokenizer.json", "--seq", "2")
	wantError(t, "exceeds the model's 12 positions", "eval", "--model", bert, "--tokenizer", "../../testdata/fillmask/tokenizer.json", "--seq", "13")
	wantError(t, "--stride applies to decoders", "eval", "--model", bert, "--tokenizer", "../../testdata/fillmask/tokenizer.json", "--stride", "4")
	wantError(t, "--tokenizer applies to Hugging Face BERT", "eval", "--model", "../../testdata/golden/tied_none.safetensors", "--tokenizer", noMask)
}

// The README's table of what tying and sharing save in bert-base-uncased
// and albert-base-v2 holds the numbers its cost commands print.
func TestREADMEMaskedLMSavings(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for preset, row := range map[string]string{"bert-base": "| bert-base-uncased |", "albert-base": "| albert-base-v2 |"} {
		cmd := "cost --preset " + preset + " --mlm-head --pooler=false --seq 512"
		if !strings.Contains(readme, "tformer "+cmd) {
			t.Errorf("README lacks `tformer %s`", cmd)
		}
		out, err := runTformer(strings.Fields(cmd), "")
		if err != nil {
			t.Fatal(err)
		}
		var stored, applied, tie, share string
		for _, l := range strings.Split(out, "\n") {
			f := strings.Fields(l)
			if len(f) == 3 && f[0] == "total" {
				stored, applied = f[1], f[2]
			}
			if i := strings.Index(l, "tying saves "); i >= 0 {
				f := strings.Fields(l[i:])
				tie, share = strings.TrimSuffix(f[2], ","), f[5]
			}
		}
		i := strings.Index(readme, row)
		if i < 0 {
			t.Fatalf("README has no row %q", row)
		}
		line := readme[i : i+strings.Index(readme[i:], "\n")]
		cells := strings.Split(line, "|")
		if len(cells) < 6 || strings.TrimSpace(cells[2]) != stored || strings.TrimSpace(cells[3]) != applied ||
			strings.Fields(cells[4])[0] != tie || strings.Fields(cells[5])[0] != share {
			t.Errorf("README row %q, but tformer %s prints stored %s applied %s tying saves %s sharing saves %s", line, cmd, stored, applied, tie, share)
		}
	}
}

// eval's progress on a file or pipe: nothing for the first two seconds,
// then a line every ten, none at the end.
func TestEvalProgressLines(t *testing.T) {
	var b strings.Builder
	e := newEvalProgress(&b)
	clock := e.start
	e.now = func() time.Time { return clock }
	for i, at := range []time.Duration{time.Second, 3 * time.Second, 5 * time.Second, 14 * time.Second, 20 * time.Second} {
		clock = e.start.Add(at)
		e.update(i+1, 6)
	}
	clock = e.start.Add(30 * time.Second)
	e.update(6, 6)
	e.done()
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "eval: 2/6 windows | ETA 0:06") || !strings.HasPrefix(lines[1], "eval: 4/6 windows") {
		t.Errorf("progress lines %q", lines)
	}
}

// A BERT directory that carries only vocab.txt (older downloads) is scored
// with the tokenizer built from it: the same windows and loss as with the
// equivalent tokenizer.json.
func TestEvalHFMaskedLMVocabTxt(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"config.json", "model.safetensors"} {
		b, err := os.ReadFile(filepath.Join("../../testdata/golden/hf/bert_tiny", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vocab := "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n"
	for c := 'a'; c <= 'y'; c++ {
		vocab += string(c) + "\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte(vocab), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("../../testdata/mlmeval/bert_tiny.json")
	if err != nil {
		t.Fatal(err)
	}
	var want mlmEvalFixture
	if err := json.Unmarshal(b, &want); err != nil || want.Expect == nil {
		t.Fatalf("fixture: %v", err)
	}
	out, _ := mustRun(t, "eval", "--model", dir, "--data", "../../testdata/mlmeval/text.txt", "--seq", "12", "--json")
	var got struct{ Loss, Accuracy float64 }
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	if math.Abs(got.Loss-want.Expect.Loss) > 1e-5*math.Max(1, want.Expect.Loss) || math.Abs(got.Accuracy-want.Expect.Accuracy) > 1e-9 {
		t.Errorf("vocab.txt eval: loss %.7f accuracy %.5f, want PyTorch's %.7f %.5f", got.Loss, got.Accuracy, want.Expect.Loss, want.Expect.Accuracy)
	}
}

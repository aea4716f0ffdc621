package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tformer/tformer/checkpoint"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/modelio"

	"github.com/tformer/tformer/tokenizer"
	"github.com/tformer/tformer/train"
)

// tinyEncDec are the flags of a small, fast encoder-decoder.
var tinyEncDec = []string{"--arch", "encdec", "--d-model", "16", "--heads", "2", "--d-ff", "32", "--batch", "4", "--eval-windows", "4", "--sample", "1"}

// oneLine checks a refusal: a non-zero exit and one line on stderr that
// holds want.
func oneLine(t *testing.T, what, stderr string, code int, want string) {
	t.Helper()
	if code == 0 || !strings.Contains(stderr, want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || strings.Contains(stderr, "panic") {
		t.Errorf("%s: exit %d, stderr %q; want a non-zero exit and one line holding %q", what, code, stderr, want)
	}
}

func TestSeq2SeqTrainEvalGenerateCost(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "s2s.safetensors")
	so, se, code := run(t, append([]string{"train", "--steps", "6", "--eval-every", "3", "--out", out}, tinyEncDec...)...)
	if code != 0 {
		t.Fatalf("train: exit %d\n%s%s", code, so, se)
	}
	for _, want := range []string{"model: encoder-decoder", "enc_layers=2", "data: built-in task facts, 780 training pairs, 112 held out",
		"step 0: validation loss", "step 3: validation loss", "exact match", "step 6: checkpoint saved"} {
		if !strings.Contains(se, want) {
			t.Errorf("train stderr lacks %q:\n%s", want, se)
		}
	}
	if !strings.Contains(so, "trained 6 steps") || !strings.Contains(so, "(112 held-out pairs); saved") || strings.Count(so, "\n") != 2 {
		t.Errorf("train stdout:\n%s", so)
	}
	ck, err := checkpoint.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	var o train.Options
	if err := json.Unmarshal(ck.Train.Options, &o); err != nil || o.Task != "facts" || ck.Train.Step != 6 || !ck.Model.Config.IsEncDec() {
		t.Fatalf("checkpoint: task %q step %d config %+v (%v)", o.Task, ck.Train.Step, ck.Model.Config, err)
	}

	// A new run does not replace it; --resume continues it.
	_, se, code = run(t, append([]string{"train", "--steps", "2", "--out", out}, tinyEncDec...)...)
	oneLine(t, "overwrite", se, code, "refusing to replace it")
	so, se, code = run(t, "train", "--resume", out, "--steps", "8", "--sample", "0")
	if code != 0 || !strings.Contains(so, "trained 2 steps (6 -> 8)") || !strings.Contains(se, "resuming "+out+" at step 6 of 8") {
		t.Fatalf("resume: exit %d\n%s%s", code, so, se)
	}

	// eval: the held-out split of its task, and a TSV scored whole.
	so, se, code = run(t, "eval", "--model", out, "--json")
	var r s2sEvalJSON
	if code != 0 || json.Unmarshal([]byte(so), &r) != nil || r.Pairs != 112 || r.Split != "val" || !(r.Loss > 0) || r.Perplexity <= 1 {
		t.Fatalf("eval --json: exit %d %+v\n%s%s", code, r, so, se)
	}
	tsv := writeFile(t, dir, "pairs.tsv", "What colour is the cat?\tThe cat is grey.\nab\tba\n")
	so, se, code = run(t, "eval", "--model", out, "--data", tsv)
	if code != 0 || !strings.Contains(so, "all pairs: loss") || !strings.Contains(so, "exact match 0.00% of 2 pairs") {
		t.Fatalf("eval --data: exit %d\n%s%s", code, so, se)
	}

	// generate: greedy and beam print one decoded line on stdout.
	for _, args := range [][]string{{}, {"--beam", "3", "--length-penalty", "1"}} {
		so, se, code = run(t, append([]string{"generate", "--model", out, "--source", "What colour is the cat?"}, args...)...)
		if code != 0 || strings.Count(so, "\n") != 1 || !strings.Contains(se, "decoded ") {
			t.Fatalf("generate %v: exit %d\n%q\n%s", args, code, so, se)
		}
	}

	// cost: the checkpoint's config, and the same model from the flags.
	so, se, code = run(t, "cost", "--model", out, "--format", "json")
	so2, se2, code2 := run(t, "cost", "--arch", "encdec", "--d-model", "16", "--heads", "2", "--d-ff", "32", "--format", "json")
	if code != 0 || code2 != 0 {
		t.Fatalf("cost: exit %d %d\n%s%s", code, code2, se, se2)
	}
	unique := func(s string) float64 {
		var v map[string]any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			t.Fatalf("cost json: %v\n%s", err, s)
		}
		p, _ := v["params"].(map[string]any)
		u, _ := p["unique"].(float64)
		return u
	}
	if u, u2 := unique(so), unique(so2); u != float64(ck.Model.Config.UniqueParams()) || u2 != u {
		t.Errorf("cost unique params: --model %v, flags %v, engine %d", u, u2, ck.Model.Config.UniqueParams())
	}
}

func TestSeq2SeqBadInput(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "s2s.safetensors")
	if so, se, code := run(t, append([]string{"train", "--steps", "1", "--out", out, "--sample", "0"}, tinyEncDec...)...); code != 0 {
		t.Fatalf("train: exit %d\n%s%s", code, so, se)
	}
	dec := filepath.Join(dir, "dec.safetensors")
	if so, se, code := run(t, append([]string{"train", "--steps", "1", "--out", dec, "--sample", "0", "--data", writeText(t, dir)}, small...)...); code != 0 {
		t.Fatalf("train decoder: exit %d\n%s%s", code, so, se)
	}
	empty := writeFile(t, dir, "empty-line.tsv", "a\tb\n\nc\td\n")
	oneCol := writeFile(t, dir, "one-column.tsv", "a\tb\njust a source\n")
	longSrc := strings.Repeat("x", 64)
	for _, c := range []struct {
		what string
		args []string
		want string
	}{
		{"source longer than the context", []string{"generate", "--model", out, "--source", longSrc}, "--source is 64 tokens, longer than the encoder's context of 64"},
		{"TSV source longer than the context", []string{"train", "--arch", "encdec", "--data", writeFile(t, dir, "long.tsv", "a\tb\n"+longSrc+"\tc\n"), "--out", filepath.Join(dir, "x")}, "--data: " + filepath.Join(dir, "long.tsv") + ": line 2: the source is 64 tokens, longer than the encoder's context of 64"},
		{"empty TSV line", []string{"train", "--arch", "encdec", "--data", empty, "--out", filepath.Join(dir, "x")}, "line 2: empty line"},
		{"one-column TSV", []string{"train", "--arch", "encdec", "--data", oneCol, "--out", filepath.Join(dir, "x")}, "line 2: one column, no tab"},
		{"one-column TSV in eval", []string{"eval", "--model", out, "--data", oneCol}, "line 2: one column, no tab"},
		{"--source on a decoder", []string{"generate", "--model", dec, "--source", "hi"}, "--source applies to encoder-decoders"},
		{"--beam on a decoder", []string{"generate", "--model", dec, "--prompt", "hi", "--beam", "2"}, "--beam applies to encoder-decoders"},
		{"--prompt on an encoder-decoder", []string{"generate", "--model", out, "--prompt", "hi"}, "--prompt applies to decoders"},
		{"no --source for an encoder-decoder", []string{"generate", "--model", out, "--prompt", "hi", "--source", ""}, "--prompt applies to decoders"},
		{"--enc-layers on a decoder", []string{"train", "--enc-layers", "3", "--out", filepath.Join(dir, "x")}, "--enc-layers applies to encoder-decoders (--arch encdec) only"},
		{"--tying on a decoder", []string{"train", "--tying", "none", "--out", filepath.Join(dir, "x")}, "--tying applies to encoder-decoders"},
		{"sinusoidal on a decoder", []string{"train", "--positions", "sinusoidal", "--out", filepath.Join(dir, "x")}, "--positions sinusoidal applies to encoder-decoders"},
		{"--tying on cost of a decoder", []string{"cost", "--tying", "decoder"}, "--tying applies to encoder-decoders"},
		{"--task on a decoder", []string{"train", "--task", "facts", "--out", filepath.Join(dir, "x")}, "--task and --denoise apply to encoder-decoders"},
		{"--task on a decoder's eval", []string{"eval", "--model", dec, "--task", "facts"}, "--task and --denoise apply to encoder-decoders"},
		{"--tie on an encoder-decoder", []string{"train", "--arch", "encdec", "--no-tie", "--out", filepath.Join(dir, "x")}, "use --tying all, decoder or none"},
		{"--seq on an encoder-decoder", []string{"train", "--arch", "encdec", "--seq", "32", "--out", filepath.Join(dir, "x")}, "--seq applies to decoders and encoders"},
		{"unknown tying", []string{"train", "--arch", "encdec", "--tying", "some", "--out", filepath.Join(dir, "x")}, `--tying: unknown tying "some"`},
		{"unknown task", []string{"train", "--arch", "encdec", "--task", "sums", "--out", filepath.Join(dir, "x")}, `--task: unknown task "sums"`},
		{"task and data", []string{"train", "--arch", "encdec", "--task", "facts", "--data", empty, "--out", filepath.Join(dir, "x")}, "give one of --task, --data"},
		{"task too long for the context", []string{"train", "--arch", "encdec", "--max-seq", "16", "--out", filepath.Join(dir, "x")}, "--task facts does not fit --max-seq 16"},
		{"share-stacks with unequal stacks", []string{"train", "--arch", "encdec", "--enc-layers", "3", "--share-stacks", "--out", filepath.Join(dir, "x")}, "share-stacks: the encoder stores"},
		{"missing TSV", []string{"train", "--arch", "encdec", "--data", filepath.Join(dir, "none.tsv"), "--out", filepath.Join(dir, "x")}, "--data: read pairs:"},
		{"--length-penalty out of range", []string{"generate", "--model", out, "--source", "a", "--beam", "2", "--length-penalty", "-1"}, "--length-penalty must be in [0, 10]"},
		{"resume user pairs without them", []string{"train", "--resume", trainTSV(t, dir)}, "give its --data or --denoise file again"},
	} {
		_, se, code := run(t, c.args...)
		oneLine(t, c.what, se, code, c.want)
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); err == nil {
		t.Error("a refused run wrote its --out")
	}
}

// trainTSV trains a tiny encoder-decoder on a TSV file and returns its
// checkpoint.
func trainTSV(t *testing.T, dir string) string {
	t.Helper()
	tsv := writeFile(t, dir, "user.tsv", "abc\tcba\nhello\tolleh\nxy\tyx\n")
	out := filepath.Join(dir, "user.safetensors")
	if so, se, code := run(t, append([]string{"train", "--data", tsv, "--steps", "1", "--out", out, "--sample", "0"}, tinyEncDec...)...); code != 0 {
		t.Fatalf("train on a TSV: exit %d\n%s%s", code, so, se)
	}
	return out
}

func TestSeq2SeqDivergenceRefused(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "s2s.safetensors")
	_, se, code := run(t, append([]string{"train", "--steps", "30", "--lr", "1e30", "--warmup", "0", "--grad-clip", "0", "--out", out}, tinyEncDec...)...)
	if code == 0 || !strings.Contains(se, "nothing was saved") {
		t.Fatalf("exit %d, stderr:\n%s", code, se)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a diverged run wrote its checkpoint")
	}
}

func TestLoadSeq2SeqData(t *testing.T) {
	tok, _ := tokenizer.New("byte")
	v := tformerIDs(tok)
	dir := t.TempDir()
	var lines strings.Builder
	for i := range 20 {
		lines.WriteString(strings.Repeat("a", i+1) + "\t" + strings.Repeat("b", i+1) + "\n")
	}
	tsv := writeFile(t, dir, "p.tsv", lines.String())
	d, err := loadSeq2SeqData(s2sSource{TSV: tsv}, v, 64, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Train) != 18 || len(d.HeldOut) != 2 || d.Task != "" {
		t.Fatalf("split %d/%d task %q", len(d.Train), len(d.HeldOut), d.Task)
	}
	for _, p := range append(d.Train, d.HeldOut...) {
		if n := len(p.Src); p.Src[n-1] != v.EOS || n-1 != len(p.Tgt) {
			t.Fatalf("pair %v: want the source's bytes and the end id", p)
		}
	}
	if got := v.encodeMasked("a<mask>b<mask>"); !slices.Equal(got, []int32{'a', v.Mask, 'b', v.Mask}) {
		t.Errorf("encodeMasked: %v", got)
	}
	d2, _ := loadSeq2SeqData(s2sSource{TSV: tsv}, v, 64, 1)
	if train.PairsFingerprint(d2.Train) != train.PairsFingerprint(d.Train) {
		t.Error("the same seed gave another split")
	}
	d, err = loadSeq2SeqData(s2sSource{}, v, 64, 1)
	if err != nil || d.Task != "facts" || len(d.HeldOut) != 112 {
		t.Fatalf("default task: %v %q %d", err, d.Task, len(d.HeldOut))
	}
	text := writeFile(t, dir, "t.txt", strings.Repeat("the cat sat on the mat. ", 30))
	d, err = loadSeq2SeqData(s2sSource{Denoise: text}, v, 32, 1)
	if err != nil {
		t.Fatal(err)
	}
	masked := 0
	for _, p := range d.Train {
		if len(p.Tgt) > 31 || len(p.Src) > 32 {
			t.Fatalf("denoise pair too long: %d/%d", len(p.Src), len(p.Tgt))
		}
		for _, id := range p.Src {
			if id == v.Mask {
				masked++
			}
		}
	}
	if masked == 0 {
		t.Error("no masks in the denoising sources")
	}
}

// TestSeq2SeqLearnsFacts trains the default model briefly on the built-in
// task: the held-out loss must fall well below its start (a model that
// learned nothing stays near ln 260 ≈ 5.56).
func TestSeq2SeqLearnsFacts(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for several seconds")
	}
	dir := t.TempDir()
	so, se, code := run(t, "train", "--arch", "encdec", "--steps", "150", "--eval-every", "0", "--sample", "0", "--out", filepath.Join(dir, "m.safetensors"))
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, so, se)
	}
	var first, last float64
	i := strings.Index(so, "validation loss ")
	if i < 0 {
		t.Fatalf("no loss in %q", so)
	}
	if _, err := fmt.Sscanf(so[i:], "validation loss %f -> %f", &first, &last); err != nil {
		t.Fatalf("%v in %q", err, so)
	}
	if !(first > 5 && last < 2.5) {
		t.Errorf("held-out loss %.3f -> %.3f after 150 steps; want from about ln 260 to below 2.5", first, last)
	}
}

// generate --source on a Hugging Face BART directory frames the source as
// BART does (<s> … </s>, the decoder started from </s>) and prints the
// greedy decode of the independent PyTorch reference
// (reference/hf_bart_dirs.py, testdata/bart/bart_f32.expected.json).
func TestSeq2SeqGenerateBARTMatchesReference(t *testing.T) {
	dir := "../../testdata/bart/bart_f32"
	b, err := os.ReadFile("../../testdata/bart/bart_f32.expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Src    [][]int32 `json:"src"`
		Greedy []int32   `json:"greedy"`
	}
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	l, err := modelio.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	src := e.Src[0]
	if src[0] != 0 || src[len(src)-1] != 2 {
		t.Fatalf("reference source %v is not <s> … </s>", src)
	}
	text := string(l.Tokenizer.Decode(src[1 : len(src)-1]))
	if got := l.Tokenizer.Encode([]byte(text)); !slices.Equal(got, src[1:len(src)-1]) {
		t.Fatalf("the reference source's text %q encodes to %v, not %v", text, got, src[1:len(src)-1])
	}
	so, se, code := run(t, "generate", "--model", dir, "--source", text, "--tokens", fmt.Sprint(len(e.Greedy)))
	if want := string(l.Tokenizer.Decode(e.Greedy)) + "\n"; code != 0 || so != want {
		t.Fatalf("exit %d, stdout %q, want %q\n%s", code, so, want, se)
	}
}

// An interrupted encoder-decoder run saves its checkpoint, which --resume
// continues.
func TestSeq2SeqInterruptSaves(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	out, err := runTformerFor(append([]string{"train", "--steps", "100000", "--out", "int.safetensors"}, tinyEncDec...), 1500*time.Millisecond)
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 130 || !strings.Contains(err.Error(), "checkpoint saved to int.safetensors") {
		t.Fatalf("err %v (%T)\n%s", err, err, out)
	}
	ck, lerr := checkpoint.Load("int.safetensors")
	if lerr != nil || ck.Train == nil || ck.Train.Step == 0 {
		t.Fatalf("checkpoint after the interrupt: %v", lerr)
	}
	step := ck.Train.Step
	out, err = runTformer([]string{"train", "--resume", "int.safetensors", "--steps", fmt.Sprint(step + 2), "--sample", "0"}, "")
	if err != nil || !strings.Contains(out, fmt.Sprintf("(%d -> %d)", step, step+2)) {
		t.Fatalf("resume: %v\n%s", err, out)
	}
}

// TestCostSharedEncDec: cost counts a shared encoder–decoder's stored
// parameters as the engine stores them and says what sharing saves.
func TestCostSharedEncDec(t *testing.T) {
	out, err := runCost(t, "--arch", "encdec", "--share", "all", "--groups", "1", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Params struct {
			Unique         int64 `json:"unique"`
			Applied        int64 `json:"applied"`
			SavedBySharing int64 `json:"saved_by_sharing"`
		} `json:"params"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	c := model.TinyEncDec()
	c.Share, c.Groups = model.ShareAll, 1
	if r.Params.Unique != c.UniqueParams() || r.Params.Applied != c.AppliedParams() || r.Params.SavedBySharing <= 0 {
		t.Errorf("params %+v; engine unique %d applied %d", r.Params, c.UniqueParams(), c.AppliedParams())
	}
}

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tformer/tformer/llmc"
	"github.com/tformer/tformer/tokenizer"
)

// mustRun runs the binary and fails the test unless it exits 0.
func mustRun(t *testing.T, args ...string) (string, string) {
	t.Helper()
	out, errOut, code := run(t, args...)
	if code != 0 {
		t.Fatalf("%v: exit %d\nstdout: %s\nstderr: %s", args, code, out, errOut)
	}
	return out, errOut
}

// wantError runs the binary and checks for a non-zero exit with one line on
// stderr containing want.
func wantError(t *testing.T, want string, args ...string) {
	t.Helper()
	out, errOut, code := run(t, args...)
	lines := strings.Split(strings.TrimRight(errOut, "\n"), "\n")
	if code == 0 || !strings.Contains(errOut, want) || len(lines) != 1 || strings.Contains(errOut, "panic") {
		t.Errorf("%v: exit %d, stdout %q, stderr %q; want one line containing %q", args, code, out, errOut, want)
	}
}

func TestTokenizeAndTrainOnTokenFile(t *testing.T) {
	dir := t.TempDir()
	data := writeText(t, dir)
	text, _ := os.ReadFile(data)
	g := filepath.Join(dir, "g.bin")
	out, _ := mustRun(t, "tokenize", "--tokenizer", "gpt2", data, g)
	gpt2, _ := tokenizer.New("gpt2")
	want := gpt2.Encode(text)
	if !strings.Contains(out, "gpt2 tokens") {
		t.Errorf("tokenize output %q", out)
	}
	if ids, err := llmc.ReadTokens(g); err != nil || !slices.Equal(ids, want) {
		t.Fatalf("token file holds %d ids (%v), want %d", len(ids), err, len(want))
	}
	b := filepath.Join(dir, "b.bin")
	mustRun(t, "tokenize", "--tokenizer", "byte", data, b)

	// train and eval read token files directly, with the same results as
	// the text for the byte tokenizer.
	ck := filepath.Join(dir, "m.safetensors")
	_, errOut := mustRun(t, append([]string{"train", "--data", b, "--steps", "2", "--out", ck, "--sample", "0"}, small...)...)
	if !strings.Contains(errOut, "llm.c token file") {
		t.Errorf("train did not say it read a token file:\n%s", errOut)
	}
	fromText, _ := mustRun(t, "eval", "--model", ck, "--data", data, "--json")
	fromTokens, _ := mustRun(t, "eval", "--model", ck, "--data", b, "--json")
	if fromText != fromTokens {
		t.Errorf("eval on text %s, on its token file %s", fromText, fromTokens)
	}
	// A GPT-2 model trained on the GPT-2 token file.
	gck := filepath.Join(dir, "g.safetensors")
	mustRun(t, "train", "--tokenizer", "gpt2", "--data", g, "--steps", "1", "--out", gck, "--sample", "3",
		"--d-model", "8", "--layers", "1", "--heads", "2", "--max-seq", "16", "--seq", "16", "--batch", "1", "--eval-windows", "1")

	wantError(t, "was made with the gpt2 tokenizer (50257 tokens), not with byte", "eval", "--model", ck, "--data", g)
	wantError(t, "no such file", "tokenize", filepath.Join(dir, "missing.txt"), filepath.Join(dir, "x.bin"))
	wantError(t, "unknown tokenizer", "tokenize", "--tokenizer", "nope", data, filepath.Join(dir, "x.bin"))
	wantError(t, "already an llm.c token file", "tokenize", g, filepath.Join(dir, "x.bin"))
	broken := filepath.Join(dir, "broken.bin")
	raw, _ := os.ReadFile(g)
	os.WriteFile(broken, raw[:len(raw)-3], 0o644)
	wantError(t, "header says", "eval", "--model", ck, "--data", broken)
}

func TestConvertRoundTrip(t *testing.T) {
	dir := t.TempDir()
	data := writeText(t, dir)
	ck := filepath.Join(dir, "m.safetensors")
	mustRun(t, append([]string{"train", "--data", data, "--steps", "2", "--out", ck, "--sample", "0"}, small...)...)
	want, _ := mustRun(t, "eval", "--model", ck, "--data", data, "--json")

	hf := filepath.Join(dir, "hf")
	out, errOut := mustRun(t, "convert", ck, hf)
	if !strings.Contains(out, "(tformer) -> "+hf+" (hf)") || !strings.Contains(out, "tie=true") || strings.Contains(errOut, "no tokenizer files") {
		t.Errorf("convert to hf: %q %q", out, errOut)
	}
	// The byte tokenizer travels as a tokenizer.json whose ids are the bytes.
	if tj, err := os.ReadFile(filepath.Join(hf, "tokenizer.json")); err != nil || !bytes.Equal(tj, tokenizer.ByteTokenizerJSON()) {
		t.Errorf("the directory's tokenizer.json: %v", err)
	}
	if got, _ := mustRun(t, "eval", "--model", hf, "--data", data, "--json"); got != want {
		t.Errorf("eval of the hf directory with its tokenizer.json gives %s, the checkpoint %s", got, want)
	}
	bin := filepath.Join(dir, "m.bin")
	mustRun(t, "convert", hf, bin)
	back := filepath.Join(dir, "back.safetensors")
	_, errOut = mustRun(t, "convert", bin, back)
	if !strings.Contains(errOut, "assuming the byte tokenizer") {
		t.Errorf("convert from llm.c: %q", errOut)
	}
	got, _ := mustRun(t, "eval", "--model", back, "--data", data, "--json")
	if got != want {
		t.Errorf("after tformer -> hf -> llm.c -> tformer eval gives %s, before %s", got, want)
	}
	// A tformer checkpoint named model.safetensors beside a config.json (the
	// Hugging Face file names) is still read as tformer: its header says so.
	mixed := filepath.Join(dir, "mixed")
	if err := os.MkdirAll(mixed, 0o755); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(ck)
	conf, _ := os.ReadFile(filepath.Join(hf, "config.json"))
	os.WriteFile(filepath.Join(mixed, "model.safetensors"), raw, 0o644)
	os.WriteFile(filepath.Join(mixed, "config.json"), conf, 0o644)
	out, _ = mustRun(t, "convert", filepath.Join(mixed, "model.safetensors"), filepath.Join(dir, "mixed.bin"))
	if !strings.Contains(out, "(tformer) ->") {
		t.Errorf("tformer checkpoint beside a config.json read as %q", out)
	}
	// --to overrides the path; a directory path means Hugging Face.
	mustRun(t, "convert", bin, filepath.Join(dir, "x.data"), "--to", "llmc")
	if _, _, err := llmc.ReadCheckpoint(filepath.Join(dir, "x.data")); err != nil {
		t.Error(err)
	}
}

func TestConvertGPT2TokenizerTravels(t *testing.T) {
	dir := t.TempDir()
	data := writeText(t, dir)
	ck := filepath.Join(dir, "g.safetensors")
	mustRun(t, "train", "--tokenizer", "gpt2", "--data", data, "--steps", "1", "--out", ck, "--sample", "0",
		"--d-model", "8", "--layers", "1", "--heads", "2", "--max-seq", "16", "--seq", "16", "--batch", "1", "--eval-windows", "1")
	hf := filepath.Join(dir, "hf")
	mustRun(t, "convert", ck, hf)
	for _, f := range []string{"config.json", "model.safetensors", "vocab.json", "merges.txt"} {
		if _, err := os.Stat(filepath.Join(hf, f)); err != nil {
			t.Error(err)
		}
	}
	back := filepath.Join(dir, "back.safetensors")
	out, _ := mustRun(t, "convert", hf, back)
	if !strings.Contains(out, "tokenizer gpt2") {
		t.Errorf("convert: %q", out)
	}
	a, _ := mustRun(t, "generate", "--model", ck, "--prompt", "The fox", "--tokens", "5", "--temperature", "0")
	b, _ := mustRun(t, "generate", "--model", back, "--prompt", "The fox", "--tokens", "5", "--temperature", "0")
	if a != b {
		t.Errorf("generate before %q, after %q", a, b)
	}
}

func TestConvertSharedAndErrors(t *testing.T) {
	dir := t.TempDir()
	data := writeText(t, dir)
	shared := filepath.Join(dir, "shared.safetensors")
	mustRun(t, append([]string{"train", "--data", data, "--steps", "2", "--out", shared, "--sample", "0", "--share", "all", "--layers", "2"}, small...)...)
	untied := filepath.Join(dir, "untied.safetensors")
	mustRun(t, append([]string{"train", "--data", data, "--steps", "1", "--out", untied, "--sample", "0", "--no-tie"}, small...)...)

	wantError(t, "--expand-shared", "convert", shared, filepath.Join(dir, "s"))
	wantError(t, "--expand-shared", "convert", shared, filepath.Join(dir, "s.bin"))
	out, errOut := mustRun(t, "convert", shared, filepath.Join(dir, "s"), "--expand-shared")
	if !strings.Contains(errOut, "expanded") || !strings.Contains(out, "share=none (expanded from all)") {
		t.Errorf("expand: %q %q", out, errOut)
	}
	mustRun(t, "convert", filepath.Join(dir, "s"), filepath.Join(dir, "s.safetensors"))
	want, _ := mustRun(t, "eval", "--model", shared, "--data", data, "--json")
	got, _ := mustRun(t, "eval", "--model", filepath.Join(dir, "s.safetensors"), "--data", data, "--json")
	if got != want {
		t.Errorf("expanded model evaluates to %s, shared %s", got, want)
	}

	tokens := filepath.Join(dir, "t.bin")
	mustRun(t, "tokenize", "--tokenizer", "byte", data, tokens)
	fixture := filepath.Join("..", "..", "testdata", "interop", "hf_tied")
	wantError(t, "always tied", "convert", untied, filepath.Join(dir, "u.bin"))
	wantError(t, "cannot tell the output format", "convert", shared, filepath.Join(dir, "out.txt"))
	wantError(t, `--to "onnx"`, "convert", shared, filepath.Join(dir, "o"), "--to", "onnx")
	wantError(t, "token file, not a model", "convert", tokens, filepath.Join(dir, "o.bin"))
	wantError(t, "no such file", "convert", filepath.Join(dir, "missing.safetensors"), filepath.Join(dir, "o.bin"))
	wantError(t, "cannot tell which tokenizer", "convert", fixture, filepath.Join(dir, "f.safetensors"))
	wantError(t, "256 tokens but the model only 61", "convert", fixture, filepath.Join(dir, "f.safetensors"), "--tokenizer", "byte")
	wantError(t, "is not a model file", "convert", data, filepath.Join(dir, "o.bin"))
	wantError(t, "accepts 2 arg(s)", "convert", shared)
	mustRun(t, "convert", fixture, filepath.Join(dir, "f.bin"))

	// A Gemma-style model with biases fits neither the Llama family's
	// layouts nor GPT-2's: the refusal names what keeps it from the first.
	gemmaish := filepath.Join(dir, "gemmaish.safetensors")
	mustRun(t, append([]string{"train", "--data", data, "--steps", "1", "--out", gemmaish, "--sample", "0",
		"--norm", "rmsnorm", "--positions", "rope", "--mlp", "geglu", "--norm-offset", "--embed-scale", "--post-norms"}, small...)...)
	wantError(t, "no Hugging Face layout holds this model: bias all: Gemma has no biases (--bias none)", "convert", gemmaish, filepath.Join(dir, "g"))
}

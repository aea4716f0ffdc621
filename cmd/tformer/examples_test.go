package main

// This file runs every example a user is shown: each `tformer ...` command
// in README.md (indented code blocks and inline code) and in each command's
// --help Example, in process, in a fresh directory holding the files the
// examples name (made on the fly, small), and compiles the README's Go
// library example. Examples are discovered, not listed, so a new command or
// example is covered as soon as it is written; long-running ones get the
// size and step overrides of exampleOverrides below.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/tformer/tformer/checkpoint"
	"github.com/tformer/tformer/corpus"
	"github.com/tformer/tformer/hf"
	"github.com/tformer/tformer/hfgpt2"
	"github.com/tformer/tformer/llmc"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/tokenizer"
)

// exampleOverrides shrink the examples that would take long at full size:
// the first entry whose pattern matches the command line (without the
// leading "tformer ") appends its flags, which win over the example's own
// (the last value of a flag counts). Keep the flags to ones the command
// accepts in that form (train --init and --resume refuse shape flags).
var exampleOverrides = []struct {
	pattern string
	flags   string
}{
	{`^train .*--arch encdec`, "--steps 2 --d-model 16 --heads 2 --d-ff 32 --batch 2 --eval-windows 2 --sample 1"},
	{`^train .*--resume`, "--steps 4 --eval-windows 2 --sample 8"},
	{`^train .*--init`, "--steps 2 --batch 1 --seq 16 --eval-windows 2 --sample 8"},
	{`^train`, "--steps 2 --d-model 16 --layers 2 --heads 2 --d-ff 64 --max-seq 16 --seq 16 --batch 2 --eval-windows 2 --sample 8 --embed-dim 0"},
	{`^profile .*--preset`, "--layers 1 --seq 8 --reps 1 --warmup-reps 0"},
	{`^profile`, "--vocab 32 --d-model 16 --layers 1 --heads 2 --seq 8,16 --batch 1 --reps 1 --warmup-reps 0"},
	{`^bench`, "--only fma,gemm,attention,train,generate --model tiny --sizes 32 --gpt2-shapes=false --attn-seq 32 --attn-d 32 --attn-heads 4 --min-time 1ms --fma-time 1ms --steps 1 --batch 1 --seq 16 --gen-tokens 4 --prompt-tokens 4"},
	{`^generate`, "--tokens 8"},
}

// knownBroken lists examples that fail for a reason tracked elsewhere; the
// test expects them to fail and fails once they pass, so that the entry is
// removed when the fix lands.
var knownBroken = []struct{ pattern, why string }{}

// example is one command to run, with where it was found.
type example struct {
	where string
	line  string // without the leading "tformer "
	stdin string
}

var (
	inlineCode = regexp.MustCompile("`(tformer [^`]+)`")
	echoPipe   = regexp.MustCompile(`^echo ("[^"]*"|'[^']*'|\S+) \| (tformer .*)$`)
)

// parseExampleLine returns the tformer command of one line of text, if it
// has a runnable one: synopses ([--flag], A|B, ...) and placeholders are not.
func parseExampleLine(where, s string) (example, bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "$ ")
	s = strings.Replace(s, "go run ./cmd/tformer ", "tformer ", 1)
	stdin := ""
	if m := echoPipe.FindStringSubmatch(s); m != nil {
		stdin, s = strings.Trim(m[1], `"'`)+"\n", m[2]
	}
	if !strings.HasPrefix(s, "tformer ") && s != "tformer" {
		return example{}, false
	}
	if i := strings.Index(s, " #"); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	// Synopsis marks outside quoted arguments ("... [MASK]" is text).
	bare := regexp.MustCompile(`"[^"]*"|'[^']*'`).ReplaceAllString(s, "")
	if strings.Contains(s, "...") || strings.ContainsAny(bare, "[]|<>") || regexp.MustCompile(`\b(MODEL|FILE|TEXT|NAME|IN|OUT|CMD|LIST)\b`).MatchString(s) {
		return example{}, false
	}
	return example{where: where, line: strings.TrimSpace(strings.TrimPrefix(s, "tformer")), stdin: stdin}, true
}

// readmeExamples returns the README's commands: indented code lines and
// inline code spans.
func readmeExamples(t *testing.T) []example {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []example
	for i, l := range strings.Split(string(b), "\n") {
		where := fmt.Sprintf("README.md:%d", i+1)
		if strings.HasPrefix(l, "    ") {
			if e, ok := parseExampleLine(where, l); ok {
				out = append(out, e)
			}
			continue
		}
		for _, m := range inlineCode.FindAllStringSubmatch(l, -1) {
			if e, ok := parseExampleLine(where, m[1]); ok {
				out = append(out, e)
			}
		}
	}
	return out
}

// helpExamples returns every command's --help examples.
func helpExamples() []example {
	var out []example
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, l := range strings.Split(c.Example, "\n") {
			if e, ok := parseExampleLine(c.CommandPath()+" --help", l); ok {
				out = append(out, e)
			}
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(newRoot())
	return out
}

// splitWords splits a command line as a shell would for these examples:
// on spaces, with single or double quotes around words.
func splitWords(s string) ([]string, error) {
	var out []string
	var w strings.Builder
	inWord, quote := false, rune(0)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			w.WriteRune(r)
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				out, inWord = append(out, w.String()), false
				w.Reset()
			}
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unclosed quote in %q", s)
	}
	if inWord {
		out = append(out, w.String())
	}
	return out, nil
}

// runTformer runs the CLI in process in the current directory.
func runTformer(args []string, stdin string) (string, error) {
	root := newRoot()
	var out bytes.Buffer
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&out)
	err := root.Execute()
	return out.String(), err
}

// runTformerFor runs the CLI in process with a context that ends after d,
// as Ctrl-C would, for commands that run until stopped.
func runTformerFor(args []string, d time.Duration) (string, error) {
	root := newRoot()
	var out bytes.Buffer
	root.SetArgs(args)
	root.SetIn(strings.NewReader(""))
	root.SetOut(&out)
	root.SetErr(&out)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

// makeExampleFiles writes, small, every file the examples name.
func makeExampleFiles(t *testing.T, dir string) {
	t.Helper()
	// text.txt is scored by ./gpt2 with --seq 1024: one window's worth.
	for name, n := range map[string]int{"notes.txt": 20000, "text.txt": 6000, "corpus.txt": 20000} {
		if err := os.WriteFile(filepath.Join(dir, name), corpus.Default()[:n], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gpt2, err := tokenizer.NewGPT2()
	if err != nil {
		t.Fatal(err)
	}
	// A GPT-2-shaped model, tiny but with GPT-2's vocabulary and context,
	// as the Hugging Face directory ./gpt2 and the llm.c gpt2_124M.bin.
	g, err := model.New(model.Config{Vocab: tokenizer.GPT2Vocab, DModel: 16, Layers: 1, Heads: 2, DFF: 64, MaxSeq: 1024, Tie: true, Share: model.ShareNone, Groups: 1})
	if err != nil {
		t.Fatal(err)
	}
	g.Init(1)
	if _, err := hfgpt2.Save(filepath.Join(dir, "gpt2"), g, gpt2, hfgpt2.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := llmc.WriteCheckpoint(filepath.Join(dir, "gpt2_124M.bin"), g, llmc.Options{}); err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile(filepath.Join(dir, "gpt2", hfgpt2.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"config.json", "path/to/config.json"} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, p), conf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The repository's fixtures that examples name by their path from the
	// repository root (tokenizer.json files, tiny Hugging Face models).
	for _, d := range []string{"testdata", "tokenizer/testdata"} {
		abs, err := filepath.Abs(filepath.Join("../..", d))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(filepath.Join(dir, d)), 0o755)
		if err := os.Symlink(abs, filepath.Join(dir, d)); err != nil {
			t.Fatal(err)
		}
	}
	// ./bert-base-uncased and ./albert-base-v2 stand for the downloads the
	// README names: the tiny Hugging Face BERT and ALBERT of the golden
	// tests, with the fill-mask test's tokenizer.json.
	for name, from := range map[string]string{"bert-base-uncased": "bert_tiny", "albert-base-v2": "albert_tiny"} {
		to := filepath.Join(dir, name)
		os.MkdirAll(to, 0o755)
		for src, dst := range map[string]string{
			filepath.Join("../../testdata/golden/hf", from, "config.json"):       "config.json",
			filepath.Join("../../testdata/golden/hf", from, "model.safetensors"): "model.safetensors",
			"../../testdata/fillmask/tokenizer.json":                             "tokenizer.json",
		} {
			b, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(to, dst), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// ./SmolLM2-135M and ./Qwen2.5-0.5B stand for the Hugging Face
	// downloads the README's Llama section names: tiny models of those
	// families, written by hf.Save with the SmolLM2- and Qwen2-style
	// tokenizer.json fixtures.
	makeLlamaStandIns(t, dir)
	// The README's pictures are written into docs/.
	if err := os.MkdirAll(filepath.Join(dir, "docs"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Metrics files, as train --metrics writes them, for the plot examples.
	for from, to := range map[string][]string{"testdata/tie.jsonl": {"tie.jsonl", "a.jsonl"}, "testdata/untie.jsonl": {"untie.jsonl", "b.jsonl"}} {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range to {
			if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The default output of train, with its training state (so that
	// --resume examples run), made by a short run of train itself.
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	if out, err := runTformer(strings.Fields("train --steps 2 --d-model 16 --layers 2 --heads 2 --d-ff 64 --max-seq 64 --seq 16 --batch 2 --eval-windows 2 --sample 0"), ""); err != nil {
		t.Fatalf("make tformer-model.safetensors: %v\n%s", err, out)
	}
	// The README's token file, for the train example that follows its
	// tokenize example.
	if out, err := runTformer(strings.Fields("tokenize --tokenizer tokenizer/testdata/hf/llama3 notes.txt notes.bin"), ""); err != nil {
		t.Fatalf("make notes.bin: %v\n%s", err, out)
	}
	// The README's encoder, for the eval example that follows its training.
	if out, err := runTformer(strings.Fields("train --arch encoder --share all --embed-dim 8 --steps 2 --d-model 16 --layers 2 --heads 2 --d-ff 64 --max-seq 16 --seq 16 --batch 2 --eval-windows 2 --out encoder.safetensors"), ""); err != nil {
		t.Fatalf("make encoder.safetensors: %v\n%s", err, out)
	}
	if out, err := runTformer(strings.Fields("tokenize --tokenizer gpt2 corpus.txt corpus.bin"), ""); err != nil {
		t.Fatalf("make corpus.bin: %v\n%s", err, out)
	}
	// The README's encoder-decoder and its pairs, for the eval, generate
	// and cost examples that follow its training.
	if err := os.WriteFile(filepath.Join(dir, "pairs.tsv"), []byte("What colour is the cat?\tThe cat is grey.\nabc\tcba\nhello world\tworld hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runTformer(strings.Fields("train --arch encdec --steps 2 --d-model 16 --heads 2 --d-ff 32 --batch 2 --eval-windows 2 --sample 0 --out s2s.safetensors"), ""); err != nil {
		t.Fatalf("make s2s.safetensors: %v\n%s", err, out)
	}
	if _, err := checkpoint.Load(filepath.Join(dir, "tformer-model.safetensors")); err != nil {
		t.Fatal(err)
	}
}

// makeLlamaStandIns writes the stand-in Llama-family directories.
func makeLlamaStandIns(t *testing.T, dir string) {
	t.Helper()
	for name, fam := range map[string]string{"SmolLM2-135M": "llama", "Qwen2.5-0.5B": "qwen2"} {
		tok, err := tokenizer.LoadHF(filepath.Join("../../tokenizer/testdata/hf", map[string]string{"llama": "smollm2", "qwen2": "qwen2"}[fam]))
		if err != nil {
			t.Fatal(err)
		}
		c, _ := model.Config{Vocab: tok.VocabSize(), DModel: 16, Layers: 2, Heads: 4, KVHeads: 2, DFF: 32, MaxSeq: 256, Tie: true, Share: model.ShareNone, Groups: 1}.Family(fam)
		m, err := model.New(c)
		if err != nil {
			t.Fatal(err)
		}
		m.Init(2)
		if _, err := hf.Save(filepath.Join(dir, name), m, tok, hf.Options{}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDocumentedExamplesRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every documented example")
	}
	examples := append(readmeExamples(t), helpExamples()...)
	if len(examples) < 20 {
		t.Fatalf("found only %d examples: is the extraction broken?", len(examples))
	}
	tmpl := t.TempDir()
	makeExampleFiles(t, tmpl)
	seen := map[string]bool{}
	for _, e := range examples {
		if seen[e.line] {
			continue
		}
		seen[e.line] = true
		t.Run(e.line, func(t *testing.T) {
			dir := t.TempDir()
			if err := linkTree(tmpl, dir); err != nil {
				t.Fatal(err)
			}
			t.Chdir(dir)
			if strings.HasPrefix(e.line, "train") && !strings.Contains(e.line, "--resume") {
				// A fresh run, as on a fresh clone: the default output
				// does not exist yet (train refuses to replace a model).
				out := "tformer-model.safetensors"
				if m := regexp.MustCompile(`--out[ =](\S+)`).FindStringSubmatch(e.line); m != nil {
					out = m[1]
				}
				os.Remove(out)
			}
			args, err := splitWords(e.line)
			if err != nil {
				t.Fatalf("%s: %v", e.where, err)
			}
			for _, o := range exampleOverrides {
				if regexp.MustCompile(o.pattern).MatchString(e.line) {
					args = append(args, strings.Fields(o.flags)...)
					break
				}
			}
			var out string
			if args[0] == "serve" {
				// A server runs until stopped: on a free port, it must
				// start and then shut down cleanly when its context ends.
				args = append(args, "--addr", "127.0.0.1:0")
				out, err = runTformerFor(args, 500*time.Millisecond)
			} else {
				out, err = runTformer(args, e.stdin)
			}
			why, broken := "", false
			for _, k := range knownBroken {
				if regexp.MustCompile(k.pattern).MatchString(e.line) {
					why, broken = k.why, true
				}
			}
			if broken {
				if err == nil {
					t.Fatalf("%s: `tformer %s` now runs: remove it from knownBroken (%s)", e.where, e.line, why)
				}
				t.Logf("known broken (%s): %v", why, err)
				return
			}
			if err != nil {
				t.Fatalf("%s: `tformer %s` (run as tformer %s) failed: %v\n%s", e.where, e.line, strings.Join(args, " "), err, out)
			}
		})
	}
}

// The README's library example compiles: its code, with the variables it
// leaves to the reader declared as parameters, inside a function of a
// program that imports the packages it names.
func TestREADMELibraryExampleCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a program")
	}
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(b), -1)
	if len(blocks) == 0 {
		t.Fatal("README.md has no ```go block")
	}
	for i, blk := range blocks {
		code := blk[1]
		var imports []string
		for _, p := range []string{"model", "train", "tokenizer", "generate", "cost", "profile", "checkpoint", "modelio", "hfgpt2", "llmc", "safetensors", "kernels"} {
			if strings.Contains(code, p+".") {
				imports = append(imports, fmt.Sprintf("\t%q\n", "github.com/tformer/tformer/"+p))
			}
		}
		for _, p := range []string{"fmt", "os"} {
			if strings.Contains(code, p+".") {
				imports = append(imports, fmt.Sprintf("\t%q\n", p))
			}
		}
		src := "package main\n\nimport (\n\t\"context\"\n" + strings.Join(imports, "") + ")\n\n" +
			"var _ = context.Background\n\n" +
			"func example(ctx context.Context, text []byte, prompt []int32, emit func(int32) error) {\n" + code + "}\n\nfunc main() {}\n"
		dir := t.TempDir()
		f := filepath.Join(dir, "main.go")
		if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("go", "build", "-o", os.DevNull, f)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("README go block %d does not compile: %v\n%s\n%s", i+1, err, out, src)
		}
	}
}

func TestExampleExtraction(t *testing.T) {
	for _, c := range []struct {
		in, want, stdin string
		ok              bool
	}{
		{`    tformer cost --preset gpt2 --seq 1024 --train   # forward, backward`, "cost --preset gpt2 --seq 1024 --train", "", true},
		{`go run ./cmd/tformer train`, "train", "", true},
		{`echo "Once upon" | tformer generate --prompt -`, "generate --prompt -", "Once upon\n", true},
		{`tformer train    [--data FILE] [model flags]`, "", "", false},
		{`tformer cost --arch encoder ...`, "", "", false},
		{`tformer eval --model MODEL`, "", "", false},
		{`go test ./...`, "", "", false},
	} {
		e, ok := parseExampleLine("x", c.in)
		if ok != c.ok || e.line != c.want || e.stdin != c.stdin {
			t.Errorf("%q: got %q %q %v", c.in, e.line, e.stdin, ok)
		}
	}
	w, err := splitWords(`generate --prompt "The " --x 'a b' c`)
	if err != nil || strings.Join(w, "|") != "generate|--prompt|The |--x|a b|c" {
		t.Errorf("splitWords: %q %v", w, err)
	}
}

// linkTree recreates the directory tree src in dst with hard links to its
// files (tformer writes files by renaming a new one into place, so an
// example cannot change the template through a link).
func linkTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		return os.Link(p, to)
	})
}

package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/tformer/tformer/checkpoint"
	"github.com/tformer/tformer/corpus"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/train"
)

// tinyCheckpoint saves a randomly initialised byte-level model and returns
// its path.
func tinyCheckpoint(t *testing.T, c model.Config) string {
	t.Helper()
	m, err := model.New(c)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	p := filepath.Join(t.TempDir(), "m.safetensors")
	if err := checkpoint.Save(p, &checkpoint.Checkpoint{Model: m, Tokenizer: "byte"}); err != nil {
		t.Fatal(err)
	}
	return p
}

var tinyByteConfig = model.Config{Vocab: 256, DModel: 16, Layers: 1, Heads: 2, DFF: 32, MaxSeq: 16, Tie: true, Share: model.ShareNone, Groups: 1}

func evalJSONOf(t *testing.T, o *evalOptions) map[string]any {
	t.Helper()
	o.JSON = true
	var out, errw bytes.Buffer
	if err := evalRun(o, &out, &errw); err != nil {
		t.Fatalf("%+v: %v", o, err)
	}
	var r map[string]any
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%s: %v", out.String(), err)
	}
	return r
}

// Without --data, eval scores the split training held out (issue 10: it
// scored the whole corpus, 90% of it training data).
func TestEvalDefaultsToHeldOutSplit(t *testing.T) {
	if testing.Short() {
		t.Skip("scores the built-in corpus's held-out split")
	}
	path := tinyCheckpoint(t, tinyByteConfig)
	r := evalJSONOf(t, &evalOptions{Model: path, Batch: 64})
	held := train.HeldOut(toInt32(corpus.Default()))
	if want := float64(train.Windows(held, 16) * 16); r["tokens"] != want || r["split"] != "val" {
		t.Fatalf("scored %v tokens of split %v, want %v of val", r["tokens"], r["split"], want)
	}
	// A byte model's bits per byte are its bits per token.
	if math.Abs(r["bits_per_byte"].(float64)-r["bits"].(float64)) > 1e-12 || r["bytes"] != r["tokens"] {
		t.Errorf("byte model: %v", r)
	}
	var keys []string
	for k := range r {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if want := []string{"bits", "bits_per_byte", "bytes", "loss", "perplexity", "split", "tokens", "windows"}; !slices.Equal(keys, want) {
		t.Errorf("JSON keys %v, want %v", keys, want)
	}
}

func toInt32(b []byte) []int32 {
	out := make([]int32, len(b))
	for i, c := range b {
		out[i] = int32(c)
	}
	return out
}

func TestEvalStrideAndSplit(t *testing.T) {
	path := tinyCheckpoint(t, tinyByteConfig)
	data := filepath.Join(t.TempDir(), "notes.txt")
	text := strings.Repeat("a small text to score, ", 30)
	if err := os.WriteFile(data, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	all := evalJSONOf(t, &evalOptions{Model: path, Data: data, Batch: 4})
	if all["split"] != "all" || all["tokens"] != float64((len(text)-1)/16*16) {
		t.Errorf("--data: %v", all)
	}
	strided := evalJSONOf(t, &evalOptions{Model: path, Data: data, Batch: 4, Stride: 4})
	if strided["tokens"] != float64(len(text)-1) {
		t.Errorf("--stride 4 scored %v tokens, want every one after the first (%d)", strided["tokens"], len(text)-1)
	}
	val := evalJSONOf(t, &evalOptions{Model: path, Data: data, Batch: 4, Split: "val"})
	if n := len(train.HeldOut(toInt32([]byte(text)))); val["tokens"] != float64((n-1)/16*16) {
		t.Errorf("--split val scored %v tokens of a %d-token split", val["tokens"], n)
	}

	var out bytes.Buffer
	if err := evalRun(&evalOptions{Model: path, Data: data, Batch: 4, Stride: 8}, &out, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"nats/token (", "bits/token)", "bits/byte", "stride 8"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text output %q lacks %q", out.String(), want)
		}
	}

	for _, c := range []struct {
		o    evalOptions
		want string
	}{
		{evalOptions{Model: path, Data: data, Batch: 4, Stride: 17}, "--stride 17 is longer than the window"},
		{evalOptions{Model: path, Data: data, Batch: 4, Split: "train"}, `--split "train"`},
		{evalOptions{Model: path, Data: data, Batch: 0}, "--batch positive"},
	} {
		err := evalRun(&c.o, &out, &out)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.o, err, c.want)
		}
	}
}

// The flags land in the options struct (cli/cli's runF pattern).
func TestEvalFlags(t *testing.T) {
	var got *evalOptions
	cmd := newEvalCmd(func(o *evalOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--model", "m", "--stride", "32", "--seq", "64", "--split", "all", "--threads", "1"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Model != "m" || got.Stride != 32 || got.Seq != 64 || got.Split != "all" || got.Threads != 1 || got.Batch != 8 {
		t.Errorf("parsed %+v", got)
	}
}

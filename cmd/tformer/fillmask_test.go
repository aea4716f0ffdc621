package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tformer/tformer/hfbert"
	"github.com/tformer/tformer/safetensors"
	"github.com/tformer/tformer/tokenizer"
)

// tinyWordPiece writes a tokenizer.json of 30 tokens (the vocabulary size
// of the hfbert fixtures): [PAD] [UNK] [CLS] [SEP] [MASK] and the letters a-y.
func tinyWordPiece(t *testing.T, dir string, withMask bool) string {
	t.Helper()
	vocab := map[string]int{"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4}
	if !withMask {
		delete(vocab, "[MASK]")
		vocab["z"] = 4
	}
	for i := 0; i < 25; i++ {
		vocab[string(rune('a'+i))] = 5 + i
	}
	var added []map[string]any
	for _, s := range []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"} {
		if id, ok := vocab[s]; ok {
			added = append(added, map[string]any{"id": id, "content": s, "special": true})
		}
	}
	j, _ := json.Marshal(map[string]any{
		"added_tokens":   added,
		"normalizer":     map[string]any{"type": "BertNormalizer", "lowercase": true},
		"pre_tokenizer":  map[string]any{"type": "BertPreTokenizer"},
		"post_processor": map[string]any{"type": "BertProcessing", "sep": []any{"[SEP]", 3}, "cls": []any{"[CLS]", 2}},
		"decoder":        map[string]any{"type": "WordPiece"},
		"model":          map[string]any{"type": "WordPiece", "unk_token": "[UNK]", "vocab": vocab},
	})
	p := filepath.Join(dir, "tokenizer.json")
	if err := os.WriteFile(p, j, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestFillMaskMatchesReference predicts every position of the hfbert
// fixtures' first sequence and compares the top 3 and their probabilities
// with those of the logits the PyTorch reference (reference/hf_encoder_ref.py)
// computed.
func TestFillMaskMatchesReference(t *testing.T) {
	tok, err := tokenizer.LoadHF(filepath.Join("..", "..", "testdata", "fillmask", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"bert_tiny", "albert_tiny"} {
		dir := filepath.Join("..", "..", "testdata", "golden", "hf", name)
		l, err := hfbert.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		f, err := safetensors.Read(filepath.Join(dir, "expect.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		x, _ := f.Get("input_ids")
		ids, _ := x.Int32s()
		tt, _ := f.Get("token_type_ids")
		types, _ := tt.Int32s()
		am, _ := f.Get("attention_mask")
		mask, _ := am.Int32s()
		lg, _ := f.Get("logits")
		want, _ := lg.Float32s()
		T, V := x.Shape[1], l.Model.Config.Vocab
		n := 0
		for i := 0; i < T; i++ {
			n += int(mask[i])
		}
		if n == 0 {
			t.Fatal("empty first sequence")
		}
		pos := make([]int32, n)
		for i := range pos {
			pos[i] = int32(i)
		}
		preds, err := predictMasks(l.Model, tok, append([]int32(nil), ids[:n]...), append([]int32(nil), types[:n]...), pos, 3)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range preds {
			row := want[i*V : (i+1)*V]
			order := make([]int, V)
			for k := range order {
				order[k] = k
			}
			sort.SliceStable(order, func(a, b int) bool { return row[order[a]] > row[order[b]] })
			hi, sum := float64(row[order[0]]), 0.0
			for _, z := range row {
				sum += math.Exp(float64(z) - hi)
			}
			for k, c := range p.Candidates {
				wp := math.Exp(float64(row[order[k]])-hi) / sum
				if int(c.ID) != order[k] || math.Abs(c.Prob-wp) > 1e-4 {
					t.Errorf("%s position %d rank %d: id %d p %.5f, reference id %d p %.5f", name, i, k, c.ID, c.Prob, order[k], wp)
				}
			}
		}
	}
}

func TestFillMaskCommand(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join("..", "..", "testdata", "golden", "hf", "bert_tiny")
	for _, f := range []string{"config.json", "model.safetensors"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f), b, 0o644)
	}
	tj, _ := os.ReadFile(filepath.Join("..", "..", "testdata", "fillmask", "tokenizer.json"))
	os.WriteFile(filepath.Join(dir, "tokenizer.json"), tj, 0o644)
	out, _ := mustRun(t, "fill-mask", "--model", dir, "--top", "2", "--json", "a b [MASK] c")
	var preds []maskPrediction
	if err := json.Unmarshal([]byte(out), &preds); err != nil || len(preds) != 1 || preds[0].Position != 3 || len(preds[0].Candidates) != 2 {
		t.Fatalf("output %q (%v)", out, err)
	}
	text, _ := mustRun(t, "fill-mask", "--model", dir, "[MASK] b [MASK]")
	if strings.Count(text, "mask ") != 2 {
		t.Errorf("text output %q", text)
	}
	wantError(t, "no [MASK] token to fill", "fill-mask", "--model", dir, "a b c")
	noMask := t.TempDir()
	wantError(t, "no [MASK] (or <mask>) token", "fill-mask", "--model", dir, "--tokenizer", tinyWordPiece(t, noMask, false), "a [MASK]")
	wantError(t, "has no tokenizer.json", "fill-mask", "--model", src, "a [MASK]")
	wantError(t, "more than the model's 12 positions", "fill-mask", "--model", dir, fmt.Sprintf("%s [MASK]", strings.Repeat("a ", 20)))
}

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCostEncDec(t *testing.T) {
	out, err := runCost(t, "--preset", "bart-base", "--src-seq", "64,512", "--tgt-seq", "64")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"139,420,416", "cross-attn", "enc self-attn", "dec self-attn", "\n  64    64 ", "\n  512   64 ", "final_logits_bias, 50,265"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// transformer-base is the paper's 6+6 model without --src-seq; the
	// per-layer table shows the three attentions beside the FFN.
	out, err = runCost(t, "--preset", "transformer-base", "--per-layer")
	if err != nil || !strings.Contains(out, "encoder-decoder") || !strings.Contains(out, "encoder self-attn = FFN at n ≈ 1003") ||
		strings.Contains(out, "Parameters") {
		t.Errorf("per-layer: %v\n%s", err, out)
	}
	out, err = runCost(t, "--preset", "transformer-big", "--format", "json", "--src-seq", "100", "--tgt-seq", "50,60", "--batch", "3")
	var r struct {
		Params struct {
			Unique int64 `json:"unique"`
		} `json:"params"`
		PerPair []struct {
			Src   int `json:"src_seq"`
			Tgt   int `json:"tgt_seq"`
			Batch int `json:"batch"`
		} `json:"per_pair"`
	}
	if err != nil || json.Unmarshal([]byte(out), &r) != nil || r.Params.Unique != 214245376 || len(r.PerPair) != 2 || r.PerPair[1].Src != 100 || r.PerPair[1].Tgt != 60 || r.PerPair[1].Batch != 3 {
		t.Errorf("json: %v %+v\n%s", err, r, out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--preset", "bart-base", "--src-seq", "2000", "--tgt-seq", "5"}, "max_positions"},
		{[]string{"--preset", "bart-base", "--src-seq", "-3", "--tgt-seq", "5"}, "--src-seq"},
		{[]string{"--preset", "t5-small", "--src-seq", "5", "--tgt-seq", "x"}, "--tgt-seq"},
		{[]string{"--preset", "gpt2", "--src-seq", "5"}, "--preset"},
		{[]string{"--src-seq", "5"}, "need --preset"},
		{[]string{"--preset", "t5-small", "--layers", "3", "--causal"}, "--causal, --layers: not used for an encoder-decoder"},
		{[]string{"--preset", "t5-small", "--plot", "x.pdf"}, "--plot x.pdf"},
		{[]string{"--preset", "t5-small", "--batch", "0"}, "--batch"},
		{[]string{"--preset", "t5-small", "--format", "xml"}, "unknown format"},
	} {
		out, err := runCost(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: err %v, want %q (output %q)", c.args, err, c.want, out)
		}
	}
}

// --config reads bart, marian and t5 config.json files (the encoder-decoder test
// files) and reproduces the published totals.
func TestCostEncDecConfig(t *testing.T) {
	for file, want := range map[string]string{
		"bart-base.json": "139,420,416", "t5-small.json": "60,506,624", "marian-en-de.json": "73,886,208",
		// 2·32128·512 tables + 8 gated encoder and 8 decoder layers + 2·(6·32 bias + 512 norm)
		"t5-v1_1-small.json": "76,961,152",
	} {
		out, err := runCost(t, "--config", filepath.Join("..", "..", "testdata", "encdec", file), "--src-seq", "64", "--tgt-seq", "64")
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("%s: %v, want %s in\n%s", file, err, want, out)
		}
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.json")
	os.WriteFile(cfg, []byte(`{"model_type": "bart", "vocab_size": 99, "d_model": 16, "encoder_layers": 2, "decoder_layers": 1,
		"encoder_attention_heads": 4, "encoder_ffn_dim": 32, "max_position_embeddings": 40, "normalize_before": true}`), 0o644)
	_, err := runCost(t, "--config", dir)
	if err == nil || !strings.Contains(err.Error(), "normalize_before true is not supported") || strings.Contains(err.Error(), "\n") {
		t.Errorf("pre-LN BART: %v", err)
	}
}

// The README's d = 512 table is the command's output, line for line.
func TestREADMEEncDecTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const cmd = "    tformer cost --preset transformer-base --per-layer\n"
	i := strings.Index(string(readme), cmd)
	if i < 0 {
		t.Fatal("the README lacks the command")
	}
	out, err := runCost(t, "--preset", "transformer-base", "--per-layer")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var want []string
	for _, l := range lines[4:] { // after the model line, the two convention lines and a blank
		if l != "" {
			want = append(want, l)
		}
	}
	block := "```\n" + strings.Join(want, "\n") + "\n```"
	if !strings.Contains(string(readme[i:]), block) {
		t.Errorf("the README's table after %q is not the output:\n%s", cmd, block)
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tformer/tformer/model"
)

// runCost runs `tformer cost args...` in-process through the root command.
func runCost(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append([]string{"cost"}, args...))
	err := root.Execute()
	return out.String(), err
}

func TestCostTransformerBaseDecoder(t *testing.T) {
	out, err := runCost(t, "--preset", "transformer-base-decoder")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Per layer, matmul FLOPs only",
		"MHA = FFN at n = 1024 (d_ff − 2d); QKᵀ+AV = FFN at n = 2048 (d_ff)",
		"MHA = FFN at n ≈ 2021; QKᵀ+AV = FFN at n = 4116",
		"42,053,632", "60,997,632", "tying saves 18,944,000",
		"8192", "causal", "2·m·k·n", "Memory of a training step", "PaLM", "Kaplan",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// All seven default lengths appear as rows of the per-layer table.
	for _, n := range []string{"128", "256", "512", "1024", "2048", "4096", "8192"} {
		if !strings.Contains(out, "\n  "+n+" ") {
			t.Errorf("no per-layer row for n=%s", n)
		}
	}
}

func TestCostPublishedCounts(t *testing.T) {
	for preset, want := range map[string]string{
		"gpt2": "124,439,808", "gpt2-xl": "1,557,611,200", "bert-large": "335,141,888", "albert-xxlarge": "222,595,584",
	} {
		out, err := runCost(t, "--preset", preset, "--seq", "128")
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("%s: %v, want %s in\n%s", preset, err, want, out)
		}
	}
}

func TestCostJSON(t *testing.T) {
	out, err := runCost(t, "--preset", "gpt2", "--seq", "128,1024", "--batch", "4", "--train", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var j map[string]any
	if err := json.Unmarshal([]byte(out), &j); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	params := j["params"].(map[string]any)
	if params["unique"].(float64) != 124439808 || params["applied"].(float64) != 124439808+50257*768 {
		t.Errorf("params %v", params)
	}
	seqs := j["per_seq"].([]any)
	if len(seqs) != 2 {
		t.Fatalf("per_seq has %d entries", len(seqs))
	}
	e := seqs[1].(map[string]any)
	fwd := e["flops"].(map[string]any)["forward"].(map[string]any)
	for _, k := range []string{"embedding", "qkv", "scores", "softmax", "av", "attn_out", "ffn_up", "gelu", "ffn_down", "layernorm", "logits", "loss", "total"} {
		if _, ok := fwd[k]; !ok {
			t.Errorf("flops.forward.%s missing", k)
		}
	}
	if e["seq"].(float64) != 1024 || e["mha"] == nil || e["ffn"] == nil || e["flops"].(map[string]any)["backward"] == nil {
		t.Errorf("per_seq entry %v", e)
	}
	// 4 sequences, 12 layers, 12 heads, 1024·1025/2 pairs, 2·64 FLOPs each.
	if fwd["scores"].(float64) != 4*12*12*524800*128 {
		t.Errorf("scores = %v", fwd["scores"])
	}
	x := j["crossover"].(map[string]any)
	if x["mha_equals_ffn"] == nil || x["attention_core_equals_ffn"] == nil || x["convention"] != "causal" {
		t.Errorf("crossover %v", x)
	}
	if m := x["matmul_only"].(map[string]any); m["mha_equals_ffn"].(float64) != 1536 || m["attention_core_equals_ffn"].(float64) != 3072 {
		t.Errorf("matmul crossovers %v", m)
	}
}

func TestCostFormatsAndFlags(t *testing.T) {
	out, err := runCost(t, "--d-model", "64", "--layers", "4", "--heads", "4", "--vocab", "100", "--share", "all", "--groups", "2",
		"--no-tie", "--seq", "16,32", "--format", "csv", "--train")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "seq,batch,attention,forward_embedding") || !strings.HasPrefix(lines[1], "16,1,causal,") {
		t.Errorf("csv:\n%s", out)
	}
	out, err = runCost(t, "--preset", "bert-base", "--format", "md", "--seq", "512")
	if err != nil || !strings.Contains(out, "| component |") || !strings.Contains(out, "bidirectional") || !strings.Contains(out, "109,482,240") {
		t.Errorf("md: %v\n%s", err, out)
	}
	out, err = runCost(t, "--preset", "transformer-base-decoder", "--per-layer", "--format", "csv")
	if err != nil || !strings.HasPrefix(out, "seq,qkv,scores,av,out_proj,mha,ffn") || !strings.Contains(out, "\n1024,1610612736,1073741824,1073741824,536870912,4294967296,4294967296,0.5,0.5,1\n") {
		t.Errorf("per-layer csv: %v\n%s", err, out)
	}
	// Flags override a preset: GPT-2 with all layers shared stores one block.
	out, err = runCost(t, "--preset", "gpt2", "--share", "all", "--seq", "128")
	if err != nil || !strings.Contains(out, "share=all") || !strings.Contains(out, "sharing saves 77,966,592") {
		t.Errorf("override: %v\n%s", err, out)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.json")
	os.WriteFile(cfg, []byte(`{"model_type":"albert","embedding_size":128,"hidden_size":768,"num_hidden_layers":12,"num_attention_heads":12,"intermediate_size":3072,"max_position_embeddings":512,"type_vocab_size":2,"vocab_size":30000}`), 0o644)
	out, err = runCost(t, "--config", cfg, "--seq", "128")
	if err != nil || !strings.Contains(out, "11,683,584") {
		t.Errorf("config: %v\n%s", err, out)
	}
}

func TestCostErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--preset", "gpt5"},
		{"--config", "/nonexistent/config.json"},
		{"--heads", "5", "--d-model", "64"},
		{"--seq", "128,abc"},
		{"--seq", "0"},
		{"--batch", "0"},
		{"--format", "xml"},
		{"--share", "some"},
		{"--preset", "gpt2", "--config", "x.json"},
		{"--arch", "rnn"},
		{"--embed-dim", "256"}, // larger than d-model
		{"--mlm-masked"},       // a decoder has no MLM head
		{"--groups", "3"},      // with --share none groups are ignored; see below
	} {
		_, err := runCost(t, args...)
		if args[0] == "--groups" {
			if err != nil {
				t.Errorf("%v: %v", args, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%v: no error", args)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: multi-line error %q", args, err)
		}
	}
}

func TestCostPlot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cost.svg")
	if _, err := runCost(t, "--preset", "gpt2", "--plot", path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || !bytes.Contains(b, []byte("<svg")) || !bytes.Contains(b, []byte("MHA = FFN")) {
		t.Errorf("plot file: %v, %d bytes", err, len(b))
	}
	if _, err := runCost(t, "--preset", "gpt2", "--plot", filepath.Join(t.TempDir(), "x.gif")); err == nil {
		t.Error(".gif accepted")
	}
}

// The encoder of the model flags is the one `tformer train --arch encoder`
// builds: MLM head on the masked positions, no pooler; factorized decoders
// are allowed.
func TestCostEncoderFlags(t *testing.T) {
	out, err := runCost(t, "--arch", "encoder", "--vocab", "257", "--share", "all", "--embed-dim", "32", "--seq", "128", "--format", "json", "--train")
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Model struct {
			Arch      string `json:"arch"`
			EmbedDim  int    `json:"embed_dim"`
			Pooler    bool   `json:"pooler"`
			MLMHead   bool   `json:"mlm_head"`
			MLMMasked bool   `json:"mlm_masked"`
		}
		Params struct{ Unique int64 }
		PerSeq []struct {
			Flops struct{ Forward map[string]int64 }
		} `json:"per_seq"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	c := model.Config{Vocab: 257, DModel: 128, Layers: 4, Heads: 4, DFF: 512, MaxSeq: 128, Tie: true, Share: model.ShareAll, Groups: 1, Arch: model.ArchEncoder, EmbedDim: 32}
	if r.Model.Arch != "encoder" || r.Model.EmbedDim != 32 || r.Model.Pooler || !r.Model.MLMHead || !r.Model.MLMMasked || r.Params.Unique != c.UniqueParams() {
		t.Errorf("encoder flags: %+v, %d params (engine %d)", r.Model, r.Params.Unique, c.UniqueParams())
	}
	// 19 of 128 positions through the head: logits = 2·19·32·257 + 19·257
	if got, want := r.PerSeq[0].Flops.Forward["logits"], int64(2*19*32*257+19*257); got != want {
		t.Errorf("masked logits FLOPs %d, want %d", got, want)
	}
	if _, err := runCost(t, "--embed-dim", "32", "--seq", "64"); err != nil {
		t.Errorf("factorized decoder: %v", err)
	}
}

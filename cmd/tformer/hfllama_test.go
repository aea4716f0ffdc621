package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tformer/tformer/checkpoint"
	"github.com/tformer/tformer/hf"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/tokenizer"
)

// writeLlamaDir writes a small random Llama (GQA, tied) with the Llama 3
// tokenizer.json fixture as a Hugging Face directory.
func writeLlamaDir(t *testing.T, dir, family string) (string, *model.Model) {
	t.Helper()
	tok, err := tokenizer.LoadHF("../../tokenizer/testdata/hf/llama3")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := model.Config{Vocab: tok.VocabSize(), DModel: 16, Layers: 2, Heads: 4, KVHeads: 2, DFF: 24, MaxSeq: 32, Tie: true, Share: model.ShareNone, Groups: 1}.Family(family)
	m, err := model.New(c)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(5)
	p := filepath.Join(dir, family+"-hf")
	if _, err := hf.Save(p, m, tok, hf.Options{}); err != nil {
		t.Fatal(err)
	}
	return p, m
}

// logitsOf runs a model on fixed tokens.
func logitsOf(t *testing.T, m *model.Model) []float32 {
	t.Helper()
	toks := []int32{1, 7, 100, 962, 5, 5, 300, 2}
	if _, err := m.Forward(toks, nil, 1, len(toks)); err != nil {
		t.Fatal(err)
	}
	return slices.Clone(m.Logits())
}

// TestHFLlamaDirectoryCommands runs eval, generate, train --init and
// convert on a Llama-family Hugging Face directory, and converts HF ->
// tformer -> HF, checking the logits stay bit for bit the same.
func TestHFLlamaDirectoryCommands(t *testing.T) {
	dir := t.TempDir()
	data := writeText(t, dir)
	for _, fam := range []string{"llama", "qwen2", "gemma"} {
		t.Run(fam, func(t *testing.T) {
			src, m := writeLlamaDir(t, dir, fam)
			want := logitsOf(t, m)

			out, _ := mustRun(t, "eval", "--model", src, "--data", data, "--json")
			var ev struct{ Loss, Tokens float64 }
			if err := json.Unmarshal([]byte(out), &ev); err != nil || !(ev.Loss > 0) || ev.Tokens == 0 {
				t.Fatalf("eval --json: %v\n%s", err, out)
			}
			if out, _ = mustRun(t, "generate", "--model", src, "--tokens", "4", "--prompt", "Hello", "--temperature", "0"); !strings.HasPrefix(out, "Hello") {
				t.Errorf("generate output %q does not continue the prompt", out)
			}

			// HF -> tformer -> HF.
			ck := filepath.Join(dir, fam+".safetensors")
			out, errOut := mustRun(t, "convert", src, ck)
			if !strings.Contains(out, "(hf, "+fam+", F32) -> "+ck+" (tformer)") || !strings.Contains(errOut, "names its tokenizer by the path") {
				t.Errorf("convert to tformer:\n%s%s", out, errOut)
			}
			c, err := checkpoint.Load(ck)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(logitsOf(t, c.Model), want) {
				t.Error("the tformer checkpoint's logits differ from the directory's")
			}
			back := filepath.Join(dir, fam+"-back")
			if out, _ = mustRun(t, "convert", ck, back); !strings.Contains(out, "(hf, "+fam+"): d=16 layers=2 heads=4 kv_heads=2") {
				t.Errorf("convert to hf: %s", out)
			}
			b, err := hf.Load(back)
			if err != nil {
				t.Fatal(err)
			}
			if b.Config.ModelType != fam || !slices.Equal(logitsOf(t, b.Model), want) {
				t.Errorf("converted back as %s; logits equal: %v", b.Config.ModelType, slices.Equal(logitsOf(t, b.Model), want))
			}
			for _, f := range []string{"tokenizer.json", "tokenizer_config.json"} {
				x, _ := os.ReadFile(filepath.Join(src, f))
				y, err := os.ReadFile(filepath.Join(back, f))
				if err != nil || string(x) != string(y) {
					t.Errorf("%s not carried over: %v", f, err)
				}
			}

			// serve loads it (and stops at its tokenizer.json's EOS).
			if out, err := runTformerFor([]string{"serve", "--model", src, "--addr", "127.0.0.1:0"}, 300*time.Millisecond); err != nil || !strings.Contains(out, "context 32") {
				t.Errorf("serve: %v\n%s", err, out)
			}

			// Fine-tuning from the directory.
			ft := filepath.Join(dir, fam+"-ft.safetensors")
			_, errOut = mustRun(t, "train", "--init", src, "--data", data, "--steps", "2", "--seq", "16", "--batch", "2", "--eval-windows", "2", "--sample", "0", "--out", ft)
			if !strings.Contains(errOut, "fine-tuning "+src) {
				t.Errorf("train --init:\n%s", errOut)
			}
			mustRun(t, "generate", "--model", ft, "--tokens", "3", "--prompt", "Hi")
		})
	}
}

// TestHFLlamaBadDirectories checks that broken Llama-family directories
// give one clear line and a non-zero exit from each command, and that a
// shared model needs --expand-shared to be written in Hugging Face's layout.
func TestHFLlamaBadDirectories(t *testing.T) {
	dir := t.TempDir()
	src, _ := writeLlamaDir(t, dir, "llama")
	cfg, _ := os.ReadFile(filepath.Join(src, "config.json"))
	bad := func(name string, edit func(d string)) string {
		d := filepath.Join(dir, name)
		os.MkdirAll(d, 0o755)
		for _, f := range []string{"config.json", "model.safetensors", "tokenizer.json"} {
			b, _ := os.ReadFile(filepath.Join(src, f))
			os.WriteFile(filepath.Join(d, f), b, 0o644)
		}
		edit(d)
		return d
	}
	mixtral := bad("mixtral", func(d string) {
		os.WriteFile(filepath.Join(d, "config.json"), []byte(strings.Replace(string(cfg), `"model_type": "llama"`, `"model_type": "llama", "rope_scaling": {"rope_type": "yarn"}`, 1)), 0o644)
	})
	wantError(t, `rope_scaling.rope_type "yarn" is not supported`, "eval", "--model", mixtral)
	noShard := bad("noshard", func(d string) {
		os.Remove(filepath.Join(d, "model.safetensors"))
		os.WriteFile(filepath.Join(d, hf.IndexFile), []byte(`{"weight_map":{"model.norm.weight":"model-00001-of-00002.safetensors"}}`), 0o644)
	})
	wantError(t, "shard model-00001-of-00002.safetensors", "generate", "--model", noShard, "--prompt", "x")
	wantError(t, "is missing", "convert", noShard, filepath.Join(dir, "x.safetensors"))
	corrupt := bad("corrupt", func(d string) {
		os.Remove(filepath.Join(d, "model.safetensors"))
		os.WriteFile(filepath.Join(d, hf.IndexFile), []byte(`{"weight_map":`), 0o644)
	})
	wantError(t, "model.safetensors.index.json is not valid JSON", "eval", "--model", corrupt)
	// A shared model needs --expand-shared to go to Hugging Face's layout.
	ck := filepath.Join(dir, "shared.safetensors")
	mustRun(t, append([]string{"train", "--arch", "qwen2", "--share", "all", "--groups", "1", "--steps", "1", "--sample", "0", "--data", writeText(t, dir), "--out", ck}, small...)...)
	wantError(t, "Hugging Face's Llama family cannot express cross-layer sharing", "convert", ck, filepath.Join(dir, "shared-hf"))
	_, errOut := mustRun(t, "convert", ck, filepath.Join(dir, "shared-hf"), "--expand-shared")
	if !strings.Contains(errOut, "expanded into per-layer copies") {
		t.Errorf("--expand-shared notes:\n%s", errOut)
	}
	if !hf.IsLlamaFamily(filepath.Join(dir, "shared-hf")) {
		t.Error("the expanded qwen2 model was not written as a Llama-family directory")
	}
}

package modelio

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"

	"github.com/tformer/tformer/checkpoint"
	"github.com/tformer/tformer/hfgpt2"
	"github.com/tformer/tformer/internal/modeltest"
	"github.com/tformer/tformer/llmc"
	"github.com/tformer/tformer/model"
)

// TestOpenAsEveryFormat: OpenAs in each dtype gives, for every format,
// the model Open then Quantize gives, bit for bit (weights and decoded
// logits), with the same format, tokenizer and no gradients — read
// directly for a tformer checkpoint (also from a pipe) and a Llama-family
// directory, converted for GPT-2 directories and llm.c files. A narrow
// dtype for an encoder–decoder wraps model.ErrDType.
func TestOpenAsEveryFormat(t *testing.T) {
	dir := t.TempDir()
	m := tiny(t, 256)
	m.Init(3)
	ck := filepath.Join(dir, "m.safetensors")
	if err := checkpoint.Save(ck, &checkpoint.Checkpoint{Model: m, Tokenizer: "byte"}); err != nil {
		t.Fatal(err)
	}
	gpt2 := filepath.Join(dir, "gpt2")
	if _, err := hfgpt2.Save(gpt2, m, nil, hfgpt2.Options{}); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "m.bin")
	if err := llmc.WriteCheckpoint(bin, m, llmc.Options{}); err != nil {
		t.Fatal(err)
	}
	llama := filepath.Join("..", "testdata", "hf", "llama", "llama3_bf16_sharded")
	for _, p := range []string{ck, gpt2, bin, llama, "fifo"} {
		for _, dt := range []model.DType{model.F32, model.BF16, model.Int8} {
			src := p
			if p == "fifo" {
				src = ck
			}
			want, err := Open(src)
			if err != nil {
				t.Fatal(err)
			}
			if err := want.Model.Quantize(dt); err != nil {
				t.Fatal(err)
			}
			path := p
			if p == "fifo" { // a pipe: read once into memory, then parsed
				if path = fifoOf(t, ck); path == "" {
					continue
				}
			}
			got, err := OpenAs(path, dt)
			if err != nil {
				t.Fatalf("%s %s: %v", p, dt, err)
			}
			if got.Format != want.Format || got.TokenizerName != want.TokenizerName || got.Model.Grads != nil {
				t.Fatalf("%s %s: format %s/%s tokenizer %q/%q, %d grads", p, dt, got.Format, want.Format, got.TokenizerName, want.TokenizerName, len(got.Model.Grads))
			}
			if err := modeltest.SameWeights(got.Model, want.Model); err != nil {
				t.Fatalf("%s %s: %v", p, dt, err)
			}
			if err := modeltest.SameDecode(got.Model, want.Model, []int32{1, 5, 9, 2}); err != nil {
				t.Fatalf("%s %s: %v", p, dt, err)
			}
		}
	}
	if _, err := OpenAs(filepath.Join("..", "testdata", "bart", "bart_f32"), model.BF16); !errors.Is(err, model.ErrDType) {
		t.Errorf("bf16 BART: %v, want model.ErrDType", err)
	}
	if _, err := LoadAs(filepath.Join("..", "testdata", "bart", "bart_f32"), model.F32); err != nil {
		t.Errorf("f32 BART: %v", err)
	}
}

// TestOpenAsRefusesBARTBeforeWeights: a narrow dtype for an
// encoder-decoder is refused from config.json alone, so a directory whose
// weights are unreadable still gets the dtype refusal, not a weights error.
func TestOpenAsRefusesBARTBeforeWeights(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"config.json", "vocab.json", "merges.txt"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "bart", "bart_f32", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "model.safetensors"), []byte("not weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dt := range []model.DType{model.BF16, model.Int8} {
		if _, err := OpenAs(dir, dt); !errors.Is(err, model.ErrDType) {
			t.Errorf("%s BART with unreadable weights: %v, want model.ErrDType", dt, err)
		}
	}
	if _, err := OpenAs(dir, model.F32); err == nil || errors.Is(err, model.ErrDType) {
		t.Errorf("f32 BART with unreadable weights: %v, want a weights error", err)
	}
}

// fifoOf returns a named pipe that streams the file at path once (""
// where named pipes cannot be made).
func fifoOf(t *testing.T, path string) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		return ""
	}
	p := filepath.Join(t.TempDir(), "pipe")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		return ""
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		if w, err := os.OpenFile(p, os.O_WRONLY, 0); err == nil {
			w.Write(b)
			w.Close()
		}
	}()
	return p
}

package hfdir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tformer/tformer/safetensors"
)

func TestRead(t *testing.T) {
	var weights strings.Builder
	if err := safetensors.Write(&weights, &safetensors.File{Tensors: []safetensors.Tensor{
		safetensors.FromFloat32("w", []int{2}, []float32{1, 2})}}); err != nil {
		t.Fatal(err)
	}
	conf := `{"model_type":"gpt2"}`
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string // a part of the error, "" for none
	}{
		{"ok", map[string]string{ConfigFile: conf, WeightsFile: weights.String()}, ""},
		{"no config", map[string]string{WeightsFile: weights.String()}, "no config.json in the directory"},
		{"no weights", map[string]string{ConfigFile: conf}, "no model.safetensors in the directory"},
		{"sharded", map[string]string{ConfigFile: conf, WeightsFile + ".index.json": "{}"}, "sharded checkpoints"},
		{"pickle", map[string]string{ConfigFile: conf, "pytorch_model.bin": "x"}, "pytorch_model.bin"},
		{"bad weights", map[string]string{ConfigFile: conf, WeightsFile: "xx"}, "model.safetensors"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cj, f, err := Read(dir)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v, want one containing %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(cj) != conf {
				t.Errorf("config %q, want %q", cj, conf)
			}
			if v, err := f.Tensors[0].Float32s(); err != nil || len(f.Tensors) != 1 || v[1] != 2 {
				t.Errorf("weights %+v (%v)", f.Tensors, err)
			}
		})
	}
}

func TestReadConfigLimits(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadConfig(dir, 100); err == nil || err.Error() != "no config.json in the directory" {
		t.Fatalf("missing config: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(strings.Repeat(" ", 101)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadConfig(dir, 100); err == nil || !strings.Contains(err.Error(), "config.json is 101 bytes, more than the 100 accepted") {
		t.Fatalf("oversized config: %v", err)
	}
	b, err := ReadConfig(dir, 101)
	if err != nil || len(b) != 101 {
		t.Fatalf("config at the limit: %d bytes, %v", len(b), err)
	}
	// A pipe has no size: the limit is found by reading.
	fifo := filepath.Join(dir, "pipe")
	if err := mkfifo(fifo); err != nil {
		t.Skip("no fifo:", err)
	}
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err == nil {
			f.Write([]byte(strings.Repeat("x", 50)))
			f.Close()
		}
	}()
	if _, err := ReadLimited(fifo, 10); err == nil || !strings.Contains(err.Error(), "pipe is more than the 10 bytes accepted") {
		t.Fatalf("oversized pipe: %v", err)
	}
}

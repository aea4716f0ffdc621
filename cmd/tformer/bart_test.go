package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tformer/tformer/hfbart"
)

// TestConvertBART: convert copies a BART directory into another, every
// weight bit for bit and the tokenizer and special ids kept; a BART
// config.json with an option the engine lacks is one line on stderr and a
// non-zero exit.
func TestConvertBART(t *testing.T) {
	src := filepath.Join("..", "..", "testdata", "bart", "bart_f32")
	out := filepath.Join(t.TempDir(), "copy")
	so, se, code := run(t, "convert", src, out)
	if code != 0 {
		t.Fatalf("convert: exit %d\n%s%s", code, so, se)
	}
	if !strings.Contains(so, "(hf, bart, F32) -> ") || !strings.Contains(so, "(hf, bart)") {
		t.Errorf("stdout %q", so)
	}
	a, err := hfbart.Load(src)
	if err != nil {
		t.Fatal(err)
	}
	b, err := hfbart.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Model.Params, b.Model.Params) || a.Model.Config.JSON() != b.Model.Config.JSON() {
		t.Fatal("the copy differs")
	}
	if ids, ok := b.IDs(); !ok || ids.EOS != 2 || ids.Pad != 1 {
		t.Errorf("ids %+v", ids)
	}
	if _, err := os.Stat(filepath.Join(out, "vocab.json")); err != nil {
		t.Error(err)
	}

	bad := t.TempDir()
	for _, n := range []string{"config.json", "model.safetensors"} {
		data, err := os.ReadFile(filepath.Join(src, n))
		if err != nil {
			t.Fatal(err)
		}
		if n == "config.json" {
			data = []byte(strings.Replace(string(data), `"model_type": "bart"`, `"model_type": "bart", "normalize_before": true`, 1))
		}
		if err := os.WriteFile(filepath.Join(bad, n), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, se, code = run(t, "convert", bad, filepath.Join(t.TempDir(), "x"))
	if code == 0 || strings.Count(strings.TrimSpace(se), "\n") != 0 || !strings.Contains(se, "normalize_before true") {
		t.Fatalf("unsupported option: exit %d, stderr %q", code, se)
	}
}

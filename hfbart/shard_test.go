package hfbart

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tformer/tformer/hf"
	"github.com/tformer/tformer/safetensors"
)

// TestSharded: the fixture's tensors split into two shards with a
// model.safetensors.index.json load as the single file does; a shard the
// index names but that is missing is one line.
func TestSharded(t *testing.T) {
	src := filepath.Join(fixtureDir, "bart_f32")
	ts, err := hf.ReadWeights(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := copyDir(t, "bart_f32")
	os.Remove(filepath.Join(dir, WeightsFile))
	var names []string
	for n := range ts {
		names = append(names, n)
	}
	slices.Sort(names)
	shards := [2]*safetensors.File{{Metadata: map[string]string{"format": "pt"}}, {Metadata: map[string]string{"format": "pt"}}}
	wm := map[string]string{}
	for i, n := range names {
		s := i % 2
		shards[s].Tensors = append(shards[s].Tensors, ts[n])
		wm[n] = []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}[s]
	}
	for s, f := range shards {
		if err := safetensors.WriteFile(filepath.Join(dir, []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}[s]), f); err != nil {
			t.Fatal(err)
		}
	}
	idx, _ := json.Marshal(map[string]any{"weight_map": wm})
	if err := os.WriteFile(filepath.Join(dir, hf.IndexFile), idx, 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := Load(src)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.Model.Params {
		if math.Float32bits(a.Model.Params[i]) != math.Float32bits(b.Model.Params[i]) {
			t.Fatalf("parameter %d differs", i)
		}
	}
	os.Remove(filepath.Join(dir, "model-00002-of-00002.safetensors"))
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "model-00002-of-00002.safetensors") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("missing shard: %v", err)
	}
}

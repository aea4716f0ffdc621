package cost

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// keysOf returns the sorted keys of a JSON object.
func keysOf(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("not an object: %s", raw)
	}
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func sorted(s ...string) []string { s = slices.Clone(s); sort.Strings(s); return s }

// The README calls `cost --format json` stable: this pins its exact key set,
// and that every component named is a real one (issue 10: two always-zero
// "component(14)" and "component(15)" entries leaked into every report).
func TestReportJSONKeySet(t *testing.T) {
	decoder := []string{"embedding", "qkv", "scores", "softmax", "av", "attn_out", "ffn_up", "gelu", "ffn_down", "layernorm", "logits", "loss"}
	for _, c := range []struct {
		preset string
		parts  []string
	}{
		{"gpt2", decoder},
		// ALBERT as published (no MLM head, so no logits or loss): the
		// factorized embedding's projection and the pooler.
		{"albert-base", append(slices.Clone(decoder[:10]), "embed_proj", "pooler")},
	} {
		s, err := Preset(c.preset)
		if err != nil {
			t.Fatal(err)
		}
		r, err := NewReport(s, Options{Seqs: []int{128}, Causal: true, Train: true})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := r.Write(&buf, "json", false); err != nil {
			t.Fatal(err)
		}
		var top map[string]json.RawMessage
		if err := json.Unmarshal(buf.Bytes(), &top); err != nil {
			t.Fatal(err)
		}
		top0 := []string{"model", "conventions", "params", "components", "per_seq", "per_layer", "crossover"}
		if s.Arch == Decoder { // a decoder's report has its inference (KV cache, decode) section
			top0 = append(top0, "inference")
		}
		if got, want := keysOf(t, buf.Bytes()), sorted(top0...); !slices.Equal(got, want) {
			t.Errorf("%s: top-level keys %v, want %v", c.preset, got, want)
		}
		var comps []string
		_ = json.Unmarshal(top["components"], &comps)
		if !slices.Equal(comps, c.parts) {
			t.Errorf("%s: components %v, want %v", c.preset, comps, c.parts)
		}
		var per []struct {
			Flops struct {
				Forward, Backward json.RawMessage
			} `json:"flops"`
		}
		var perRaw []json.RawMessage
		_ = json.Unmarshal(top["per_seq"], &per)
		_ = json.Unmarshal(top["per_seq"], &perRaw)
		want := sorted(append(slices.Clone(c.parts), "total")...)
		for _, pass := range []json.RawMessage{per[0].Flops.Forward, per[0].Flops.Backward} {
			if got := keysOf(t, pass); !slices.Equal(got, want) {
				t.Errorf("%s: flops keys %v, want %v", c.preset, got, want)
			}
		}
		if got, want := keysOf(t, perRaw[0]), sorted("seq", "batch", "beyond_context", "flops", "mha", "ffn", "attention_core",
			"mha_share", "ffn_share", "mha_ffn_ratio", "train", "memory", "per_token"); !slices.Equal(got, want) {
			t.Errorf("%s: per_seq keys %v, want %v", c.preset, got, want)
		}
		if got, want := keysOf(t, top["crossover"]), sorted("convention", "mha_equals_ffn", "attention_core_equals_ffn", "train", "other_convention", "matmul_only"); !slices.Equal(got, want) {
			t.Errorf("%s: crossover keys %v, want %v", c.preset, got, want)
		}

		buf.Reset()
		if err := r.Write(&buf, "csv", false); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		head := []string{"seq", "batch", "attention"}
		for _, pass := range []string{"forward", "backward"} {
			for _, p := range c.parts {
				head = append(head, pass+"_"+p)
			}
			head = append(head, pass+"_total")
		}
		head = append(head, "train_total", "mha", "ffn", "attention_core", "mha_share", "ffn_share", "mha_ffn_ratio",
			"mem_params", "mem_grads", "mem_adamw", "mem_activations", "mem_attention_lse", "mem_total", "mem_naive_attention_probs",
			"per_token_exact", "per_token_palm", "per_token_kaplan")
		if !slices.Equal(rows[0], head) {
			t.Errorf("%s: CSV header\n got %s\nwant %s", c.preset, strings.Join(rows[0], ","), strings.Join(head, ","))
		}
	}
}

// Every component has its own name, and the count of components is the
// engine's plus the pooler.
func TestComponentNames(t *testing.T) {
	seen := map[string]bool{}
	for c := Component(0); c < NumComponents; c++ {
		n := c.String()
		if strings.HasPrefix(n, "component(") || seen[n] {
			t.Errorf("component %d is named %q", int(c), n)
		}
		seen[n] = true
	}
	if Pooler != NumComponents-1 {
		t.Errorf("Pooler = %d, NumComponents = %d: a component without a name sits between them", Pooler, NumComponents)
	}
}

func TestLoadHFConfigDirectory(t *testing.T) {
	dir := t.TempDir()
	conf := `{"model_type": "gpt2", "n_embd": 64, "n_layer": 2, "n_head": 2, "n_positions": 32, "vocab_size": 100}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := LoadHFConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadHFConfig(filepath.Join(dir, "config.json"))
	if err != nil || a.Config != b.Config || a.Config.DModel != 64 {
		t.Fatalf("dir %+v, file %+v (%v)", a.Config, b.Config, err)
	}
	if _, err := LoadHFConfig(t.TempDir()); err == nil || !strings.Contains(err.Error(), "config.json") {
		t.Errorf("empty directory: %v", err)
	}
}

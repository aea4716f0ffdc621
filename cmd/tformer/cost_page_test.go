package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/tformer/tformer/cost"
	"github.com/tformer/tformer/model"
)

// `tformer cost --format json` prints cost.NewReport's report, field for
// field, for the settings the serve page's browser test
// (server/browser_test.go) checks the page against: so the page, the cost
// package and the command show the same numbers.
func TestCostJSONIsTheCostPackagesReport(t *testing.T) {
	const hfConfig = `{"model_type": "gpt2", "vocab_size": 1000, "n_embd": 256, "n_layer": 4, "n_head": 8, "n_positions": 512, "tie_word_embeddings": false}`
	cfgPath := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(cfgPath, []byte(hfConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	preset := func(name string, f func(*cost.Spec)) cost.Spec {
		s, err := cost.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		if f != nil {
			f(&s)
		}
		return s
	}
	hf, err := cost.ParseHFConfig([]byte(hfConfig))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args  []string
		spec  cost.Spec
		n     int
		train bool
	}{
		{[]string{"--preset", "gpt2"}, preset("gpt2", nil), 1024, false},
		{[]string{"--preset", "gpt2", "--no-tie"}, preset("gpt2", func(s *cost.Spec) { s.Config.Tie = false }), 1024, false},
		{[]string{"--preset", "gpt2", "--no-tie", "--share", "all", "--groups", "3"},
			preset("gpt2", func(s *cost.Spec) { s.Config.Tie, s.Config.Share, s.Config.Groups = false, model.ShareAll, 3 }), 300, false},
		{[]string{"--preset", "gpt2", "--share", "ffn", "--groups", "3", "--train"},
			preset("gpt2", func(s *cost.Spec) { s.Config.Share, s.Config.Groups = model.ShareFFN, 3 }), 2048, true},
		{[]string{"--preset", "bert-base"}, preset("bert-base", nil), 2048, false},
		{[]string{"--config", cfgPath}, hf, 1024, false},
	} {
		args := append(c.args, "--seq", strconv.Itoa(c.n), "--format", "json")
		out, err := runCost(t, args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		rep, err := cost.NewReport(c.spec, cost.Options{Seqs: []int{c.n}, Causal: c.spec.Arch == cost.Decoder, Train: c.train})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(rep)
		var got, w any
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%v: not JSON: %v", args, err)
		}
		_ = json.Unmarshal(want, &w)
		if !reflect.DeepEqual(got, w) {
			t.Errorf("%v: the command's JSON is not cost.NewReport's:\n%s\n%s", args, out, want)
		}
	}
}

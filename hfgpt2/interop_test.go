package hfgpt2

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/tformer/tformer/checkpoint"
	"github.com/tformer/tformer/llmc"
	"github.com/tformer/tformer/model"
)

// TestRoundTripAllFormats converts a tied model tformer -> Hugging Face ->
// llm.c -> tformer and checks that every parameter is bit-identical and the
// tie intact at every stage.
func TestRoundTripAllFormats(t *testing.T) {
	dir := t.TempDir()
	c := cfg(true, 64, model.ShareNone, 1)
	m := newModel(t, c, 11)
	ck := filepath.Join(dir, "start.safetensors")
	if err := checkpoint.Save(ck, &checkpoint.Checkpoint{Model: m}); err != nil {
		t.Fatal(err)
	}
	start, err := checkpoint.Load(ck)
	if err != nil {
		t.Fatal(err)
	}
	hf := filepath.Join(dir, "hf")
	if _, err := Save(hf, start.Model, nil, Options{}); err != nil {
		t.Fatal(err)
	}
	l, err := Load(hf)
	if err != nil {
		t.Fatal(err)
	}
	check := func(stage string, got *model.Model) {
		t.Helper()
		if got.Config != c || !got.Config.Tie {
			t.Fatalf("%s: config %+v, want %+v", stage, got.Config, c)
		}
		if _, ok := got.Layout.Lookup("lm_head"); ok {
			t.Fatalf("%s: the tie was broken (lm_head exists)", stage)
		}
		if !sameBits(got.Params, m.Params) {
			t.Fatalf("%s: parameters changed", stage)
		}
	}
	check("Hugging Face", l.Model)
	bin := filepath.Join(dir, "m.bin")
	if err := llmc.WriteCheckpoint(bin, l.Model, llmc.Options{}); err != nil {
		t.Fatal(err)
	}
	lm, _, err := llmc.ReadCheckpoint(bin)
	if err != nil {
		t.Fatal(err)
	}
	check("llm.c", lm)
	end := filepath.Join(dir, "end.safetensors")
	if err := checkpoint.Save(end, &checkpoint.Checkpoint{Model: lm}); err != nil {
		t.Fatal(err)
	}
	back, err := checkpoint.Load(end)
	if err != nil {
		t.Fatal(err)
	}
	check("tformer", back.Model)
	a, _ := os.ReadFile(ck)
	b, _ := os.ReadFile(end)
	if !bytes.Equal(a, b) {
		t.Error("the final tformer checkpoint differs from the first")
	}

	// An untied model survives tformer -> HF -> tformer with its own head.
	u := newModel(t, cfg(false, 40, model.ShareNone, 1), 12)
	if _, err := Save(filepath.Join(dir, "u"), u, nil, Options{}); err != nil {
		t.Fatal(err)
	}
	ul, err := Load(filepath.Join(dir, "u"))
	if err != nil {
		t.Fatal(err)
	}
	if ul.Model.Config != u.Config || !sameBits(ul.Model.Params, u.Params) {
		t.Error("untied round trip changed the model")
	}
}

// TestWrittenFixtures writes, from the reference's fixtures, the files that
// reference/interop_ref.py check reads back with its own readers and GPT-2
// (see reference/INTEROP.md), and checks that tformer still writes exactly
// the committed bytes. TFORMER_UPDATE_INTEROP=1 rewrites them.
func TestWrittenFixtures(t *testing.T) {
	out := filepath.Join(fixtures, "written")
	update := os.Getenv("TFORMER_UPDATE_INTEROP") == "1"
	tmp := t.TempDir()
	target := func(name string) string {
		if update {
			return filepath.Join(out, name)
		}
		return filepath.Join(tmp, name)
	}
	loadHF := func(name string) *model.Model {
		l, err := Load(filepath.Join(fixtures, name))
		if err != nil {
			t.Fatal(err)
		}
		return l.Model
	}
	loadLLMC := func(name string) *model.Model {
		m, _, err := llmc.ReadCheckpoint(filepath.Join(fixtures, name+".bin"))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if update {
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	type written struct {
		name  string
		files []string
	}
	var all []written
	saveHF := func(name string, m *model.Model) {
		if _, err := Save(target(name), m, nil, Options{}); err != nil {
			t.Fatal(err)
		}
		all = append(all, written{name, []string{ConfigFile, WeightsFile}})
	}
	saveLLMC := func(name string, m *model.Model) {
		if err := llmc.WriteCheckpoint(target(name), m, llmc.Options{}); err != nil {
			t.Fatal(err)
		}
		all = append(all, written{name, []string{""}})
	}
	tied := loadHF("hf_tied")
	saveHF("hf_tied", tied)
	saveHF("hf_untied", loadHF("hf_untied"))
	saveHF("hf_from_llmc_bf16", loadLLMC("llmc_bf16"))
	saveLLMC("llmc_from_hf_tied.bin", tied)
	saveLLMC("llmc_f32.bin", loadLLMC("llmc_f32"))
	if update {
		t.Logf("rewrote %s; now run: /usr/bin/python3 reference/interop_ref.py check testdata/interop", out)
		return
	}
	for _, w := range all {
		for _, f := range w.files {
			want, err := os.ReadFile(filepath.Join(out, w.name, f))
			if err != nil {
				t.Fatalf("%v (regenerate with TFORMER_UPDATE_INTEROP=1)", err)
			}
			got, err := os.ReadFile(filepath.Join(tmp, w.name, f))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s: tformer now writes different bytes than the committed file the reference checked; rerun with TFORMER_UPDATE_INTEROP=1 and the reference check", filepath.Join(w.name, f))
			}
		}
	}
}

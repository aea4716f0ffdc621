package hfbert

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/safetensors"
)

const fixtures = "../testdata/golden/hf"

// TestLoadMatchesReference loads the models reference/hf_encoder_ref.py
// wrote in Hugging Face's layouts and compares tformer's logits at every
// position (with the padding mask and token types) with the reference's.
func TestLoadMatchesReference(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tol    float64 // max|diff| / max|ref|
		typ    string
		notes  []string
		shared bool
	}{
		{"bert_tiny", 1e-4, "bert", nil, false},
		{"bert_tiny_untied", 1e-4, "bert", nil, false},
		{"bert_tiny_erf_pooler", 1e-4, "bert", []string{"ignored bert.pooler.dense.weight", "cls.seq_relationship.weight"}, false},
		{"albert_tiny", 1e-4, "albert", []string{"ignored albert.pooler.weight"}, true},
		{"albert_tiny_g1", 1e-4, "albert", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := Load(filepath.Join(fixtures, tc.name))
			if err != nil {
				t.Fatal(err)
			}
			c := l.Model.Config
			if l.Type != tc.typ || !c.IsEncoder() || (c.Share == model.ShareAll) != tc.shared {
				t.Errorf("loaded %s %+v", l.Type, c)
			}
			all := strings.Join(l.Notes, "; ")
			for _, n := range tc.notes {
				if !strings.Contains(all, n) {
					t.Errorf("notes lack %q: %s", n, all)
				}
			}
			f, err := safetensors.Read(filepath.Join(fixtures, tc.name, "expect.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			get := func(n string) safetensors.Tensor {
				x, ok := f.Get(n)
				if !ok {
					t.Fatalf("expect lacks %s", n)
				}
				return x
			}
			ids, _ := get("input_ids").Int32s()
			types, _ := get("token_type_ids").Int32s()
			mask, _ := get("attention_mask").Int32s()
			want, _ := get("logits").Float32s()
			b, T := get("input_ids").Shape[0], get("input_ids").Shape[1]
			lens := make([]int32, b)
			for r := 0; r < b; r++ {
				for i := 0; i < T; i++ {
					lens[r] += mask[r*T+i]
				}
			}
			if _, err := l.Model.ForwardMLM(model.MLMBatch{B: b, T: T, Tokens: ids, Types: types, Lengths: lens}); err != nil {
				t.Fatal(err)
			}
			got := l.Model.Logits()
			var maxRef, maxDiff float64
			for i := range want {
				maxRef = math.Max(maxRef, math.Abs(float64(want[i])))
				maxDiff = math.Max(maxDiff, math.Abs(float64(got[i]-want[i])))
			}
			if maxDiff > tc.tol*maxRef {
				t.Errorf("logits: max|diff| %.3g, max|ref| %.3g (relative %.3g > %g)", maxDiff, maxRef, maxDiff/maxRef, tc.tol)
			}
			t.Logf("relative max diff %.2g", maxDiff/maxRef)
		})
	}
}

func readFixture(t *testing.T, name string) (map[string]any, *safetensors.File) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name, ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	var conf map[string]any
	if err := json.Unmarshal(b, &conf); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Read(filepath.Join(fixtures, name, WeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	return conf, f
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		fixture string
		edit    func(conf map[string]any, f *safetensors.File)
		want    string
	}{
		{"albert_tiny", func(c map[string]any, _ *safetensors.File) { c["inner_group_num"] = 2 }, "inner_group_num 2 is not supported"},
		{"albert_tiny", func(c map[string]any, _ *safetensors.File) { c["embedding_size"] = 16 }, "embedding_size equals hidden_size"},
		{"albert_tiny", func(c map[string]any, _ *safetensors.File) { c["num_hidden_groups"] = 3 }, "num_hidden_groups 3 does not divide num_hidden_layers 4"},
		{"bert_tiny", func(c map[string]any, _ *safetensors.File) { c["hidden_act"] = "relu" }, `hidden_act "relu" is not supported`},
		{"bert_tiny", func(c map[string]any, _ *safetensors.File) { c["position_embedding_type"] = "relative_key" }, "position_embedding_type"},
		{"bert_tiny", func(c map[string]any, _ *safetensors.File) { c["model_type"] = "roberta" }, "not BERT or ALBERT"},
		{"bert_tiny", func(c map[string]any, _ *safetensors.File) { delete(c, "hidden_size") }, "missing hidden_size"},
		{"bert_tiny", func(c map[string]any, _ *safetensors.File) { c["num_attention_heads"] = 3 }, "heads (3) must divide d-model (16)"},
		{"bert_tiny", func(_ map[string]any, f *safetensors.File) { drop(f, "bert.encoder.layer.1.attention.self.key.weight") }, `"bert.encoder.layer.1.attention.self.key.weight" is missing`},
		{"bert_tiny", func(_ map[string]any, f *safetensors.File) {
			f.Tensors = append(f.Tensors, safetensors.FromFloat32("bert.encoder.layer.2.output.dense.weight", []int{1}, []float32{0}))
		}, `unexpected tensor "bert.encoder.layer.2.output.dense.weight"`},
		{"bert_tiny", func(c map[string]any, _ *safetensors.File) { c["intermediate_size"] = 41 }, "has shape [40x16], the config says [41x16]"},
		{"bert_tiny", func(_ map[string]any, f *safetensors.File) {
			for _, n := range []string{"cls.predictions.transform.dense.weight", "cls.predictions.transform.dense.bias"} {
				drop(f, n)
			}
		}, "no masked-LM head"},
		{"bert_tiny_untied", func(_ map[string]any, f *safetensors.File) { drop(f, "cls.predictions.decoder.weight") }, `"cls.predictions.decoder.weight" is missing`},
	} {
		conf, f := readFixture(t, tc.fixture)
		tc.edit(conf, f)
		b, _ := json.Marshal(conf)
		_, err := FromFiles(b, f)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want error containing %q, got %v", tc.want, err)
		}
	}
	if _, err := Load(filepath.Join(fixtures, "missing")); err == nil {
		t.Error("missing directory: no error")
	}
}

func drop(f *safetensors.File, name string) {
	for i, t := range f.Tensors {
		if t.Name == name {
			f.Tensors = append(f.Tensors[:i], f.Tensors[i+1:]...)
			return
		}
	}
	panic("no tensor " + name)
}

// A tied decoder that differs from the embeddings is replaced by them, as
// Hugging Face does, with a note.
func TestTiedDecoderDiffers(t *testing.T) {
	conf, f := readFixture(t, "albert_tiny")
	for i, tn := range f.Tensors {
		if tn.Name == "predictions.decoder.weight" {
			v, _ := tn.Float32s()
			v[0] += 1
			f.Tensors[i] = safetensors.FromFloat32(tn.Name, tn.Shape, v)
		}
	}
	b, _ := json.Marshal(conf)
	l, err := FromFiles(b, f)
	if err != nil {
		t.Fatal(err)
	}
	if !l.Model.Config.Tie || !strings.Contains(strings.Join(l.Notes, " "), "differs from the word embeddings") {
		t.Errorf("tie %v, notes %v", l.Model.Config.Tie, l.Notes)
	}
}

func TestDetect(t *testing.T) {
	if typ, err := Detect(filepath.Join(fixtures, "albert_tiny")); err != nil || typ != "albert" {
		t.Errorf("albert: %q %v", typ, err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, ConfigFile), []byte(`{"model_type":"gpt2"}`), 0o644)
	if _, err := Detect(dir); err != ErrNotEncoder {
		t.Errorf("gpt2: %v", err)
	}
}

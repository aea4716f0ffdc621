package hfbart

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/tformer/tformer/model"
)

// writtenDir holds directories Save wrote from models built here (not read
// from a BART directory), with the engine's logits on the fixture pairs
// (<name>.logits.json). reference/check_bart_written.py reads each as
// transformers defines BartConfig's fields and BART's tensors, runs its own
// PyTorch BART forward on them and must reproduce those logits (1e-5
// relative). This test keeps Save's output and the logits byte for byte
// what was checked; after a deliberate change, rewrite them with
// TFORMER_WRITE_GOLDEN=1 go test ./hfbart -run TestWrittenGolden and rerun
// the script.
const writtenDir = "../testdata/bart/written"

// writtenModels are the models of writtenDir: sharing (all layers, and
// between the stacks) expanded, tied, erf GELU; and untied with equal
// tables (tie_word_embeddings false), √d scale, ReLU, 4 heads.
func writtenModels(t *testing.T) map[string]*model.Model {
	t.Helper()
	a := tinyBART()
	a.Share, a.Groups, a.ShareStacks = model.ShareAll, 1, true
	b := tinyBART()
	b.Tying, b.Tie, b.EmbedScale, b.Activation, b.Heads = model.TieNone, false, true, model.ReLU, 4
	out := map[string]*model.Model{}
	for i, c := range map[string]model.Config{"shared_expanded": a, "untied_scaled_relu": b} {
		m := mustNew(t, c)
		m.Init(uint64(len(i)))
		if c.TyingMode() == model.TieNone {
			copy(m.Param("enc.wte"), m.Param("wte"))
		}
		// Init leaves the norms at 1 and 0 and the biases at 0: perturb
		// them so that the check sees each one; and its matrices are small
		// (std 0.02): scale them up so that attention is far from uniform.
		for _, ti := range m.Layout.Tensors {
			if len(ti.Shape) == 2 {
				for j := range m.Param(ti.Name) {
					m.Param(ti.Name)[j] *= 12
				}
			}
			if len(ti.Shape) == 1 {
				for j, p := range m.Param(ti.Name) {
					m.Param(ti.Name)[j] = p + 0.05*float32((j*7+len(ti.Name))%11-5)
				}
			}
		}
		out[i] = m
	}
	return out
}

func TestWrittenGolden(t *testing.T) {
	update := os.Getenv("TFORMER_WRITE_GOLDEN") == "1"
	e := readExpected(t, filepath.Join(fixtureDir, "bart_f32.expected.json"))
	for name, m := range writtenModels(t) {
		out := filepath.Join(t.TempDir(), name)
		if update {
			out = filepath.Join(writtenDir, name)
		}
		if _, err := Save(out, m, nil, Options{ExpandShared: true, IDs: &SpecialIDs{Pad: 1, BOS: 0, EOS: 2, DecoderStart: 2}}); err != nil {
			t.Fatal(err)
		}
		lj, err := json.Marshal(map[string]any{"src": e.Src, "src_lens": e.SrcLens, "tgt": e.Tgt, "logits": seq2seqLogits(t, m, e)})
		if err != nil {
			t.Fatal(err)
		}
		if update {
			if err := os.WriteFile(filepath.Join(writtenDir, name+".logits.json"), lj, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		for _, f := range []string{ConfigFile, WeightsFile} {
			got, err := os.ReadFile(filepath.Join(out, f))
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(writtenDir, name, f))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("%s/%s: Save writes %d bytes that differ from the checked %d (see the comment on writtenDir)", name, f, len(got), len(want))
			}
		}
		want, err := os.ReadFile(filepath.Join(writtenDir, name+".logits.json"))
		if err != nil {
			t.Fatal(err)
		}
		// Compared with a tolerance: the kernels' summation order may
		// differ between CPUs.
		var got, ref struct{ Logits []float64 }
		if err := json.Unmarshal(lj, &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(want, &ref); err != nil {
			t.Fatal(err)
		}
		if len(got.Logits) != len(ref.Logits) {
			t.Fatalf("%s: %d logits, checked %d", name, len(got.Logits), len(ref.Logits))
		}
		var worst, scale float64
		for i, w := range ref.Logits {
			worst, scale = math.Max(worst, math.Abs(got.Logits[i]-w)), math.Max(scale, math.Abs(w))
		}
		if worst > 1e-5*scale {
			t.Errorf("%s: the engine's logits differ from the checked ones by %.3g (max |logit| %.3g)", name, worst, scale)
		}
	}
}

package checkpoint

import (
	"path/filepath"
	"testing"

	"github.com/tformer/tformer/model"
)

// An encoder whose [MASK] is its tokenizer's (a Hugging Face BERT's) keeps
// that id through a checkpoint; one without it keeps the reserved last id.
func TestMaskTokenRoundTrip(t *testing.T) {
	c := model.Config{Arch: model.ArchEncoder, Vocab: 257, DModel: 8, Layers: 1, Heads: 2, DFF: 16, MaxSeq: 8, Tie: true, Share: model.ShareNone, Groups: 1}
	for _, cfg := range []model.Config{c, c.WithMask(4)} {
		m, err := model.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		m.Init(1)
		path := filepath.Join(t.TempDir(), "m.safetensors")
		if err := Save(path, &Checkpoint{Model: m, Tokenizer: "byte"}); err != nil {
			t.Fatal(err)
		}
		ck, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ck.Model.Config.MaskID(), cfg.MaskID(); got != want || ck.Model.Config.MaskReserved() != cfg.MaskReserved() {
			t.Errorf("MaskID %d (reserved %v) after the round trip, want %d (%v)", got, ck.Model.Config.MaskReserved(), want, cfg.MaskReserved())
		}
	}
}

package modelio

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/tformer/tformer/hfbart"
	"github.com/tformer/tformer/model"
)

// TestOpenBART: a BartForConditionalGeneration directory (given as the
// directory or its model.safetensors) opens as an encoder–decoder with its
// byte-level BPE and special ids; one without tokenizer files opens, but
// Load refuses it for want of a tokenizer.
func TestOpenBART(t *testing.T) {
	dir := filepath.Join("..", "testdata", "bart", "bart_f32")
	for _, p := range []string{dir, filepath.Join(dir, hfbart.WeightsFile)} {
		if f, err := Detect(p); err != nil || f != HF {
			t.Fatalf("Detect(%s) = %q, %v", p, f, err)
		}
		l, err := Load(p)
		if err != nil {
			t.Fatal(err)
		}
		c := l.Model.Config
		if !c.IsEncDec() || c.TyingMode() != model.TieAll || c.PosOffset != 2 || l.Format != HF || l.Detail != "bart, F32" || l.TokenizerName != "bpe" || l.Tokenizer.VocabSize() != 270 {
			t.Fatalf("%s: %+v, format %s, detail %q, tokenizer %q", p, c, l.Format, l.Detail, l.TokenizerName)
		}
		if l.Seq2SeqIDs == nil || *l.Seq2SeqIDs != (hfbart.SpecialIDs{Pad: 1, BOS: 0, EOS: 2, DecoderStart: 2}) {
			t.Fatalf("ids %+v", l.Seq2SeqIDs)
		}
		// The model decodes: the tokenizer's ids are the model's.
		src := append(append([]int32{l.Seq2SeqIDs.BOS}, l.Tokenizer.Encode([]byte(" the answer"))...), l.Seq2SeqIDs.EOS)
		if _, err := l.Model.Greedy(src, model.GenerateOptions{BOS: l.Seq2SeqIDs.DecoderStart, EOS: l.Seq2SeqIDs.EOS, MaxLen: 5}); err != nil {
			t.Fatal(err)
		}
	}
	bare := filepath.Join("..", "testdata", "bart", "bart_untied_relu_bf16")
	l, err := Open(bare)
	if err != nil || l.Tokenizer != nil || l.Detail != "bart, BF16" || l.Model.Config.TyingMode() != model.TieNone {
		t.Fatalf("Open(%s): %v, %+v", bare, err, l)
	}
	if _, err := Load(bare); !errors.Is(err, ErrNoTokenizer) {
		t.Fatalf("Load without tokenizer: %v", err)
	}
}

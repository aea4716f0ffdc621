package hfbart

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/tformer/tformer/tokenizer"
)

// TestBARTStyleVocabulary: BART's vocab.json is GPT-2's tokens under other
// ids (fairseq's dictionary order) after <s>, <pad>, </s>, <unk>, with
// <mask> last, beside GPT-2's merges.txt. Built here from GPT-2's files
// (renumbered in reverse, a hostile order), it loads as a byte-level BPE
// whose ids are GPT-2's renumbered, on varied text.
func TestBARTStyleVocabulary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 50,265-token vocabulary")
	}
	g, err := tokenizer.NewGPT2()
	if err != nil {
		t.Fatal(err)
	}
	var gv map[string]int32
	if err := json.Unmarshal(g.VocabJSON(), &gv); err != nil {
		t.Fatal(err)
	}
	n := int32(len(gv))
	bv := map[string]int32{"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
	for tok, id := range gv {
		bv[tok] = 4 + (n - 1 - id)
	}
	bv["<mask>"] = n + 4
	vj, err := json.Marshal(bv)
	if err != nil {
		t.Fatal(err)
	}
	b, err := tokenizer.LoadGPT2(vj, g.MergesTxt())
	if err != nil {
		t.Fatal(err)
	}
	if b.VocabSize() != 50262 {
		t.Fatalf("vocabulary %d", b.VocabSize())
	}
	if ids := tokenizerIDs(b); ids == nil || *ids != (SpecialIDs{Pad: 1, BOS: 0, EOS: 2, DecoderStart: 2}) {
		t.Fatalf("special ids %+v", ids)
	}
	for _, text := range []string{"Hello, world!", " the  quick\tbrown\n\nfox's 123 jumps", "naïve café — 日本語 🙂", "<s> is text here", "\x00\xff\xfe invalid"} {
		want := g.Encode([]byte(text))
		for i, id := range want {
			want[i] = 4 + (n - 1 - id)
		}
		if got := b.Encode([]byte(text)); !slices.Equal(got, want) {
			t.Errorf("%q: %v, want %v", text, got, want)
		}
		if got := b.Decode(b.Encode([]byte(text))); string(got) != text {
			t.Errorf("%q decodes to %q", text, got)
		}
	}
}

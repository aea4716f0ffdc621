package tokenizer

import (
	"slices"
	"testing"
)

func TestMaskTokenAndFrame(t *testing.T) {
	tok, err := LoadHF("../testdata/fillmask/tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := tok.MaskToken(); !ok || id != 4 {
		t.Errorf("MaskToken = %d %v, want 4", id, ok)
	}
	pre, suf := tok.Frame()
	if !slices.Equal(pre, []int32{2}) || !slices.Equal(suf, []int32{3}) {
		t.Errorf("Frame = %v %v, want [CLS]=2 before and [SEP]=3 after", pre, suf)
	}
	ids, _ := tok.EncodeSpecial([]byte("a b"), nil)
	if !slices.Equal(ids, append(append(pre, tok.Encode([]byte("a b"))...), suf...)) {
		t.Errorf("EncodeSpecial %v is not the frame around Encode", ids)
	}
}

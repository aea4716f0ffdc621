package tokenizer

import (
	"bytes"
	"os"
	"slices"
	"testing"
)

// TestByteTokenizerJSON: the tokenizer.json written for the byte tokenizer
// loads as a Hugging Face tokenizer that encodes every text, including
// invalid UTF-8 and every byte value, to the byte tokenizer's ids, and
// decodes them back. (testdata/hf/bytes holds the same file with the ids an
// independent implementation gives, checked by TestHFMatchesReference.)
func TestByteTokenizerJSON(t *testing.T) {
	tok, err := ParseHF(ByteTokenizerJSON(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() != 256 {
		t.Fatalf("vocab %d", tok.VocabSize())
	}
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	for _, text := range [][]byte{nil, []byte("Hello, world!\n"), []byte("  two  spaces\r\n\ttab"), []byte("héllo wörld 日本語 🙂"),
		{0xff, 0xfe, 0x80, 'a', 0xc3}, all} {
		got := tok.Encode(text)
		if want := (Byte{}).Encode(text); !slices.Equal(got, want) {
			t.Errorf("%q: ids %v, byte tokenizer %v", text, got, want)
		}
		if back := tok.Decode(got); !bytes.Equal(back, text) {
			t.Errorf("%q: decoded %q", text, back)
		}
	}
	if b, err := os.ReadFile("testdata/hf/bytes/tokenizer.json"); err == nil && !bytes.Equal(b, ByteTokenizerJSON()) {
		t.Error("testdata/hf/bytes/tokenizer.json is not ByteTokenizerJSON's output: regenerate it")
	}
}

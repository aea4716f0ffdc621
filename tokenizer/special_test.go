package tokenizer

import (
	"slices"
	"testing"
)

func TestSpecials(t *testing.T) {
	g, err := NewGPT2()
	if err != nil {
		t.Fatal(err)
	}
	sp := SpecialTokens(g)
	if e, ok := sp.Lookup("<|endoftext|>"); sp.Len() != 1 || !ok || e.ID != GPT2EndOfText {
		t.Fatalf("GPT-2 specials: %d, <|endoftext|> %+v", sp.Len(), e)
	}
	if id, ok := EndOfText(g); !ok || id != GPT2EndOfText {
		t.Errorf("EndOfText = %d, %v", id, ok)
	}
	if _, ok := EndOfText(Byte{}); ok || SpecialTokens(Byte{}) != nil {
		t.Error("the byte tokenizer has special tokens")
	}
	for _, c := range []struct {
		text  string
		parts []string // encoded separately, with <|endoftext|> between
	}{
		{"one doc.<|endoftext|>Another doc.", []string{"one doc.", "Another doc."}},
		{"<|endoftext|>", []string{"", ""}},
		{"a<|endoftext|><|endoftext|>b <|endof|> <|", []string{"a", "", "b <|endof|> <|"}},
		{"no specials <| here |>", []string{"no specials <| here |>"}},
	} {
		var want []int32
		for i, p := range c.parts {
			if i > 0 {
				want = append(want, GPT2EndOfText)
			}
			want = append(want, g.Encode([]byte(p))...)
		}
		got := EncodeSpecial(g, []byte(c.text), sp)
		if !slices.Equal(got, want) {
			t.Errorf("%q: %v, want %v", c.text, got, want)
		}
		if string(g.Decode(got)) != c.text {
			t.Errorf("%q does not round-trip: %q", c.text, g.Decode(got))
		}
	}
	// As text, <|endoftext|> is spelled out (the flag that keeps it text).
	if n := len(EncodeSpecial(g, []byte("<|endoftext|>"), nil)); n < 2 {
		t.Errorf("<|endoftext|> as text is %d token(s)", n)
	}
}

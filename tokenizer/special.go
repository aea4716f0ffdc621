package tokenizer

import "bytes"

// SpecialTokens returns the special tokens that EncodeSpecial matches in
// t's input, as one matcher (the type a tokenizer.json's added tokens use):
// for a byte-level BPE such as GPT-2's, every vocabulary entry written
// <|...|> (GPT-2 has one, <|endoftext|>, id 50256); for the byte tokenizer
// none (nil). An HF tokenizer matches its added tokens in Encode itself, so
// it needs none here. Plain Encode spells such text out byte by byte
// (<|endoftext|> is 9 GPT-2 tokens); EncodeSpecial turns it into the one id.
func SpecialTokens(t Tokenizer) *Specials {
	g, ok := t.(*GPT2)
	if !ok {
		return nil
	}
	var sp []Special
	for id := range g.VocabSize() {
		b, ok := g.Token(int32(id))
		if ok && len(b) > 4 && bytes.HasPrefix(b, []byte("<|")) && bytes.HasSuffix(b, []byte("|>")) {
			sp = append(sp, Special{Content: string(b), ID: int32(id)})
		}
	}
	return NewSpecials(sp)
}

// EndOfText returns the id of t's end-of-text token (<|endoftext|>, or a
// tokenizer.json's EOS), and false when t has none.
func EndOfText(t Tokenizer) (int32, bool) {
	if h, ok := t.(*HF); ok { // a tokenizer.json names its own EOS
		return h.EOS()
	}
	s, ok := SpecialTokens(t).Lookup("<|endoftext|>")
	return s.ID, ok
}

// EncodeSpecial encodes text as t.Encode does, except that each match of a
// special token of sp (leftmost, longest first) becomes that token's id;
// the text between them is encoded on its own, as if it were a separate
// document. With no specials (sp nil or empty) it is t.Encode.
func EncodeSpecial(t Tokenizer, text []byte, sp *Specials) []int32 {
	if sp.Len() == 0 {
		return t.Encode(text)
	}
	var out []int32
	sp.Split(text, func(piece []byte, id int32) {
		if id >= 0 {
			out = append(out, id)
			return
		}
		out = append(out, t.Encode(piece)...)
	})
	return out
}

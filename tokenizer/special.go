package tokenizer

import (
	"bytes"
	"sort"
)

// SpecialTokens returns the special tokens of t by their text: for a byte-level
// BPE such as GPT-2's, every vocabulary entry written <|...|> (GPT-2 has
// one, <|endoftext|>, id 50256); the byte tokenizer has none. Plain Encode
// spells such text out byte by byte (<|endoftext|> is 9 GPT-2 tokens);
// EncodeSpecial turns it into the one id.
func SpecialTokens(t Tokenizer) map[string]int32 {
	g, ok := t.(*GPT2)
	if !ok {
		return nil
	}
	out := map[string]int32{}
	for id := range g.VocabSize() {
		b, ok := g.Token(int32(id))
		if ok && len(b) > 4 && bytes.HasPrefix(b, []byte("<|")) && bytes.HasSuffix(b, []byte("|>")) {
			out[string(b)] = int32(id)
		}
	}
	return out
}

// EndOfText returns the id of t's end-of-text token (<|endoftext|>, or a
// tokenizer.json's EOS), and false when t has none.
func EndOfText(t Tokenizer) (int32, bool) {
	if h, ok := t.(*HF); ok { // a tokenizer.json names its own EOS
		return h.EOS()
	}
	id, ok := SpecialTokens(t)["<|endoftext|>"]
	return id, ok
}

// EncodeSpecial encodes text as t.Encode does, except that each occurrence
// of a special token's text becomes that token's id; the text between them
// is encoded on its own, as if it were a separate document. With no
// specials it is t.Encode.
func EncodeSpecial(t Tokenizer, text []byte, specials map[string]int32) []int32 {
	if len(specials) == 0 {
		return t.Encode(text)
	}
	keys := make([]string, 0, len(specials))
	for k := range specials {
		keys = append(keys, k)
	}
	// The longest match first, so one special that prefixes another loses.
	sort.Slice(keys, func(i, j int) bool {
		return len(keys[i]) > len(keys[j]) || len(keys[i]) == len(keys[j]) && keys[i] < keys[j]
	})
	var out []int32
	start := 0
	for i := 0; i < len(text); {
		j := bytes.Index(text[i:], []byte("<|"))
		if j < 0 {
			break
		}
		i += j
		matched := ""
		for _, k := range keys {
			if bytes.HasPrefix(text[i:], []byte(k)) {
				matched = k
				break
			}
		}
		if matched == "" {
			i += 2
			continue
		}
		if i > start {
			out = append(out, t.Encode(text[start:i])...)
		}
		out = append(out, specials[matched])
		i += len(matched)
		start = i
	}
	if start < len(text) {
		out = append(out, t.Encode(text[start:])...)
	}
	return out
}

package tokenizer

import (
	"sort"
	"unicode"
	"unicode/utf8"
)

// Special is a token matched in the text as a whole before any other
// tokenization, as Hugging Face's added tokens are (<|endoftext|>, [CLS],
// <s>, <|begin_of_text|>, ...).
type Special struct {
	Content string // the text that stands for the token
	ID      int32  // its id
	// LStrip and RStrip make the match take the whitespace to its left
	// (right) with it, so that it is encoded as part of the token.
	LStrip, RStrip bool
	// SingleWord restricts matches to those not preceded or followed by a
	// word character (a letter, number or '_').
	SingleWord bool
}

// Specials finds special tokens in text: the leftmost match first, and of
// the matches starting there the longest, as Hugging Face's added-token
// matcher does. The zero value and nil match nothing. A Specials is
// read-only once built and safe for concurrent use.
//
// A tokenizer whose Encode must honour special tokens in its input (GPT-2's
// <|endoftext|> for instance) splits the text with Split and encodes only
// the plain pieces:
//
//	sp := NewSpecials([]Special{{Content: "<|endoftext|>", ID: GPT2EndOfText}})
//	sp.Split(text, func(piece []byte, id int32) {
//		if id >= 0 { ids = append(ids, id) } else { ids = append(ids, tok.Encode(piece)...) }
//	})
type Specials struct {
	byFirst [256][]int // indices into tokens by first byte, longest first
	tokens  []Special
}

// NewSpecials returns a matcher for tokens. Tokens with empty Content are
// ignored; of two with the same Content the first is kept.
func NewSpecials(tokens []Special) *Specials {
	s := &Specials{}
	seen := map[string]bool{}
	for _, t := range tokens {
		if t.Content == "" || seen[t.Content] {
			continue
		}
		seen[t.Content] = true
		s.tokens = append(s.tokens, t)
	}
	for i, t := range s.tokens {
		c := t.Content[0]
		s.byFirst[c] = append(s.byFirst[c], i)
	}
	for c := range s.byFirst {
		l := s.byFirst[c]
		sort.SliceStable(l, func(a, b int) bool { return len(s.tokens[l[a]].Content) > len(s.tokens[l[b]].Content) })
	}
	return s
}

// Len returns the number of tokens s matches.
func (s *Specials) Len() int {
	if s == nil {
		return 0
	}
	return len(s.tokens)
}

// Lookup returns the special token whose content is exactly text.
func (s *Specials) Lookup(text string) (Special, bool) {
	if s == nil || text == "" {
		return Special{}, false
	}
	for _, i := range s.byFirst[text[0]] {
		if s.tokens[i].Content == text {
			return s.tokens[i], true
		}
	}
	return Special{}, false
}

// Split cuts text into special tokens and the plain text between them,
// calling emit for each piece in order: with the token's id for a special
// token, with -1 for plain text. Plain pieces are never empty. Whitespace
// that a token's LStrip or RStrip takes is dropped from the plain pieces.
func (s *Specials) Split(text []byte, emit func(piece []byte, id int32)) {
	s.spans(string(text), func(start, end int, id int32) { emit(text[start:end:end], id) })
}

// spans is Split on a string, reporting the byte range of each piece.
func (s *Specials) spans(text string, emit func(start, end int, id int32)) {
	start := 0 // start of the pending plain text
	i := 0
	for s != nil && len(s.tokens) > 0 && i < len(text) {
		t, ok := s.matchAt(text, i)
		if !ok {
			i++
			continue
		}
		end := i + len(t.Content)
		if t.SingleWord && (wordBefore(text, i) || wordAfter(text, end)) {
			// Hugging Face drops such a match; the search goes on after it.
			i = end
			continue
		}
		plainEnd := i
		if t.LStrip {
			for plainEnd > start {
				r, size := utf8.DecodeLastRuneInString(text[start:plainEnd])
				if !unicode.IsSpace(r) {
					break
				}
				plainEnd -= size
			}
		}
		if plainEnd > start {
			emit(start, plainEnd, -1)
		}
		emit(i, end, t.ID)
		if t.RStrip {
			for end < len(text) {
				r, size := utf8.DecodeRuneInString(text[end:])
				if !unicode.IsSpace(r) {
					break
				}
				end += size
			}
		}
		start, i = end, end
	}
	if start < len(text) {
		emit(start, len(text), -1)
	}
}

// matchAt returns the longest token that text[i:] starts with.
func (s *Specials) matchAt(text string, i int) (Special, bool) {
	for _, k := range s.byFirst[text[i]] {
		c := s.tokens[k].Content
		if len(c) <= len(text)-i && text[i:i+len(c)] == c {
			return s.tokens[k], true
		}
	}
	return Special{}, false
}

func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r)
}

func wordBefore(text string, i int) bool {
	if i == 0 {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(text[:i])
	return isWordRune(r)
}

func wordAfter(text string, i int) bool {
	if i >= len(text) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(text[i:])
	return isWordRune(r)
}

package tokenizer

import "fmt"

// The split patterns of the tokenizer.json files this package reads. Go's
// regexp has no look-ahead, which \s+(?!\S) needs, so each is matched by
// hand-written code (pretokenize for GPT-2's, splitLlama3 for the other two)
// that makes the choices a backtracking engine makes: at each position the
// first alternative that matches wins, each quantifier as greedy as the rest
// of its alternative allows.
const (
	// PatternGPT2 is GPT-2's pattern (also the ByteLevel pre-tokenizer's
	// built-in one, and SmolLM2's).
	PatternGPT2 = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
	// PatternLlama3 is Llama 3's pattern (tiktoken's cl100k_base).
	PatternLlama3 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// PatternQwen2 is Qwen2's pattern: Llama 3's with single digits.
	PatternQwen2 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// splitter cuts text into the consecutive matches of a pattern that matches
// every non-empty text somewhere at every position (so the matches cover the
// text), calling emit with each.
type splitter func(text []byte, emit func([]byte))

// patternSplitter returns the hand-written matcher of a known pattern.
func patternSplitter(pattern string) (splitter, error) {
	switch pattern {
	case PatternGPT2:
		return pretokenize, nil
	case PatternLlama3:
		return func(t []byte, emit func([]byte)) { splitLlama3(t, 3, emit) }, nil
	case PatternQwen2:
		return func(t []byte, emit func([]byte)) { splitLlama3(t, 1, emit) }, nil
	}
	return nil, fmt.Errorf("regex %q is not one this package implements (it knows GPT-2's, Llama 3's and Qwen2's split patterns; Go's regexp cannot run such patterns as they are)", pattern)
}

// contraction returns the length of the contraction that text[j:] starts
// with, matched without regard to case as (?i:s|t|re|ve|m|ll|d) is, or 0.
// Case folding is Unicode's simple folding as Oniguruma applies it, under
// which U+017F (ſ) also matches s.
func contraction(text []byte, j int) int {
	if j >= len(text) {
		return 0
	}
	lower := func(c byte) byte { return c | 0x20 }
	switch lower(text[j]) {
	case 's', 't', 'm', 'd':
		if c := text[j]; c == 's' || c == 'S' || c == 't' || c == 'T' || c == 'm' || c == 'M' || c == 'd' || c == 'D' {
			return 1
		}
	case 'r', 'v', 'l':
		c := text[j]
		if !(c == 'r' || c == 'R' || c == 'v' || c == 'V' || c == 'l' || c == 'L') || j+1 >= len(text) {
			return 0
		}
		d := text[j+1]
		switch {
		case (c|0x20 == 'r' || c|0x20 == 'v') && (d == 'e' || d == 'E'):
			return 2
		case c|0x20 == 'l' && (d == 'l' || d == 'L'):
			return 2
		}
		return 0
	}
	if text[j] == 0xC5 && j+1 < len(text) && text[j+1] == 0xBF { // ſ
		return 2
	}
	return 0
}

// splitLlama3 cuts text as the pattern
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,D}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// does, with D = maxDigits (3 for Llama 3, 1 for Qwen2). Bytes that are
// not valid UTF-8 are classed as U+FFFD is (neither space, letter nor
// number), as in pretokenize.
func splitLlama3(text []byte, maxDigits int, emit func([]byte)) {
	n := len(text)
	run := func(from, cls int) int { // end of the run of class cls from from
		for from < n {
			c, s := classAt(text, from)
			if c != cls {
				break
			}
			from += s
		}
		return from
	}
	i := 0
	for i < n {
		// (?i:'s|'t|'re|'ve|'m|'ll|'d)
		if text[i] == '\'' {
			if l := contraction(text, i+1); l > 0 {
				emit(text[i : i+1+l])
				i += 1 + l
				continue
			}
		}
		cls, size := classAt(text, i)
		// [^\r\n\p{L}\p{N}]?\p{L}+
		if cls == clsLetter {
			end := run(i, clsLetter)
			emit(text[i:end])
			i = end
			continue
		}
		if cls != clsNumber && text[i] != '\r' && text[i] != '\n' && i+size < n {
			if c, _ := classAt(text, i+size); c == clsLetter {
				end := run(i+size, clsLetter)
				emit(text[i:end])
				i = end
				continue
			}
		}
		// \p{N}{1,D}
		if cls == clsNumber {
			end := i
			for k := 0; k < maxDigits && end < n; k++ {
				c, s := classAt(text, end)
				if c != clsNumber {
					break
				}
				end += s
			}
			emit(text[i:end])
			i = end
			continue
		}
		// " ?[^\s\p{L}\p{N}]+[\r\n]*"
		j := i
		if text[i] == ' ' && i+1 < n {
			if c, _ := classAt(text, i+1); c == clsOther {
				j = i + 1
			}
		}
		if c, _ := classAt(text, j); c == clsOther {
			end := run(j, clsOther)
			for end < n && (text[end] == '\r' || text[end] == '\n') {
				end++
			}
			emit(text[i:end])
			i = end
			continue
		}
		// text[i] is whitespace. Find its run, the start of its last
		// character and its last \r or \n.
		end, last, nl := i, i, -1
		for end < n {
			c, s := classAt(text, end)
			if c != clsSpace {
				break
			}
			if text[end] == '\r' || text[end] == '\n' {
				nl = end
			}
			last = end
			end += s
		}
		switch {
		case nl >= 0:
			// \s*[\r\n]+: \s* gives back characters until [\r\n]+ can
			// match, at the run's last line break, which ends the match.
			end = nl + 1
		case end < n && last > i:
			// \s+(?!\S) before a non-space: all but the last character.
		default:
			// \s+(?!\S) at the end of the text, or \s+ (one character
			// before a non-space): the whole run.
			last = end
		}
		if nl < 0 {
			end = last
		}
		emit(text[i:end])
		i = end
	}
}

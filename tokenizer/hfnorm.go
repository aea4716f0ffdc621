package tokenizer

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// normalizer rewrites a section of text before pre-tokenization.
type normalizer func(string) string

// component is the part of a tokenizer.json component every kind has.
type component struct {
	Type string `json:"type"`
}

// componentType reads the "type" of a component at path.
func componentType(raw json.RawMessage, path string) (string, error) {
	var c component
	if err := json.Unmarshal(raw, &c); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if c.Type == "" {
		return "", fmt.Errorf("%s: no \"type\"", path)
	}
	return c.Type, nil
}

func isNull(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "null"
}

// hfPattern is a {"String": ...} or {"Regex": ...} pattern.
type hfPattern struct {
	String *string `json:"String"`
	Regex  *string `json:"Regex"`
}

// simpleRegex compiles a Replace pattern's regex when Go's regexp gives it
// the meaning Oniguruma does: no look-around or other (?...) groups and no
// escapes whose classes differ (\s \w \d \b and their negations, which are
// ASCII in Go and Unicode in Oniguruma).
func simpleRegex(p string, path string) (*regexp.Regexp, error) {
	for i := 0; i+1 < len(p); i++ {
		if p[i] == '\\' {
			if strings.IndexByte("sSwWdDbBhHpP", p[i+1]) >= 0 {
				return nil, fmt.Errorf("%s: regex %q uses \\%c, which this package does not translate", path, p, p[i+1])
			}
			i++
		}
	}
	if strings.Contains(p, "(?") {
		return nil, fmt.Errorf("%s: regex %q has a (?...) group, which this package does not translate", path, p)
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, fmt.Errorf("%s: regex %q: %w", path, p, err)
	}
	return re, nil
}

// replacer returns a function replacing every match of pattern by content.
func replacer(pat hfPattern, content, path string) (func(string) string, error) {
	switch {
	case pat.String != nil:
		old := *pat.String
		if old == "" {
			return func(s string) string { return s }, nil
		}
		return func(s string) string { return strings.ReplaceAll(s, old, content) }, nil
	case pat.Regex != nil:
		re, err := simpleRegex(*pat.Regex, path+".pattern.Regex")
		if err != nil {
			return nil, err
		}
		return func(s string) string { return re.ReplaceAllLiteralString(s, content) }, nil
	}
	return nil, fmt.Errorf("%s.pattern: neither String nor Regex", path)
}

// parseNormalizer builds the normalizer at path; nil for JSON null.
func parseNormalizer(raw json.RawMessage, path string) (normalizer, error) {
	if isNull(raw) {
		return nil, nil
	}
	typ, err := componentType(raw, path)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "Sequence":
		all, err := parseSequence(raw, path, "normalizers", parseNormalizer)
		if err != nil {
			return nil, err
		}
		var seq []normalizer
		for _, n := range all {
			if n != nil {
				seq = append(seq, n)
			}
		}
		return func(s string) string {
			for _, n := range seq {
				s = n(s)
			}
			return s
		}, nil
	case "NFC":
		return norm.NFC.String, nil
	case "NFD":
		return norm.NFD.String, nil
	case "NFKC":
		return norm.NFKC.String, nil
	case "NFKD":
		return norm.NFKD.String, nil
	case "Lowercase":
		return lowerFull, nil
	case "StripAccents":
		// Drops every mark (General_Category M), as Hugging Face's
		// StripAccents does; it is meant to follow NFD or NFKD.
		return func(s string) string { return dropRunes(s, isMark) }, nil
	case "Strip":
		var c struct {
			Left  bool `json:"strip_left"`
			Right bool `json:"strip_right"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return func(s string) string {
			if c.Left {
				s = strings.TrimLeftFunc(s, unicode.IsSpace)
			}
			if c.Right {
				s = strings.TrimRightFunc(s, unicode.IsSpace)
			}
			return s
		}, nil
	case "Prepend":
		var c struct {
			Prepend string `json:"prepend"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return func(s string) string {
			if s == "" {
				return s
			}
			return c.Prepend + s
		}, nil
	case "Replace":
		var c struct {
			Pattern hfPattern `json:"pattern"`
			Content string    `json:"content"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		f, err := replacer(c.Pattern, c.Content, path)
		if err != nil {
			return nil, err
		}
		return f, nil
	case "Precompiled":
		return parsePrecompiled(raw, path)
	case "BertNormalizer":
		var c struct {
			CleanText    *bool `json:"clean_text"`
			Chinese      *bool `json:"handle_chinese_chars"`
			StripAccents *bool `json:"strip_accents"`
			Lowercase    *bool `json:"lowercase"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		def := func(b *bool, d bool) bool {
			if b == nil {
				return d
			}
			return *b
		}
		b := bertNormalizer{
			clean:   def(c.CleanText, true),
			chinese: def(c.Chinese, true),
			lower:   def(c.Lowercase, true),
		}
		b.strip = def(c.StripAccents, b.lower)
		return b.normalize, nil
	}
	return nil, fmt.Errorf("%s.type: normalizer %q is not supported (supported: Sequence, NFC, NFD, NFKC, NFKD, Lowercase, StripAccents, Strip, Prepend, Replace, BertNormalizer, Precompiled)", path, typ)
}

// bertNormalizer is BERT's text cleanup: control characters removed and
// whitespace made spaces, CJK ideographs padded with spaces, accents
// (non-spacing marks after NFD) stripped, text lower-cased.
type bertNormalizer struct{ clean, chinese, strip, lower bool }

func (b bertNormalizer) normalize(s string) string {
	if b.clean {
		var sb strings.Builder
		for _, r := range s {
			switch {
			case r == 0 || r == utf8.RuneError || isBertControl(r):
			case r == '\t' || r == '\n' || r == '\r' || unicode.IsSpace(r):
				sb.WriteByte(' ')
			default:
				sb.WriteRune(r)
			}
		}
		s = sb.String()
	}
	if b.chinese {
		var sb strings.Builder
		for _, r := range s {
			if isCJK(r) {
				sb.WriteByte(' ')
				sb.WriteRune(r)
				sb.WriteByte(' ')
			} else {
				sb.WriteRune(r)
			}
		}
		s = sb.String()
	}
	if b.strip {
		s = dropRunes(norm.NFD.String(s), func(r rune) bool { return unicode.Is(unicode.Mn, r) })
	}
	if b.lower {
		s = lowerFull(s)
	}
	return s
}

// isBertControl reports the characters BERT's cleanup deletes: the
// categories Cc, Cf, Co and Cs other than tab, newline and carriage return.
func isBertControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs)
}

// isCJK reports the CJK ideograph blocks BERT pads with spaces.
func isCJK(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) || (r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) || (r >= 0x2B820 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) || (r >= 0x2F800 && r <= 0x2FA1F)
}

func isMark(r rune) bool { return unicode.In(r, unicode.Mn, unicode.Mc, unicode.Me) }

func dropRunes(s string, drop func(rune) bool) string {
	var sb strings.Builder
	for _, r := range s {
		if !drop(r) {
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

// lowerFull lower-cases s by Unicode's full mapping, as Rust's and
// JavaScript's string lower-casing do: U+0130 becomes "i̇" (two
// characters) and a capital sigma that ends a word becomes ς. Go's
// unicode.ToLower covers the other (single-character) mappings.
func lowerFull(s string) string {
	var sb strings.Builder
	sb.Grow(len(s))
	for i, r := range s {
		switch {
		case r == 0x130:
			sb.WriteString("i\u0307")
		case r == 0x3A3:
			if finalSigma(s, i) {
				sb.WriteRune(0x3C2)
			} else {
				sb.WriteRune(0x3C3)
			}
		default:
			sb.WriteRune(unicode.ToLower(r))
		}
	}
	return sb.String()
}

// finalSigma applies Unicode's Final_Sigma condition to the Σ at s[i]: a
// cased letter before it and none after it, skipping case-ignorable
// characters both ways.
func finalSigma(s string, i int) bool {
	before := false
	for j := i; j > 0; {
		r, size := utf8.DecodeLastRuneInString(s[:j])
		j -= size
		if caseIgnorable(r) {
			continue
		}
		before = isCased(r)
		break
	}
	if !before {
		return false
	}
	for j := i + 2; j < len(s); {
		r, size := utf8.DecodeRuneInString(s[j:])
		j += size
		if caseIgnorable(r) {
			continue
		}
		return !isCased(r)
	}
	return true
}

func isCased(r rune) bool {
	return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) ||
		unicode.Is(unicode.Other_Lowercase, r) || unicode.Is(unicode.Other_Uppercase, r)
}

func caseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', '^', '`', 0xB7, 0x2018, 0x2019, 0x2024, 0xFE52, 0xFF07, 0xFF0E, 0x387, 0x5F4, 0x2027, 0xFE13, 0xFE55, 0xFF1A:
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}

// parseSequence parses the list under key of a Sequence component at path,
// each element with parse (a JSON null element gives parse's nil, which the
// caller drops). Normalizers, pre-tokenizers and decoders share it.
func parseSequence[T any](raw json.RawMessage, path, key string, parse func(json.RawMessage, string) (T, error)) ([]T, error) {
	var c map[string]json.RawMessage
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var elems []json.RawMessage
	if r, ok := c[key]; ok && !isNull(r) {
		if err := json.Unmarshal(r, &elems); err != nil {
			return nil, fmt.Errorf("%s.%s: %w", path, key, err)
		}
	}
	var out []T
	for i, r := range elems {
		v, err := parse(r, fmt.Sprintf("%s.%s[%d]", path, key, i))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// piece is a pre-token; first marks the one that starts the text, which
// Metaspace's prepend_scheme "first" treats differently.
type piece struct {
	s     string
	first bool
}

// preTokenizer splits pre-tokens further.
type preTokenizer func([]piece) []piece

// splitRule is how a split keeps the delimiters it finds.
type splitRule int

const (
	splitIsolated splitRule = iota
	splitRemoved
	splitMergedWithPrevious
	splitMergedWithNext
	splitContiguous
)

func parseSplitRule(s, path string) (splitRule, error) {
	switch s {
	case "Isolated":
		return splitIsolated, nil
	case "Removed":
		return splitRemoved, nil
	case "MergedWithPrevious":
		return splitMergedWithPrevious, nil
	case "MergedWithNext":
		return splitMergedWithNext, nil
	case "Contiguous":
		return splitContiguous, nil
	}
	return 0, fmt.Errorf("%s: split behavior %q is not known", path, s)
}

// applySplit cuts p at the delimiter spans (sorted, disjoint, non-empty)
// by rule, appending the parts to out.
func applySplit(out []piece, p piece, spans [][2]int, rule splitRule) []piece {
	s := p.s
	add := func(a, b int) {
		if b > a {
			out = append(out, piece{s[a:b], p.first && a == 0})
		}
	}
	switch rule {
	case splitIsolated, splitRemoved:
		prev := 0
		for _, sp := range spans {
			add(prev, sp[0])
			if rule == splitIsolated {
				add(sp[0], sp[1])
			}
			prev = sp[1]
		}
		add(prev, len(s))
	case splitMergedWithPrevious:
		prev := 0
		for _, sp := range spans {
			add(prev, sp[1])
			prev = sp[1]
		}
		add(prev, len(s))
	case splitMergedWithNext:
		prev := 0
		for _, sp := range spans {
			add(prev, sp[0])
			prev = sp[0]
		}
		add(prev, len(s))
	case splitContiguous:
		prev := 0
		for k := 0; k < len(spans); {
			a, b := spans[k][0], spans[k][1]
			for k++; k < len(spans) && spans[k][0] == b; k++ {
				b = spans[k][1]
			}
			add(prev, a)
			add(a, b)
			prev = b
		}
		add(prev, len(s))
	}
	return out
}

// runeSpans returns the spans of the characters of s for which is holds.
func runeSpans(s string, is func(rune) bool) [][2]int {
	var spans [][2]int
	for i, r := range s {
		if is(r) {
			spans = append(spans, [2]int{i, i + utf8.RuneLen(r)})
		}
	}
	return spans
}

func splitBy(is func(rune) bool, rule splitRule) preTokenizer {
	return func(in []piece) []piece {
		var out []piece
		for _, p := range in {
			out = applySplit(out, p, runeSpans(p.s, is), rule)
		}
		return out
	}
}

// isBertPunct is BERT's punctuation: ASCII symbols and Unicode P*.
func isBertPunct(r rune) bool {
	if (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126) {
		return true
	}
	return unicode.IsPunct(r)
}

// parsePreTokenizer builds the pre-tokenizer at path; nil for JSON null.
// byteLevel is set when a ByteLevel step maps the pieces to GPT-2's byte
// alphabet.
func parsePreTokenizer(raw json.RawMessage, path string, byteLevel *bool) (preTokenizer, error) {
	if isNull(raw) {
		return nil, nil
	}
	typ, err := componentType(raw, path)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "Sequence":
		all, err := parseSequence(raw, path, "pretokenizers", func(r json.RawMessage, at string) (preTokenizer, error) {
			return parsePreTokenizer(r, at, byteLevel)
		})
		if err != nil {
			return nil, err
		}
		var seq []preTokenizer
		for _, p := range all {
			if p != nil {
				seq = append(seq, p)
			}
		}
		return func(in []piece) []piece {
			for _, p := range seq {
				in = p(in)
			}
			return in
		}, nil
	case "ByteLevel":
		var c struct {
			AddPrefixSpace bool  `json:"add_prefix_space"`
			UseRegex       *bool `json:"use_regex"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		*byteLevel = true
		useRegex := c.UseRegex == nil || *c.UseRegex
		return func(in []piece) []piece {
			var out []piece
			for _, p := range in {
				s := p.s
				if c.AddPrefixSpace && !strings.HasPrefix(s, " ") {
					s = " " + s
				}
				if !useRegex {
					out = append(out, piece{unitsOf([]byte(s)), p.first})
					continue
				}
				first := p.first
				pretokenize([]byte(s), func(b []byte) {
					out = append(out, piece{unitsOf(b), first})
					first = false
				})
			}
			return out
		}, nil
	case "Split":
		var c struct {
			Pattern  hfPattern `json:"pattern"`
			Behavior string    `json:"behavior"`
			Invert   bool      `json:"invert"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		rule, err := parseSplitRule(c.Behavior, path+".behavior")
		if err != nil {
			return nil, err
		}
		if c.Invert {
			return nil, fmt.Errorf("%s.invert: true is not supported", path)
		}
		var find func(s string) [][2]int
		switch {
		case c.Pattern.String != nil:
			lit := *c.Pattern.String
			if lit == "" {
				return nil, fmt.Errorf("%s.pattern.String: empty", path)
			}
			find = func(s string) [][2]int {
				var spans [][2]int
				for i := 0; ; {
					k := strings.Index(s[i:], lit)
					if k < 0 {
						return spans
					}
					spans = append(spans, [2]int{i + k, i + k + len(lit)})
					i += k + len(lit)
				}
			}
		case c.Pattern.Regex != nil:
			sp, err := patternSplitter(*c.Pattern.Regex)
			if err != nil {
				return nil, fmt.Errorf("%s.pattern.Regex: %w", path, err)
			}
			find = func(s string) [][2]int {
				var spans [][2]int
				off := 0
				sp([]byte(s), func(b []byte) {
					spans = append(spans, [2]int{off, off + len(b)})
					off += len(b)
				})
				return spans
			}
		default:
			return nil, fmt.Errorf("%s.pattern: neither String nor Regex", path)
		}
		return func(in []piece) []piece {
			var out []piece
			for _, p := range in {
				out = applySplit(out, p, find(p.s), rule)
			}
			return out
		}, nil
	case "Metaspace":
		m, err := parseMetaspace(raw, path)
		if err != nil {
			return nil, err
		}
		return m.pre, nil
	case "WhitespaceSplit":
		return splitBy(unicode.IsSpace, splitRemoved), nil
	case "BertPreTokenizer":
		ws := splitBy(unicode.IsSpace, splitRemoved)
		punct := splitBy(isBertPunct, splitIsolated)
		return func(in []piece) []piece { return punct(ws(in)) }, nil
	case "Digits":
		var c struct {
			Individual bool `json:"individual_digits"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		rule := splitContiguous
		if c.Individual {
			rule = splitIsolated
		}
		return splitBy(func(r rune) bool { return r >= '0' && r <= '9' }, rule), nil
	}
	return nil, fmt.Errorf("%s.type: pre-tokenizer %q is not supported (supported: Sequence, ByteLevel, Split, Metaspace, WhitespaceSplit, BertPreTokenizer, Digits)", path, typ)
}

// metaspace is SentencePiece's space handling: spaces become the
// replacement character (▁), one is prepended to the text (always, to the
// first piece of the text only, or never), and with split the text is cut
// before each ▁.
type metaspace struct {
	repl    string
	prepend string // "always", "first" or "never"
	split   bool
}

func parseMetaspace(raw json.RawMessage, path string) (metaspace, error) {
	var c struct {
		Replacement    *string `json:"replacement"`
		PrependScheme  *string `json:"prepend_scheme"`
		AddPrefixSpace *bool   `json:"add_prefix_space"`
		Split          *bool   `json:"split"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return metaspace{}, fmt.Errorf("%s: %w", path, err)
	}
	m := metaspace{repl: "\u2581", prepend: "always", split: true}
	if c.Replacement != nil {
		if utf8.RuneCountInString(*c.Replacement) != 1 {
			return m, fmt.Errorf("%s.replacement: %q is not one character", path, *c.Replacement)
		}
		m.repl = *c.Replacement
	}
	if c.AddPrefixSpace != nil && !*c.AddPrefixSpace {
		m.prepend = "never"
	}
	if c.PrependScheme != nil {
		switch *c.PrependScheme {
		case "always", "first", "never":
			m.prepend = *c.PrependScheme
		default:
			return m, fmt.Errorf("%s.prepend_scheme: %q is not always, first or never", path, *c.PrependScheme)
		}
	}
	if c.Split != nil {
		m.split = *c.Split
	}
	return m, nil
}

func (m metaspace) pre(in []piece) []piece {
	var out []piece
	for _, p := range in {
		s := strings.ReplaceAll(p.s, " ", m.repl)
		if !strings.HasPrefix(s, m.repl) && (m.prepend == "always" || (m.prepend == "first" && p.first)) {
			s = m.repl + s
		}
		q := piece{s, p.first}
		if !m.split {
			out = append(out, q)
			continue
		}
		var spans [][2]int
		for i := 0; ; {
			k := strings.Index(s[i:], m.repl)
			if k < 0 {
				break
			}
			spans = append(spans, [2]int{i + k, i + k + len(m.repl)})
			i += k + len(m.repl)
		}
		out = applySplit(out, q, spans, splitMergedWithNext)
	}
	return out
}

// unitsOf spells raw bytes with GPT-2's characters.
func unitsOf(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		sb.WriteRune(byteToUnit[c])
	}
	return sb.String()
}

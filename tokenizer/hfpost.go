package tokenizer

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// tmplItem is one item of a post-processing template: special-token ids,
// or sequence 'A' or 'B' (seq), each with a token type.
type tmplItem struct {
	ids []int32
	seq byte // 0 for special tokens
	typ int32
}

// postProcessor adds special tokens around one sequence or a pair.
type postProcessor struct {
	single, pair []tmplItem
}

// apply returns the ids and types of a (and b if isPair) with the
// template's special tokens. A nil processor concatenates.
func (p *postProcessor) apply(a, b []int32, isPair bool) (ids, types []int32) {
	if p == nil {
		ids = append(append(ids, a...), b...)
		for range a {
			types = append(types, 0)
		}
		for range b {
			types = append(types, 1)
		}
		return ids, types
	}
	tmpl := p.single
	if isPair {
		tmpl = p.pair
	}
	for _, it := range tmpl {
		var part []int32
		switch it.seq {
		case 0:
			part = it.ids
		case 'A':
			part = a
		case 'B':
			part = b
		}
		ids = append(ids, part...)
		for range part {
			types = append(types, it.typ)
		}
	}
	return ids, types
}

func parsePostProcessor(raw json.RawMessage, path string, vocab map[string]int32) (*postProcessor, error) {
	if isNull(raw) {
		return nil, nil
	}
	typ, err := componentType(raw, path)
	if err != nil {
		return nil, err
	}
	tokenPair := func(r json.RawMessage, field string) (int32, error) {
		var v []json.RawMessage
		var s string
		var id int64
		if json.Unmarshal(r, &v) != nil || len(v) != 2 || json.Unmarshal(v[0], &s) != nil || json.Unmarshal(v[1], &id) != nil {
			return 0, fmt.Errorf("%s.%s: not [token, id]", path, field)
		}
		if id < 0 || id >= MaxHFVocab {
			return 0, fmt.Errorf("%s.%s: id %d is outside [0, %d)", path, field, id, MaxHFVocab)
		}
		return int32(id), nil
	}
	switch typ {
	case "ByteLevel":
		return nil, nil // offsets only
	case "BertProcessing", "RobertaProcessing":
		var c struct {
			Sep json.RawMessage `json:"sep"`
			Cls json.RawMessage `json:"cls"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		sep, err := tokenPair(c.Sep, "sep")
		if err != nil {
			return nil, err
		}
		cls, err := tokenPair(c.Cls, "cls")
		if err != nil {
			return nil, err
		}
		p := &postProcessor{
			single: []tmplItem{{ids: []int32{cls}}, {seq: 'A'}, {ids: []int32{sep}}},
			pair:   []tmplItem{{ids: []int32{cls}}, {seq: 'A'}, {ids: []int32{sep}}, {seq: 'B', typ: 1}, {ids: []int32{sep}, typ: 1}},
		}
		if typ == "RobertaProcessing" {
			p.pair = []tmplItem{{ids: []int32{cls}}, {seq: 'A'}, {ids: []int32{sep}}, {ids: []int32{sep}, typ: 1}, {seq: 'B', typ: 1}, {ids: []int32{sep}, typ: 1}}
		}
		return p, nil
	case "TemplateProcessing":
		var c struct {
			Single  []map[string]json.RawMessage `json:"single"`
			Pair    []map[string]json.RawMessage `json:"pair"`
			Special map[string]struct {
				IDs []int64 `json:"ids"`
			} `json:"special_tokens"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		parse := func(items []map[string]json.RawMessage, field string) ([]tmplItem, error) {
			var out []tmplItem
			for i, it := range items {
				where := fmt.Sprintf("%s.%s[%d]", path, field, i)
				var v struct {
					ID     string `json:"id"`
					TypeID int32  `json:"type_id"`
				}
				if r, ok := it["SpecialToken"]; ok {
					if err := json.Unmarshal(r, &v); err != nil {
						return nil, fmt.Errorf("%s.SpecialToken: %w", where, err)
					}
					st, ok := c.Special[v.ID]
					if !ok {
						return nil, fmt.Errorf("%s.SpecialToken: %q is not in special_tokens", where, v.ID)
					}
					var ids []int32
					for _, id := range st.IDs {
						if id < 0 || id >= MaxHFVocab {
							return nil, fmt.Errorf("%s.special_tokens[%q]: id %d is outside [0, %d)", path, v.ID, id, MaxHFVocab)
						}
						ids = append(ids, int32(id))
					}
					out = append(out, tmplItem{ids: ids, typ: v.TypeID})
				} else if r, ok := it["Sequence"]; ok {
					if err := json.Unmarshal(r, &v); err != nil {
						return nil, fmt.Errorf("%s.Sequence: %w", where, err)
					}
					if v.ID != "A" && v.ID != "B" {
						return nil, fmt.Errorf("%s.Sequence.id: %q is not A or B", where, v.ID)
					}
					out = append(out, tmplItem{seq: v.ID[0], typ: v.TypeID})
				} else {
					return nil, fmt.Errorf("%s: neither SpecialToken nor Sequence", where)
				}
			}
			return out, nil
		}
		p := &postProcessor{}
		if p.single, err = parse(c.Single, "single"); err != nil {
			return nil, err
		}
		if p.pair, err = parse(c.Pair, "pair"); err != nil {
			return nil, err
		}
		return p, nil
	case "Sequence":
		var c struct {
			Processors []json.RawMessage `json:"processors"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		// Llama 3 chains ByteLevel (offsets only) and TemplateProcessing;
		// at most one step may add tokens.
		var out *postProcessor
		for i, r := range c.Processors {
			p, err := parsePostProcessor(r, fmt.Sprintf("%s.processors[%d]", path, i), vocab)
			if err != nil {
				return nil, err
			}
			if p != nil {
				if out != nil {
					return nil, fmt.Errorf("%s.processors[%d]: a second processor that adds tokens is not supported", path, i)
				}
				out = p
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s.type: post-processor %q is not supported (supported: TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence)", path, typ)
}

// decoder is one step of the decoder chain over token strings; added marks
// the added tokens, which ByteLevel leaves as they are.
type decoder func(toks []string, added []bool) ([]string, []bool)

func perToken(f func(i int, s string) string) decoder {
	return func(toks []string, added []bool) ([]string, []bool) {
		out := make([]string, len(toks))
		for i, s := range toks {
			out[i] = f(i, s)
		}
		return out, added
	}
}

// byteOfToken parses a byte token <0xAB>.
func byteOfToken(s string) (byte, bool) {
	if len(s) != 6 || !strings.HasPrefix(s, "<0x") || s[5] != '>' {
		return 0, false
	}
	v, err := strconv.ParseUint(s[3:5], 16, 8)
	if err != nil {
		return 0, false
	}
	return byte(v), true
}

// cleanup undoes the spaces that WordPiece decoding puts before
// punctuation and contractions.
var cleanup = strings.NewReplacer(" .", ".", " ?", "?", " !", "!", " ,", ",", " ' ", "'",
	" n't", "n't", " 'm", "'m", " 's", "'s", " 've", "'ve", " 're", "'re")

func parseDecoder(raw json.RawMessage, path string) ([]decoder, error) {
	if isNull(raw) {
		return nil, nil
	}
	typ, err := componentType(raw, path)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "Sequence":
		lists, err := parseSequence(raw, path, "decoders", parseDecoder)
		if err != nil {
			return nil, err
		}
		var out []decoder
		for _, l := range lists {
			out = append(out, l...)
		}
		return out, nil
	case "ByteLevel":
		return []decoder{func(toks []string, added []bool) ([]string, []bool) {
			var b []byte
			for i, s := range toks {
				if added[i] {
					b = append(b, s...)
					continue
				}
				if raw, ok := bytesOf(s); ok {
					b = append(b, raw...)
				} else {
					b = append(b, s...)
				}
			}
			return []string{string(b)}, []bool{false}
		}}, nil
	case "Metaspace":
		m, err := parseMetaspace(raw, path)
		if err != nil {
			return nil, err
		}
		return []decoder{perToken(func(i int, s string) string {
			s = strings.ReplaceAll(s, m.repl, " ")
			if i == 0 && m.prepend != "never" {
				s = strings.TrimPrefix(s, " ")
			}
			return s
		})}, nil
	case "WordPiece":
		var c struct {
			Prefix  *string `json:"prefix"`
			Cleanup *bool   `json:"cleanup"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		prefix := "##"
		if c.Prefix != nil {
			prefix = *c.Prefix
		}
		clean := c.Cleanup == nil || *c.Cleanup
		return []decoder{perToken(func(i int, s string) string {
			if i != 0 {
				if prefix != "" && strings.HasPrefix(s, prefix) {
					s = s[len(prefix):]
				} else {
					s = " " + s
				}
			}
			if clean {
				s = cleanup.Replace(s)
			}
			return s
		})}, nil
	case "ByteFallback":
		return []decoder{func(toks []string, added []bool) ([]string, []bool) {
			var out []string
			var outAdded []bool
			var pending []byte
			flush := func() {
				if len(pending) > 0 {
					out = append(out, string(pending))
					outAdded = append(outAdded, false)
					pending = pending[:0]
				}
			}
			for i, s := range toks {
				if b, ok := byteOfToken(s); ok {
					pending = append(pending, b)
					continue
				}
				flush()
				out = append(out, s)
				outAdded = append(outAdded, added[i])
			}
			flush()
			return out, outAdded
		}}, nil
	case "Fuse":
		return []decoder{func(toks []string, added []bool) ([]string, []bool) {
			return []string{strings.Join(toks, "")}, []bool{false}
		}}, nil
	case "Strip":
		var c struct {
			Content string `json:"content"`
			Start   int    `json:"start"`
			Stop    int    `json:"stop"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if utf8.RuneCountInString(c.Content) != 1 || c.Start < 0 || c.Stop < 0 {
			return nil, fmt.Errorf("%s: content must be one character and start, stop non-negative", path)
		}
		return []decoder{perToken(func(_ int, s string) string {
			for k := 0; k < c.Start && strings.HasPrefix(s, c.Content); k++ {
				s = s[len(c.Content):]
			}
			for k := 0; k < c.Stop && strings.HasSuffix(s, c.Content); k++ {
				s = s[:len(s)-len(c.Content)]
			}
			return s
		})}, nil
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
		return []decoder{perToken(func(_ int, s string) string { return f(s) })}, nil
	case "BPEDecoder":
		var c struct {
			Suffix *string `json:"suffix"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		suffix := "</w>"
		if c.Suffix != nil {
			suffix = *c.Suffix
		}
		return []decoder{func(toks []string, added []bool) ([]string, []bool) {
			out := make([]string, len(toks))
			for i, s := range toks {
				rep := " "
				if i == len(toks)-1 {
					rep = ""
				}
				if suffix != "" {
					s = strings.ReplaceAll(s, suffix, rep)
				}
				out[i] = s
			}
			return out, added
		}}, nil
	}
	return nil, fmt.Errorf("%s.type: decoder %q is not supported (supported: Sequence, ByteLevel, Metaspace, WordPiece, ByteFallback, Fuse, Strip, Replace, BPEDecoder)", path, typ)
}

package tokenizer

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// charsmap is SentencePiece's precompiled normalization map (the
// precompiled_charsmap of a Precompiled normalizer or of a spiece.model's
// normalizer_spec): a darts-clone double-array trie over UTF-8 byte strings
// whose values index NUL-terminated replacements. The blob is a
// little-endian uint32 trie size in bytes, the trie's uint32 units, then
// the replacement strings.
type charsmap struct {
	units []uint32
	repl  []byte
}

func parseCharsmap(b []byte) (*charsmap, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("charsmap is %d bytes, shorter than its size field", len(b))
	}
	n := uint64(binary.LittleEndian.Uint32(b))
	if n%4 != 0 || n > uint64(len(b)-4) || n == 0 {
		return nil, fmt.Errorf("charsmap: trie size %d does not fit the %d bytes that follow", n, len(b)-4)
	}
	c := &charsmap{units: make([]uint32, n/4), repl: b[4+n:]}
	for i := range c.units {
		c.units[i] = binary.LittleEndian.Uint32(b[4+4*i:])
	}
	return c, nil
}

// longest returns the length of the longest key that s starts with and
// its replacement, or 0.
func (c *charsmap) longest(s string) (int, string) {
	u := c.units
	offset := func(x uint32) uint32 { return (x >> 10) << ((x & (1 << 9)) >> 6) }
	pos := offset(u[0])
	best, val := 0, uint32(0)
	for i := 0; i < len(s); i++ {
		pos ^= uint32(s[i])
		if int(pos) >= len(u) {
			break
		}
		x := u[pos]
		if x&((1<<31)|0xFF) != uint32(s[i]) {
			break
		}
		pos ^= offset(x)
		if int(pos) >= len(u) {
			break
		}
		if (x>>8)&1 == 1 {
			best, val = i+1, u[pos]&((1<<31)-1)
		}
	}
	if best == 0 || int(val) >= len(c.repl) {
		return 0, ""
	}
	r := c.repl[val:]
	if k := strings.IndexByte(string(r), 0); k >= 0 {
		r = r[:k]
	}
	return best, string(r)
}

// normalize rewrites s as SentencePiece's normalizer does: at each position
// the longest key found is replaced, and a character no key starts is kept.
// (Hugging Face's Rust normalizer applies the map per grapheme cluster
// instead, which can differ inside clusters of several characters.)
func (c *charsmap) normalize(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); {
		if n, r := c.longest(s[i:]); n > 0 {
			sb.WriteString(r)
			i += n
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		sb.WriteString(s[i : i+size])
		i += size
	}
	return sb.String()
}

// parsePrecompiled builds the Precompiled normalizer at path.
func parsePrecompiled(raw json.RawMessage, path string) (normalizer, error) {
	var c struct {
		Map *string `json:"precompiled_charsmap"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if c.Map == nil || *c.Map == "" {
		return func(s string) string { return s }, nil
	}
	b, err := base64.StdEncoding.DecodeString(*c.Map)
	if err != nil {
		return nil, fmt.Errorf("%s.precompiled_charsmap: %w", path, err)
	}
	m, err := parseCharsmap(b)
	if err != nil {
		return nil, fmt.Errorf("%s.precompiled_charsmap: %w", path, err)
	}
	return m.normalize, nil
}

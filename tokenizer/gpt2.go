package tokenizer

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/tformer/tformer/internal/atomicfile"
)

// GPT2Vocab is the number of tokens of OpenAI's GPT-2 tokenizer: 256 byte
// tokens, 50000 merges and <|endoftext|>.
const GPT2Vocab = 50257

// GPT2EndOfText is the id of <|endoftext|> in GPT-2's vocabulary.
const GPT2EndOfText = 50256

// gpt2MergesGz is OpenAI's GPT-2 merge list (the file published as vocab.bpe,
// which Hugging Face calls merges.txt), gzip-compressed. See
// GPT2_DATA_NOTICE for its origin and license.
//
//go:embed gpt2_merges.txt.gz
var gpt2MergesGz []byte

// GPT2 is a byte-level byte-pair-encoding tokenizer with GPT-2's rules:
// the text is first cut into pieces by GPT-2's pre-tokenisation pattern
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// (implemented by hand, since Go's regexp has no lookahead), and the bytes of
// each piece are merged pairwise in the order of the merge list. Every byte
// has a token, so any input encodes, and Decode(Encode(x)) == x for every byte
// string x, valid UTF-8 or not.
//
// Bytes that are not valid UTF-8 are classified as the pattern classifies the
// replacement character U+FFFD (neither space, letter nor number), but their
// own bytes are encoded: OpenAI's encoder only ever sees valid text, and this
// is the extension that keeps encoding lossless. Text containing
// "<|endoftext|>" is encoded as ordinary text, as OpenAI's encoder does; only
// Decode maps the id 50256 back to that string.
//
// The built-in tokenizer (NewGPT2, or New("gpt2")) is GPT-2's; LoadGPT2 and
// LoadGPT2Dir read other vocabularies in the same format (vocab.json and
// merges.txt). A GPT2 is safe for concurrent use.
type GPT2 struct {
	name   string
	tokens [][]byte         // id -> the bytes it stands for
	units  []string         // id -> its vocab.json key (bytes mapped to characters)
	byteID [256]int32       // id of each single-byte token
	merges map[uint64]merge // (left id, right id) -> merge
	order  [][2]int32       // the merges in rank order, as (left id, right id)
	raw    []byte           // the merges file this was built from, if it is to be written back verbatim

	mu    sync.Mutex
	cache map[string][]int32 // piece -> ids, for short pieces
}

type merge struct {
	rank int32
	id   int32 // the token the pair becomes
}

var _ Tokenizer = (*GPT2)(nil)

// byteToUnit and unitToByte are GPT-2's reversible map between bytes and
// printable characters: the printable Latin-1 bytes ('!'..'~', '¡'..'¬',
// '®'..'ÿ') stand for themselves and the other 68 bytes, in increasing order,
// for U+0100, U+0101, .... The vocabulary and merge files spell tokens with
// these characters.
var (
	byteToUnit [256]rune
	unitToByte = map[rune]byte{}
)

func init() {
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			byteToUnit[b] = rune(b)
		} else {
			byteToUnit[b] = rune(256 + n)
			n++
		}
		unitToByte[byteToUnit[b]] = byte(b)
	}
}

// bytesOf turns a token spelled in GPT-2's characters back into bytes; ok is false if s has a character
// outside GPT-2's 256-character alphabet (or is not valid UTF-8).
func bytesOf(s string) ([]byte, bool) {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		b, ok := unitToByte[r]
		if !ok {
			return nil, false
		}
		out = append(out, b)
	}
	return out, true
}

var builtin struct {
	once sync.Once
	tok  *GPT2
	err  error
}

// NewGPT2 returns OpenAI's GPT-2 tokenizer (50257 tokens), built from the
// merge list embedded in this package. The vocabulary follows from the merges:
// ids 0-255 are the single bytes in the order of GPT-2's byte alphabet, id
// 256+i is the result of merge i, and 50256 is <|endoftext|>. The result is
// shared: it is built once per process.
func NewGPT2() (*GPT2, error) {
	builtin.once.Do(func() {
		zr, err := gzip.NewReader(bytes.NewReader(gpt2MergesGz))
		if err != nil {
			builtin.err = fmt.Errorf("tokenizer: built-in GPT-2 merges: %w", err)
			return
		}
		raw, err := io.ReadAll(zr)
		if err != nil {
			builtin.err = fmt.Errorf("tokenizer: built-in GPT-2 merges: %w", err)
			return
		}
		pairs, err := parseMerges(raw)
		if err != nil {
			builtin.err = fmt.Errorf("tokenizer: built-in GPT-2 merges: %w", err)
			return
		}
		vocab := make(map[string]int32, len(pairs)+257)
		for b := 0; b < 256; b++ {
			vocab[string(byteToUnit[gpt2ByteOrder(b)])] = int32(b)
		}
		for i, p := range pairs {
			vocab[p[0]+p[1]] = int32(256 + i)
		}
		vocab["<|endoftext|>"] = GPT2EndOfText
		t, err := build("gpt2", vocab, pairs)
		if err != nil {
			builtin.err = fmt.Errorf("tokenizer: built-in GPT-2 data: %w", err)
			return
		}
		t.raw = raw
		builtin.tok = t
	})
	return builtin.tok, builtin.err
}

// gpt2ByteOrder returns the byte that has id i (0 <= i < 256) in GPT-2's
// vocabulary: the bytes that stand for themselves come first, in increasing
// order, then the others.
func gpt2ByteOrder(i int) byte {
	n := 0
	for pass := 0; pass < 2; pass++ {
		for b := 0; b < 256; b++ {
			self := byteToUnit[b] == rune(b)
			if self == (pass == 0) {
				if n == i {
					return byte(b)
				}
				n++
			}
		}
	}
	panic("tokenizer: byte index out of range")
}

// LoadGPT2Dir reads a byte-level BPE tokenizer from dir/vocab.json and
// dir/merges.txt, the files Hugging Face's GPT2Tokenizer uses. If they hold
// GPT-2's own vocabulary and merges the result is named "gpt2", otherwise
// "bpe".
func LoadGPT2Dir(dir string) (*GPT2, error) {
	v, err := os.ReadFile(filepath.Join(dir, "vocab.json"))
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	m, err := os.ReadFile(filepath.Join(dir, "merges.txt"))
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := loadGPT2(v, m)
	if err != nil {
		return nil, fmt.Errorf("tokenizer in %s: %w", dir, err)
	}
	return t, nil
}

// LoadGPT2 builds a byte-level BPE tokenizer from the contents of a
// vocab.json (a JSON object from token, spelled in GPT-2's byte alphabet, to
// id) and a merges.txt (an optional "#version" line, then one merge "A B"
// per line, highest priority first).
//
// The vocabulary must hold every single byte, ids 0..n-1 each exactly once,
// and the result of every merge; every merge must combine tokens that are
// single bytes or results of earlier merges, and no two merges may make the
// same token. (Every trained BPE file has these properties; they make the
// merge order well defined.) Files equal to GPT-2's give a tokenizer named
// "gpt2", anything else one named "bpe".
func LoadGPT2(vocabJSON, mergesTxt []byte) (*GPT2, error) {
	t, err := loadGPT2(vocabJSON, mergesTxt)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return t, nil
}

func loadGPT2(vocabJSON, mergesTxt []byte) (*GPT2, error) {
	vocab, err := parseVocab(vocabJSON)
	if err != nil {
		return nil, fmt.Errorf("vocab.json: %w", err)
	}
	pairs, err := parseMerges(mergesTxt)
	if err != nil {
		return nil, fmt.Errorf("merges.txt: %w", err)
	}
	t, err := build("bpe", vocab, pairs)
	if err != nil {
		return nil, err
	}
	if g, err := NewGPT2(); err == nil && t.equal(g) {
		return g, nil
	}
	return t, nil
}

// maxVocab bounds the vocabulary size LoadGPT2 accepts (ids are int32 and
// the tables are allocated up front).
const maxVocab = 1 << 24

func parseVocab(b []byte) (map[string]int32, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var raw map[string]json.Number
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("not a JSON object of token ids: %v", err)
	}
	if len(raw) == 0 {
		return nil, errors.New("empty vocabulary")
	}
	if len(raw) > maxVocab {
		return nil, fmt.Errorf("%d tokens, more than the limit of %d", len(raw), maxVocab)
	}
	vocab := make(map[string]int32, len(raw))
	for k, v := range raw {
		id, err := v.Int64()
		if err != nil || id < 0 || id >= int64(len(raw)) {
			return nil, fmt.Errorf("token %q has id %s; ids must be integers in [0, %d)", k, v, len(raw))
		}
		vocab[k] = int32(id)
	}
	return vocab, nil
}

func parseMerges(b []byte) ([][2]string, error) {
	if !utf8.Valid(b) {
		return nil, errors.New("not valid UTF-8")
	}
	var pairs [][2]string
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" || (i == 0 && strings.HasPrefix(line, "#version")) {
			continue
		}
		a, c, ok := strings.Cut(line, " ")
		if !ok || a == "" || c == "" || strings.Contains(c, " ") {
			return nil, fmt.Errorf("line %d: %q is not two tokens separated by one space", i+1, line)
		}
		pairs = append(pairs, [2]string{a, c})
	}
	return pairs, nil
}

// build checks vocab and pairs and makes the tokenizer.
func build(name string, vocab map[string]int32, pairs [][2]string) (*GPT2, error) {
	n := len(vocab)
	t := &GPT2{
		name:   name,
		tokens: make([][]byte, n),
		units:  make([]string, n),
		merges: make(map[uint64]merge, len(pairs)),
		order:  make([][2]int32, 0, len(pairs)),
		cache:  map[string][]int32{},
	}
	for k, id := range vocab {
		if t.tokens[id] != nil {
			return nil, fmt.Errorf("vocab.json: id %d is used by %q and %q", id, t.units[id], k)
		}
		raw, ok := bytesOf(k)
		if !ok || len(raw) == 0 {
			return nil, fmt.Errorf("vocab.json: token %q is not spelled in GPT-2's byte alphabet", k)
		}
		t.tokens[id], t.units[id] = raw, k
	}
	for b := 0; b < 256; b++ {
		id, ok := vocab[string(byteToUnit[b])]
		if !ok {
			return nil, fmt.Errorf("vocab.json: has no token for the byte 0x%02x (%q)", b, string(byteToUnit[b]))
		}
		t.byteID[b] = id
	}
	// made[id] is true once id is a single byte or the result of a merge
	// seen so far.
	made := make([]bool, n)
	for _, id := range t.byteID {
		made[id] = true
	}
	for i, p := range pairs {
		a, okA := vocab[p[0]]
		b, okB := vocab[p[1]]
		c, okC := vocab[p[0]+p[1]]
		switch {
		case !okA || !okB:
			return nil, fmt.Errorf("merges.txt: merge %d (%q %q) uses a token that is not in vocab.json", i+1, p[0], p[1])
		case !okC:
			return nil, fmt.Errorf("merges.txt: the result %q of merge %d is not in vocab.json", p[0]+p[1], i+1)
		case !made[a] || !made[b]:
			return nil, fmt.Errorf("merges.txt: merge %d (%q %q) uses a token that no earlier merge makes", i+1, p[0], p[1])
		case made[c]:
			return nil, fmt.Errorf("merges.txt: merge %d (%q %q) makes %q, which a single byte or an earlier merge already makes", i+1, p[0], p[1], p[0]+p[1])
		}
		made[c] = true
		key := uint64(uint32(a))<<32 | uint64(uint32(b))
		t.merges[key] = merge{rank: int32(i), id: c}
		t.order = append(t.order, [2]int32{a, b})
	}
	return t, nil
}

// equal reports whether t and u have the same vocabulary and merges.
func (t *GPT2) equal(u *GPT2) bool {
	if len(t.units) != len(u.units) || len(t.order) != len(u.order) {
		return false
	}
	for i := range t.units {
		if t.units[i] != u.units[i] {
			return false
		}
	}
	for i := range t.order {
		if t.order[i] != u.order[i] {
			return false
		}
	}
	return true
}

// Name returns "gpt2" for GPT-2's tokenizer and "bpe" for one loaded from
// other files.
func (t *GPT2) Name() string { return t.name }

// VocabSize returns the number of tokens (50257 for GPT-2).
func (t *GPT2) VocabSize() int { return len(t.tokens) }

// Encode returns the token ids of text.
func (t *GPT2) Encode(text []byte) []int32 {
	ids := make([]int32, 0, len(text)/3+1)
	var w bpeWork
	pretokenize(text, func(piece []byte) {
		ids = t.encodePiece(ids, piece, &w)
	})
	return ids
}

// Decode returns the bytes of ids. An id outside the vocabulary decodes to
// Replacement.
func (t *GPT2) Decode(ids []int32) []byte {
	var out []byte
	for _, id := range ids {
		if id < 0 || int(id) >= len(t.tokens) {
			out = append(out, Replacement...)
			continue
		}
		out = append(out, t.tokens[id]...)
	}
	return out
}

// Token returns the bytes of token id and whether id is in the vocabulary.
func (t *GPT2) Token(id int32) ([]byte, bool) {
	if id < 0 || int(id) >= len(t.tokens) {
		return nil, false
	}
	return t.tokens[id], true
}

// VocabJSON returns the vocabulary in the vocab.json format: a JSON object
// from each token, spelled in GPT-2's byte alphabet, to its id, in id order.
func (t *GPT2) VocabJSON() []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	out := []byte{'{'}
	for id, u := range t.units {
		if id > 0 {
			out = append(out, ", "...)
		}
		buf.Reset()
		_ = enc.Encode(u) // encoding a string cannot fail
		out = append(out, bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})...)
		out = fmt.Appendf(out, ": %d", id)
	}
	return append(out, "}\n"...)
}

// MergesTxt returns the merge list in the merges.txt format ("#version: 0.2"
// and one "A B" line per merge). For GPT-2 it is byte-for-byte OpenAI's file.
func (t *GPT2) MergesTxt() []byte {
	if t.raw != nil {
		return bytes.Clone(t.raw)
	}
	var b bytes.Buffer
	b.WriteString("#version: 0.2\n")
	for _, p := range t.order {
		b.WriteString(t.units[p[0]])
		b.WriteByte(' ')
		b.WriteString(t.units[p[1]])
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// WriteDir writes vocab.json and merges.txt into dir (which must exist),
// each file atomically.
func (t *GPT2) WriteDir(dir string) error {
	for _, f := range []struct {
		name string
		data []byte
	}{{"vocab.json", t.VocabJSON()}, {"merges.txt", t.MergesTxt()}} {
		if err := atomicfile.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return fmt.Errorf("tokenizer: %w", err)
		}
	}
	return nil
}

// Pieces for which the result is cached are at most this long, and the
// cache is cleared when it reaches maxCache entries.
const (
	maxCachedPiece = 48
	maxCache       = 1 << 16
)

// encodePiece appends the ids of one pre-token to ids.
func (t *GPT2) encodePiece(ids []int32, piece []byte, w *bpeWork) []int32 {
	if len(piece) == 1 {
		return append(ids, t.byteID[piece[0]])
	}
	cacheable := len(piece) <= maxCachedPiece
	if cacheable {
		t.mu.Lock()
		got, ok := t.cache[string(piece)]
		t.mu.Unlock()
		if ok {
			return append(ids, got...)
		}
	}
	start := len(ids)
	ids = t.bpe(ids, piece, w)
	if cacheable {
		t.mu.Lock()
		if len(t.cache) >= maxCache {
			clear(t.cache)
		}
		t.cache[string(piece)] = append([]int32(nil), ids[start:]...)
		t.mu.Unlock()
	}
	return ids
}

// bpeWork is scratch space for bpe, reused across the pieces of one Encode.
type bpeWork struct {
	id         []int32
	prev, next []int
	h          pairHeap
}

// pairCand is a candidate merge of the adjacent symbols at left and right.
type pairCand struct {
	rank        int32
	left, right int   // symbol positions
	a, b        int32 // their ids when the candidate was made
}

type pairHeap []pairCand

func (h pairHeap) Len() int { return len(h) }
func (h pairHeap) Less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].left < h[j].left
}
func (h pairHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pairHeap) Push(x any)   { *h = append(*h, x.(pairCand)) }
func (h *pairHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// bpe appends the ids of piece (at least two bytes) to ids.
//
// The reference algorithm repeatedly takes the adjacent pair with the best
// (lowest) merge rank and merges every occurrence of it from left to right.
// This does the same with a priority queue ordered by (rank, position):
// since a merged token only takes part in merges ranked after the one that
// made it (build checks this), all occurrences of a rank are merged, left to
// right, before any later rank, and an occurrence that an earlier merge of
// the same rank consumed is found stale and skipped.
func (t *GPT2) bpe(ids []int32, piece []byte, w *bpeWork) []int32 {
	w.id = w.id[:0]
	for _, c := range piece {
		w.id = append(w.id, t.byteID[c])
	}
	return mergeSymbols(ids, t.merges, w)
}

// Character classes of the pre-tokenisation pattern.
const (
	clsOther  = iota // neither space, letter nor number (also: invalid UTF-8)
	clsSpace         // \s: Unicode White_Space
	clsLetter        // \p{L}
	clsNumber        // \p{N}
)

// classAt returns the class and byte length of the character at text[i].
func classAt(text []byte, i int) (int, int) {
	c := text[i]
	if c < utf8.RuneSelf {
		switch {
		case c == ' ' || (c >= '\t' && c <= '\r'):
			return clsSpace, 1
		case (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
			return clsLetter, 1
		case c >= '0' && c <= '9':
			return clsNumber, 1
		}
		return clsOther, 1
	}
	r, size := utf8.DecodeRune(text[i:])
	if r == utf8.RuneError && size == 1 {
		return clsOther, 1
	}
	switch {
	case unicode.IsSpace(r):
		return clsSpace, size
	case unicode.IsLetter(r):
		return clsLetter, size
	case unicode.IsNumber(r):
		return clsNumber, size
	}
	return clsOther, size
}

// pretokenize cuts text into the pieces GPT-2's pattern
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// finds, calling emit with each in order; the pieces cover text exactly.
// Alternatives are tried in order at each position and the first that
// matches wins, as in a backtracking regular expression engine.
func pretokenize(text []byte, emit func([]byte)) {
	n := len(text)
	i := 0
	for i < n {
		// 's 't 're 've 'm 'll 'd
		if text[i] == '\'' && i+1 < n {
			switch text[i+1] {
			case 's', 't', 'm', 'd':
				emit(text[i : i+2])
				i += 2
				continue
			case 'r', 'v', 'l':
				if i+2 < n && ((text[i+1] == 'r' && text[i+2] == 'e') || (text[i+1] == 'v' && text[i+2] == 'e') || (text[i+1] == 'l' && text[i+2] == 'l')) {
					emit(text[i : i+3])
					i += 3
					continue
				}
			}
		}
		// " ?" then a run of letters, of numbers, or of other characters.
		j := i
		if text[i] == ' ' && i+1 < n {
			if cls, _ := classAt(text, i+1); cls != clsSpace {
				j = i + 1
			}
		}
		cls, size := classAt(text, j)
		if cls != clsSpace {
			end := j + size
			for end < n {
				c, s := classAt(text, end)
				if c != cls {
					break
				}
				end += s
			}
			emit(text[i:end])
			i = end
			continue
		}
		// A run of whitespace: \s+(?!\S) takes all of it at the end of the
		// text and all but its last character before a non-space; a single
		// space character before a non-space is taken by \s+.
		end, last := i, i
		for end < n {
			c, s := classAt(text, end)
			if c != clsSpace {
				break
			}
			last = end
			end += s
		}
		if end < n && last > i {
			end = last
		}
		emit(text[i:end])
		i = end
	}
}

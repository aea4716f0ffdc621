package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/tformer/tformer/internal/hfdir"
)

// Limits on what LoadHF accepts, checked before anything is allocated from
// the sizes a file declares.
const (
	// MaxHFFileBytes is the largest tokenizer.json read (real ones are a
	// few megabytes; Llama 3's is 9 MB).
	MaxHFFileBytes = 256 << 20
	// MaxHFVocab is the largest id + 1 accepted.
	MaxHFVocab = 1 << 24
)

// HF is a tokenizer read from a Hugging Face tokenizer.json: the pipeline
// of normalizer, pre-tokenizer, model (BPE, WordPiece or Unigram),
// post-processor and decoder that the file describes, with its added tokens
// matched in the text as special tokens.
//
// Encode gives the ids of the text alone, as Hugging Face's encode does with
// add_special_tokens=False; EncodeSpecial adds the post-processor's special
// tokens ([CLS] … [SEP], <s>, ...) and gives the token types. An HF is safe
// for concurrent use.
type HF struct {
	name      string
	model     hfModel
	kind      string   // "BPE", "WordPiece" or "Unigram"
	vocab     []string // id -> token (model and added tokens); "" for unused ids
	ids       map[string]int32
	added     map[int32]bool
	raw, norm *Specials // added tokens matched before / after normalization
	normalize normalizer
	pre       preTokenizer
	byteLevel bool
	post      *postProcessor
	decode    []decoder
	bos, eos  int32 // -1: none
}

var _ Tokenizer = (*HF)(nil)

// Name returns the name LoadHF was given (the path it read).
func (t *HF) Name() string { return t.name }

// VocabSize returns the largest id + 1.
func (t *HF) VocabSize() int { return len(t.vocab) }

// Kind returns the model type: "BPE", "WordPiece" or "Unigram".
func (t *HF) Kind() string { return t.kind }

// TokenID returns the id of a token spelled as in the file.
func (t *HF) TokenID(token string) (int32, bool) {
	id, ok := t.ids[token]
	return id, ok
}

// TokenString returns the token of id as the file spells it.
func (t *HF) TokenString(id int32) (string, bool) {
	if id < 0 || int(id) >= len(t.vocab) || t.vocab[id] == "" {
		return "", false
	}
	return t.vocab[id], true
}

// BOS returns the beginning-of-sequence id, if the tokenizer has one.
func (t *HF) BOS() (int32, bool) { return t.bos, t.bos >= 0 }

// EOS returns the end-of-sequence id, if the tokenizer has one.
func (t *HF) EOS() (int32, bool) { return t.eos, t.eos >= 0 }

// LoadHF reads a tokenizer.json: path is the file or a directory holding
// it. A directory with no tokenizer.json but a spiece.model is read with
// LoadSpiece, and one with BERT's vocab.txt as Hugging Face's
// BertTokenizerFast builds it. A tokenizer_config.json beside it, if present, names the BOS and EOS
// tokens; otherwise they are taken from the post-processor and the usual
// token names.
func LoadHF(path string) (*HF, error) {
	file := path
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		file = filepath.Join(path, "tokenizer.json")
		if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
			if _, err := os.Stat(filepath.Join(path, "spiece.model")); err == nil {
				return loadSpieceDir(path)
			}
			if _, err := os.Stat(filepath.Join(path, VocabTxt)); err == nil {
				return loadVocabTxtDir(path)
			}
		}
	}
	b, err := hfdir.ReadLimited(file, MaxHFFileBytes)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	var cfg []byte
	if c, err := hfdir.ReadLimited(filepath.Join(filepath.Dir(file), "tokenizer_config.json"), MaxHFFileBytes); err == nil {
		cfg = c
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := ParseHF(b, cfg)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", file, err)
	}
	t.name = path
	return t, nil
}

// IsHFPath reports whether path is a tokenizer.json file or a directory
// holding one (or, failing that, ALBERT's spiece.model or BERT's vocab.txt).
func IsHFPath(path string) bool {
	fi, err := os.Stat(path)
	if err != nil {
		return false
	}
	if fi.IsDir() {
		for _, f := range []string{"tokenizer.json", "spiece.model", VocabTxt} {
			if fi, err := os.Stat(filepath.Join(path, f)); err == nil && !fi.IsDir() {
				return true
			}
		}
		return false
	}
	return strings.HasSuffix(path, ".json")
}

type hfAdded struct {
	ID         int64  `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized *bool  `json:"normalized"`
	Special    bool   `json:"special"`
}

// ParseHF builds a tokenizer from the contents of a tokenizer.json and,
// if not nil, of its tokenizer_config.json. Errors name the field at fault
// (model.type, pre_tokenizer.pretokenizers[1].pattern.Regex, ...).
func ParseHF(tokenizerJSON, tokenizerConfig []byte) (*HF, error) {
	var f struct {
		Added         []hfAdded       `json:"added_tokens"`
		Normalizer    json.RawMessage `json:"normalizer"`
		PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
		PostProcessor json.RawMessage `json:"post_processor"`
		Decoder       json.RawMessage `json:"decoder"`
		Model         json.RawMessage `json:"model"`
	}
	if err := json.Unmarshal(tokenizerJSON, &f); err != nil {
		return nil, fmt.Errorf("not a tokenizer.json: %w", err)
	}
	if isNull(f.Model) {
		return nil, errors.New("model: missing")
	}
	t := &HF{name: "tokenizer.json", added: map[int32]bool{}, bos: -1, eos: -1}
	vocab, err := t.parseModel(f.Model)
	if err != nil {
		return nil, err
	}
	// The id table: model tokens, then added tokens (which may reuse ids).
	maxID := int64(-1)
	for _, id := range vocab {
		maxID = max(maxID, int64(id))
	}
	for i, a := range f.Added {
		if a.ID < 0 || a.ID >= MaxHFVocab {
			return nil, fmt.Errorf("added_tokens[%d].id: %d is outside [0, %d)", i, a.ID, MaxHFVocab)
		}
		if a.Content == "" {
			return nil, fmt.Errorf("added_tokens[%d].content: empty", i)
		}
		maxID = max(maxID, a.ID)
	}
	if maxID < 0 {
		return nil, errors.New("model.vocab: empty")
	}
	if n := int64(len(vocab) + len(f.Added)); maxID >= 2*n+256 {
		return nil, fmt.Errorf("ids reach %d with only %d tokens: the id table would be mostly empty", maxID, n)
	}
	t.vocab = make([]string, maxID+1)
	t.ids = make(map[string]int32, len(vocab)+len(f.Added))
	for s, id := range vocab {
		t.vocab[id] = s
		t.ids[s] = id
	}
	var raw, normed []Special
	for _, a := range f.Added {
		id := int32(a.ID)
		t.vocab[id] = a.Content
		t.ids[a.Content] = id
		t.added[id] = true
		sp := Special{Content: a.Content, ID: id, LStrip: a.LStrip, RStrip: a.RStrip, SingleWord: a.SingleWord}
		normalized := !a.Special
		if a.Normalized != nil {
			normalized = *a.Normalized
		}
		if normalized {
			normed = append(normed, sp)
		} else {
			raw = append(raw, sp)
		}
	}
	if t.normalize, err = parseNormalizer(f.Normalizer, "normalizer"); err != nil {
		return nil, err
	}
	if t.normalize != nil {
		for i := range normed {
			normed[i].Content = t.normalize(normed[i].Content)
		}
	} else {
		raw, normed = append(raw, normed...), nil
	}
	t.raw, t.norm = NewSpecials(raw), NewSpecials(normed)
	if t.pre, err = parsePreTokenizer(f.PreTokenizer, "pre_tokenizer", &t.byteLevel); err != nil {
		return nil, err
	}
	if t.post, err = parsePostProcessor(f.PostProcessor, "post_processor", t.ids); err != nil {
		return nil, err
	}
	if t.decode, err = parseDecoder(f.Decoder, "decoder"); err != nil {
		return nil, err
	}
	if err := t.findBOSEOS(tokenizerConfig); err != nil {
		return nil, err
	}
	return t, nil
}

// parseModel builds t.model and returns its vocabulary.
func (t *HF) parseModel(raw json.RawMessage) (map[string]int32, error) {
	typ, err := componentType(raw, "model")
	if err != nil {
		// Older files leave out the type; Hugging Face tells the models
		// apart by their fields.
		var probe map[string]json.RawMessage
		if json.Unmarshal(raw, &probe) != nil {
			return nil, err
		}
		switch {
		case probe["merges"] != nil:
			typ = "BPE"
		case len(probe["vocab"]) > 0 && strings.TrimSpace(string(probe["vocab"]))[0] == '[':
			typ = "Unigram"
		case probe["continuing_subword_prefix"] != nil:
			typ = "WordPiece"
		default:
			return nil, err
		}
	}
	t.kind = typ
	checkVocab := func(vocab map[string]int64) (map[string]int32, error) {
		out := make(map[string]int32, len(vocab))
		for s, id := range vocab {
			if id < 0 || id >= MaxHFVocab {
				return nil, fmt.Errorf("model.vocab[%q]: id %d is outside [0, %d)", s, id, MaxHFVocab)
			}
			out[s] = int32(id)
		}
		return out, nil
	}
	unkOf := func(vocab map[string]int32, unk *string, field string) (int32, error) {
		if unk == nil {
			return -1, nil
		}
		id, ok := vocab[*unk]
		if !ok {
			return -1, fmt.Errorf("model.%s: %q is not in the vocabulary", field, *unk)
		}
		return id, nil
	}
	switch typ {
	case "BPE":
		var c struct {
			Vocab         map[string]int64  `json:"vocab"`
			Merges        []json.RawMessage `json:"merges"`
			Unk           *string           `json:"unk_token"`
			Dropout       *float64          `json:"dropout"`
			FuseUnk       bool              `json:"fuse_unk"`
			ByteFallback  bool              `json:"byte_fallback"`
			IgnoreMerges  bool              `json:"ignore_merges"`
			ContinuingPfx *string           `json:"continuing_subword_prefix"`
			EndOfWordSfx  *string           `json:"end_of_word_suffix"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("model: %w", err)
		}
		if c.Dropout != nil && *c.Dropout != 0 {
			return nil, fmt.Errorf("model.dropout: %g is not supported (encoding would be random)", *c.Dropout)
		}
		if c.ContinuingPfx != nil && *c.ContinuingPfx != "" {
			return nil, fmt.Errorf("model.continuing_subword_prefix: %q is not supported", *c.ContinuingPfx)
		}
		if c.EndOfWordSfx != nil && *c.EndOfWordSfx != "" {
			return nil, fmt.Errorf("model.end_of_word_suffix: %q is not supported", *c.EndOfWordSfx)
		}
		vocab, err := checkVocab(c.Vocab)
		if err != nil {
			return nil, err
		}
		m := &hfBPE{vocab: vocab, merges: make(map[uint64]merge, len(c.Merges)), fuseUnk: c.FuseUnk,
			byteFallback: c.ByteFallback, ignoreMerges: c.IgnoreMerges, bytes: byteTokens(vocab)}
		if m.unk, err = unkOf(vocab, c.Unk, "unk_token"); err != nil {
			return nil, err
		}
		for i, r := range c.Merges {
			var a, b string
			var s string
			var pair []string
			if json.Unmarshal(r, &s) == nil {
				var ok bool
				if a, b, ok = strings.Cut(s, " "); !ok {
					return nil, fmt.Errorf("model.merges[%d]: %q is not two tokens separated by a space", i, s)
				}
			} else if json.Unmarshal(r, &pair) == nil && len(pair) == 2 {
				a, b = pair[0], pair[1]
			} else {
				return nil, fmt.Errorf("model.merges[%d]: neither \"A B\" nor [\"A\", \"B\"]", i)
			}
			ia, oka := vocab[a]
			ib, okb := vocab[b]
			ic, okc := vocab[a+b]
			if !oka || !okb || !okc {
				return nil, fmt.Errorf("model.merges[%d]: %q + %q: a token is not in the vocabulary", i, a, b)
			}
			key := uint64(uint32(ia))<<32 | uint64(uint32(ib))
			if _, dup := m.merges[key]; !dup {
				m.merges[key] = merge{rank: int32(i), id: ic}
			}
		}
		t.model = m
		return vocab, nil
	case "WordPiece":
		var c struct {
			Vocab    map[string]int64 `json:"vocab"`
			Unk      *string          `json:"unk_token"`
			Prefix   *string          `json:"continuing_subword_prefix"`
			MaxChars *int             `json:"max_input_chars_per_word"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("model: %w", err)
		}
		vocab, err := checkVocab(c.Vocab)
		if err != nil {
			return nil, err
		}
		m := &hfWordPiece{vocab: vocab, prefix: "##", maxChars: 100}
		if c.Prefix != nil {
			m.prefix = *c.Prefix
		}
		if c.MaxChars != nil {
			if *c.MaxChars < 0 {
				return nil, fmt.Errorf("model.max_input_chars_per_word: %d is negative", *c.MaxChars)
			}
			m.maxChars = *c.MaxChars
		}
		if m.unk, err = unkOf(vocab, c.Unk, "unk_token"); err != nil {
			return nil, err
		}
		t.model = m
		return vocab, nil
	case "Unigram":
		var c struct {
			Vocab        [][]json.RawMessage `json:"vocab"`
			UnkID        *int64              `json:"unk_id"`
			ByteFallback bool                `json:"byte_fallback"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("model: %w", err)
		}
		if len(c.Vocab) == 0 {
			return nil, errors.New("model.vocab: empty")
		}
		if len(c.Vocab) > MaxHFVocab {
			return nil, fmt.Errorf("model.vocab: %d pieces, more than %d", len(c.Vocab), MaxHFVocab)
		}
		m := &hfUnigram{vocab: make(map[string]int32, len(c.Vocab)), scores: make([]float64, len(c.Vocab)), byteFallback: c.ByteFallback}
		for i, e := range c.Vocab {
			var s string
			var score float64
			if len(e) != 2 || json.Unmarshal(e[0], &s) != nil || json.Unmarshal(e[1], &score) != nil {
				return nil, fmt.Errorf("model.vocab[%d]: not [piece, score]", i)
			}
			if math.IsNaN(score) || math.IsInf(score, 0) {
				return nil, fmt.Errorf("model.vocab[%d]: score %v is not finite", i, score)
			}
			m.scores[i] = score
			if _, dup := m.vocab[s]; !dup && s != "" {
				m.vocab[s] = int32(i)
				m.maxLen = max(m.maxLen, len(s))
			}
		}
		if c.UnkID == nil {
			return nil, errors.New("model.unk_id: missing (an unknown token is needed for characters no piece covers)")
		}
		if *c.UnkID < 0 || *c.UnkID >= int64(len(c.Vocab)) {
			return nil, fmt.Errorf("model.unk_id: %d is outside the %d pieces", *c.UnkID, len(c.Vocab))
		}
		m.unk = int32(*c.UnkID)
		m.unkScore = unigramMinScore(m.scores) - 10
		m.scores[m.unk] = m.unkScore
		m.bytes = byteTokens(m.vocab)
		t.model = m
		return m.vocab, nil
	}
	return nil, fmt.Errorf("model.type: %q is not supported (supported: BPE, WordPiece, Unigram)", typ)
}

// findBOSEOS sets t.bos and t.eos from tokenizer_config.json if it names
// them, else from the post-processor's first special token (BOS) and the
// usual names.
func (t *HF) findBOSEOS(cfg []byte) error {
	if cfg != nil {
		var c map[string]json.RawMessage
		if err := json.Unmarshal(cfg, &c); err != nil {
			return fmt.Errorf("tokenizer_config.json: %w", err)
		}
		get := func(key string) (int32, error) {
			r, ok := c[key]
			if !ok || isNull(r) {
				return -1, nil
			}
			var s string
			if json.Unmarshal(r, &s) != nil {
				var o struct {
					Content string `json:"content"`
				}
				if err := json.Unmarshal(r, &o); err != nil {
					return -1, fmt.Errorf("tokenizer_config.json: %s: neither a string nor {\"content\": ...}", key)
				}
				s = o.Content
			}
			id, ok := t.ids[s]
			if !ok {
				return -1, fmt.Errorf("tokenizer_config.json: %s %q is not a token of tokenizer.json", key, s)
			}
			return id, nil
		}
		var err error
		if t.bos, err = get("bos_token"); err != nil {
			return err
		}
		if t.eos, err = get("eos_token"); err != nil {
			return err
		}
	}
	if t.bos < 0 && t.post != nil && len(t.post.single) > 0 && t.post.single[0].seq == 0 && len(t.post.single[0].ids) == 1 {
		t.bos = t.post.single[0].ids[0]
	}
	if t.eos < 0 {
		for _, name := range []string{"</s>", "<|endoftext|>", "<|end_of_text|>", "<|im_end|>", "[SEP]", "<eos>"} {
			if id, ok := t.ids[name]; ok && t.added[id] {
				t.eos = id
				break
			}
		}
	}
	return nil
}

// hfWork is the scratch space of one Encode.
type hfWork struct {
	bpe    bpeWork
	pieces []piece
}

// sanitize replaces each byte of s that is not part of valid UTF-8 by
// U+FFFD, as a Hugging Face tokenizer (which works on strings) would only
// ever see.
func sanitize(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			sb.WriteString(Replacement)
		} else {
			sb.WriteString(s[i : i+size])
		}
		i += size
	}
	return sb.String()
}

// Encode returns the ids of text, special tokens in the text included but
// none added around it. Byte-level tokenizers encode bytes that are not
// valid UTF-8 as themselves; the others see each such byte as U+FFFD.
func (t *HF) Encode(text []byte) []int32 {
	s := string(text)
	if !t.byteLevel {
		s = sanitize(s)
	}
	var ids []int32
	var w hfWork
	first := true
	t.raw.spans(s, func(a, b int, id int32) {
		defer func() { first = false }()
		if id >= 0 {
			ids = append(ids, id)
			return
		}
		sec := s[a:b]
		if t.normalize != nil {
			sec = t.normalize(sec)
		}
		firstSub := first
		t.norm.spans(sec, func(c, d int, id int32) {
			defer func() { firstSub = false }()
			if id >= 0 {
				ids = append(ids, id)
				return
			}
			w.pieces = append(w.pieces[:0], piece{sec[c:d], firstSub})
			pieces := w.pieces
			if t.pre != nil {
				pieces = t.pre(pieces)
			}
			for _, p := range pieces {
				ids = t.model.encode(ids, p.s, &w.bpe)
			}
		})
	})
	return ids
}

// EncodeSpecial encodes text, and pair unless it is nil, with the
// post-processor's special tokens ([CLS] A [SEP] B [SEP], <s> A, ...), and
// returns the ids and their token types. Without a post-processor the ids
// are those of text then pair, of types 0 and 1.
func (t *HF) EncodeSpecial(text, pair []byte) (ids, types []int32) {
	a := t.Encode(text)
	var b []int32
	if pair != nil {
		b = t.Encode(pair)
	}
	return t.post.apply(a, b, pair != nil)
}

// Decode returns the text of ids through the file's decoder. Special
// tokens are kept. An id outside the vocabulary decodes to Replacement.
// Byte tokens and byte-level tokens decode to their bytes, valid UTF-8 or
// not, so that Decode(Encode(x)) == x wherever the pipeline loses nothing.
func (t *HF) Decode(ids []int32) []byte {
	toks := make([]string, len(ids))
	added := make([]bool, len(ids))
	for i, id := range ids {
		if id < 0 || int(id) >= len(t.vocab) || t.vocab[id] == "" {
			toks[i] = Replacement
			added[i] = true
			continue
		}
		toks[i] = t.vocab[id]
		added[i] = t.added[id]
	}
	if len(t.decode) == 0 {
		return []byte(strings.Join(toks, " "))
	}
	for _, d := range t.decode {
		toks, added = d(toks, added)
	}
	return []byte(strings.Join(toks, ""))
}

package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tformer/tformer/internal/hfdir"
)

// VocabTxt is the file name of a BERT WordPiece vocabulary: one token per
// line, its id the line number (from 0).
const VocabTxt = "vocab.txt"

// bertTokenizerConfig holds the tokenizer_config.json fields that shape a
// BERT tokenizer built from vocab.txt.
type bertTokenizerConfig struct {
	Lower   *bool   `json:"do_lower_case"`
	Chinese *bool   `json:"tokenize_chinese_chars"`
	Strip   *bool   `json:"strip_accents"`
	UNK     *string `json:"unk_token"`
	SEP     *string `json:"sep_token"`
	PAD     *string `json:"pad_token"`
	CLS     *string `json:"cls_token"`
	MASK    *string `json:"mask_token"`
}

// loadVocabTxtDir reads a BERT directory that holds vocab.txt but no
// tokenizer.json, building the tokenizer Hugging Face's BertTokenizerFast
// makes from it: WordPiece with "##" continuations and [UNK] for words over
// 100 characters; BERT's normalizer (control-character cleanup, CJK
// characters split, accents stripped when lower-casing unless strip_accents
// says otherwise, lower case unless do_lower_case is false, as
// tokenizer_config.json says); BERT's pre-tokenizer; [CLS] A [SEP] (and
// [SEP] B [SEP] for pairs, of type 1); and the special tokens matched as
// added tokens.
func loadVocabTxtDir(dir string) (*HF, error) {
	path := filepath.Join(dir, VocabTxt)
	b, err := hfdir.ReadLimited(path, MaxHFFileBytes)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	var cfg bertTokenizerConfig
	cfgPath := filepath.Join(dir, "tokenizer_config.json")
	cb, err := hfdir.ReadLimited(cfgPath, MaxHFFileBytes)
	switch {
	case err == nil:
		if err := json.Unmarshal(cb, &cfg); err != nil {
			return nil, fmt.Errorf("tokenizer: %s: %w", cfgPath, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("tokenizer: %w", err)
	default:
		cb = nil
	}
	t, err := parseVocabTxt(b, cfg, cb)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	t.name = dir
	return t, nil
}

// parseVocabTxt builds the BERT tokenizer of a vocab.txt's contents.
func parseVocabTxt(b []byte, cfg bertTokenizerConfig, cfgJSON []byte) (*HF, error) {
	vocab := map[string]int{}
	lines := bytes.Split(b, []byte("\n"))
	if len(lines) > 0 && len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1] // the final newline ends the last token
	}
	if len(lines) == 0 {
		return nil, errors.New("empty vocabulary")
	}
	if len(lines) > MaxHFVocab {
		return nil, fmt.Errorf("%d tokens, more than the %d accepted", len(lines), MaxHFVocab)
	}
	for i, l := range lines {
		vocab[string(l)] = i // as Hugging Face's load_vocab: a repeated token keeps its last id
	}
	str := func(p *string, def string) string {
		if p != nil {
			return *p
		}
		return def
	}
	flag := func(p *bool, def bool) bool {
		if p != nil {
			return *p
		}
		return def
	}
	unk, sep, pad, cls, mask := str(cfg.UNK, "[UNK]"), str(cfg.SEP, "[SEP]"), str(cfg.PAD, "[PAD]"), str(cfg.CLS, "[CLS]"), str(cfg.MASK, "[MASK]")
	for _, s := range []struct{ name, tok string }{{"unk_token", unk}, {"cls_token", cls}, {"sep_token", sep}} {
		if _, ok := vocab[s.tok]; !ok {
			return nil, fmt.Errorf("the vocabulary has no %s %q", s.name, s.tok)
		}
	}
	var added []map[string]any
	seen := map[string]bool{}
	for _, s := range []string{pad, unk, cls, sep, mask} {
		if id, ok := vocab[s]; ok && !seen[s] {
			seen[s] = true
			added = append(added, map[string]any{"id": id, "content": s, "single_word": false, "lstrip": false,
				"rstrip": false, "normalized": false, "special": true})
		}
	}
	var strip any // null: strip accents when lower-casing
	if cfg.Strip != nil {
		strip = *cfg.Strip
	}
	j, err := json.Marshal(map[string]any{
		"added_tokens": added,
		"normalizer": map[string]any{"type": "BertNormalizer", "clean_text": true,
			"handle_chinese_chars": flag(cfg.Chinese, true), "strip_accents": strip, "lowercase": flag(cfg.Lower, true)},
		"pre_tokenizer":  map[string]any{"type": "BertPreTokenizer"},
		"post_processor": bertTemplate(cls, vocab[cls], sep, vocab[sep]),
		"decoder":        map[string]any{"type": "WordPiece", "prefix": "##", "cleanup": true},
		"model": map[string]any{"type": "WordPiece", "unk_token": unk, "continuing_subword_prefix": "##",
			"max_input_chars_per_word": 100, "vocab": vocab},
	})
	if err != nil {
		return nil, err
	}
	return ParseHF(j, cfgJSON)
}

// bertTemplate is the post-processor of BERT and ALBERT as Hugging Face's
// converters write it: [CLS] A [SEP], and [CLS] A [SEP] B [SEP] with B and
// its [SEP] of token type 1.
func bertTemplate(cls string, clsID int, sep string, sepID int) map[string]any {
	st := func(id string, typ int) map[string]any {
		return map[string]any{"SpecialToken": map[string]any{"id": id, "type_id": typ}}
	}
	sq := func(id string, typ int) map[string]any {
		return map[string]any{"Sequence": map[string]any{"id": id, "type_id": typ}}
	}
	return map[string]any{
		"type":   "TemplateProcessing",
		"single": []any{st(cls, 0), sq("A", 0), st(sep, 0)},
		"pair":   []any{st(cls, 0), sq("A", 0), st(sep, 0), sq("B", 1), st(sep, 1)},
		"special_tokens": map[string]any{
			cls: map[string]any{"id": cls, "ids": []int{clsID}, "tokens": []string{cls}},
			sep: map[string]any{"id": sep, "ids": []int{sepID}, "tokens": []string{sep}},
		},
	}
}

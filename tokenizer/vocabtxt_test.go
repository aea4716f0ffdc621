package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeVocabTxt writes the WordPiece vocabulary of a tokenizer.json fixture
// as vocab.txt (line i: the token of id i) into a new directory.
func writeVocabTxt(t *testing.T, fixture string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "hf", fixture, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Model struct {
			Vocab map[string]int `json:"vocab"`
		} `json:"model"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	lines := make([]string, len(f.Model.Vocab))
	for s, id := range f.Model.Vocab {
		lines[id] = s
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, VocabTxt), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A BERT directory with only vocab.txt gives the ids that the independent
// implementation (reference/hf_tokens.cjs) gives for the tokenizer.json
// Hugging Face's BertTokenizerFast converter writes from the same
// vocabulary: the "bert" fixture, on its 548 texts, with and without
// special tokens, for pairs with their token types, and decoded.
func TestVocabTxtMatchesReference(t *testing.T) {
	dir := writeVocabTxt(t, "bert")
	if !IsHFPath(dir) {
		t.Fatal("IsHFPath: a directory with vocab.txt is not a tokenizer")
	}
	tok, err := LoadHF(dir)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Kind() != "WordPiece" || tok.Name() != dir {
		t.Errorf("kind %q name %q", tok.Kind(), tok.Name())
	}
	b, err := os.ReadFile(filepath.Join("testdata", "hf", "bert", "ids.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		Cases []hfCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatal(err)
	}
	if len(fx.Cases) < 500 {
		t.Fatalf("only %d cases", len(fx.Cases))
	}
	bad := 0
	for _, c := range fx.Cases {
		sp, _ := tok.EncodeSpecial([]byte(c.Text), nil)
		ok := slices.Equal(tok.Encode([]byte(c.Text)), c.IDs) && slices.Equal(sp, c.Special) && string(tok.Decode(c.IDs)) == c.Decoded
		if c.Pair != nil {
			ids, types := tok.EncodeSpecial([]byte(c.Text), []byte(*c.Pair))
			ok = ok && slices.Equal(ids, c.PairIDs) && (c.PairTypes == nil || slices.Equal(types, c.PairTypes))
		}
		if !ok {
			if bad++; bad <= 5 {
				t.Errorf("%q: ids %v special %v, want %v %v", c.Text, tok.Encode([]byte(c.Text)), sp, c.IDs, c.Special)
			}
		}
	}
	if id, ok := tok.MaskToken(); !ok || id != 4 {
		t.Errorf("MaskToken %d %v", id, ok)
	}
}

// tokenizer_config.json's do_lower_case false keeps case (a cased BERT).
func TestVocabTxtConfig(t *testing.T) {
	dir := writeVocabTxt(t, "bert")
	lower, err := LoadHF(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(`{"do_lower_case": false}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cased, err := LoadHF(dir)
	if err != nil {
		t.Fatal(err)
	}
	text := []byte("The THE the")
	l, c := lower.Encode(text), cased.Encode(text)
	if slices.Equal(l, c) || !slices.Equal(lower.Encode([]byte("the the the")), l) {
		t.Errorf("lower %v, cased %v: do_lower_case false did not keep case", l, c)
	}
}

func TestVocabTxtBadInput(t *testing.T) {
	for _, c := range []struct{ vocab, config, want string }{
		{"", "", "empty vocabulary"},
		{"[UNK]\n[SEP]\na\n", "", `no cls_token "[CLS]"`},
		{"[CLS]\n[SEP]\na\n", "", `no unk_token "[UNK]"`},
		{"[UNK]\n[CLS]\n[SEP]\n", "{", "tokenizer_config.json"},
	} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, VocabTxt), []byte(c.vocab), 0o644)
		if c.config != "" {
			os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(c.config), 0o644)
		}
		if _, err := LoadHF(dir); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("vocab %q config %q: %v, want %q", c.vocab, c.config, err, c.want)
		}
	}
}

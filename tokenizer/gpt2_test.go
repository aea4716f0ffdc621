package tokenizer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

func gpt2(t testing.TB) *GPT2 {
	t.Helper()
	tok, err := NewGPT2()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestGPT2MatchesTiktoken compares the ids with those of an independent
// GPT-2 encoder, js-tiktoken (see reference/gpt2_tokens.cjs), on a varied
// sample: English, code, numbers, whitespace runs, newlines, many scripts,
// emoji, contractions and random strings.
func TestGPT2MatchesTiktoken(t *testing.T) {
	var fx struct {
		Encoder string
		Cases   []struct {
			Text string
			IDs  []int32
		}
	}
	b, err := os.ReadFile("testdata/gpt2_tiktoken.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatal(err)
	}
	if len(fx.Cases) < 400 || !strings.Contains(fx.Encoder, "js-tiktoken") {
		t.Fatalf("fixture has %d cases from %q", len(fx.Cases), fx.Encoder)
	}
	tok := gpt2(t)
	bad := 0
	for _, c := range fx.Cases {
		got := tok.Encode([]byte(c.Text))
		if !slices.Equal(got, c.IDs) {
			bad++
			if bad <= 5 {
				t.Errorf("Encode(%q)\n got %v\nwant %v", c.Text, got, c.IDs)
			}
		}
		if dec := tok.Decode(c.IDs); string(dec) != c.Text {
			t.Errorf("Decode(%v) = %q, want %q", c.IDs, dec, c.Text)
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d cases differ", bad, len(fx.Cases))
	}
}

// TestGPT2Pretokenize compares the hand-written split with the pieces
// Python's regex module finds with GPT-2's pattern (reference/gpt2_split_ref.py).
func TestGPT2Pretokenize(t *testing.T) {
	var fx struct {
		Cases []struct {
			Text   string
			Pieces []string
		}
	}
	b, err := os.ReadFile("testdata/gpt2_pretokens.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatal(err)
	}
	if len(fx.Cases) < 600 {
		t.Fatalf("fixture has only %d cases", len(fx.Cases))
	}
	for _, c := range fx.Cases {
		got := pieces(c.Text)
		if len(c.Pieces) == 0 {
			c.Pieces = nil
		}
		if !slices.Equal(got, c.Pieces) {
			t.Errorf("pretokenize(%q)\n got %q\nwant %q", c.Text, got, c.Pieces)
		}
	}
}

func pieces(s string) []string {
	var out []string
	pretokenize([]byte(s), func(p []byte) { out = append(out, string(p)) })
	return out
}

func TestGPT2PretokenizeInvalidUTF8(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"\xff", []string{"\xff"}},
		{"a\xffb", []string{"a", "\xff", "b"}},
		{"a \xff\xfe!b", []string{"a", " \xff\xfe!", "b"}},
		{"\xe4\xb8", []string{"\xe4\xb8"}},                  // truncated 中
		{"\xe4\xb8\xad\xe4\xb8", []string{"中", "\xe4\xb8"}}, // letter, then the broken one
		{"x\xc0\x80 1", []string{"x", "\xc0\x80", " 1"}},    // overlong encoding
		{"'s\xff", []string{"'s", "\xff"}},
		{"\xff  ", []string{"\xff", "  "}},
	} {
		if got := pieces(c.in); !slices.Equal(got, c.want) {
			t.Errorf("pretokenize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestGPT2Data(t *testing.T) {
	tok := gpt2(t)
	if tok.Name() != "gpt2" || tok.VocabSize() != GPT2Vocab {
		t.Fatalf("name %q, vocab %d", tok.Name(), tok.VocabSize())
	}
	// The merge list is OpenAI's vocab.bpe, byte for byte.
	sum := sha256.Sum256(tok.MergesTxt())
	if got := hex.EncodeToString(sum[:]); got != "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5" {
		t.Errorf("sha256 of the merges = %s", got)
	}
	if b, ok := tok.Token(GPT2EndOfText); !ok || string(b) != "<|endoftext|>" {
		t.Errorf("token %d = %q", GPT2EndOfText, b)
	}
	for s, id := range map[string]int32{"!": 0, "Hello": 15496, " world": 995, "\n": 198, "\n\n": 628, " the": 262} {
		if got := tok.Encode([]byte(s)); len(got) != 1 || got[0] != id {
			t.Errorf("Encode(%q) = %v, want [%d]", s, got, id)
		}
	}
	// vocab.json and merges.txt written out load back as GPT-2's tokenizer.
	v := tok.VocabJSON()
	var m map[string]int
	if err := json.Unmarshal(v, &m); err != nil || len(m) != GPT2Vocab || m["Ġthe"] != 262 || m["<|endoftext|>"] != GPT2EndOfText {
		t.Fatalf("VocabJSON: %v, %d entries", err, len(m))
	}
	back, err := LoadGPT2(v, tok.MergesTxt())
	if err != nil {
		t.Fatal(err)
	}
	if back != tok || back.Name() != "gpt2" {
		t.Errorf("loading GPT-2's own files gave %q, want the built-in tokenizer", back.Name())
	}
}

func TestNewGPT2ByName(t *testing.T) {
	tok, err := New("gpt2")
	if err != nil {
		t.Fatal(err)
	}
	if tok.Name() != "gpt2" || tok.VocabSize() != 50257 {
		t.Errorf("New(gpt2) = %s with %d tokens", tok.Name(), tok.VocabSize())
	}
}

func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		switch rng.IntN(4) {
		case 0:
			b[i] = byte(rng.IntN(256))
		case 1:
			b[i] = " \n\t'sa1"[rng.IntN(7)]
		default:
			b[i] = byte('a' + rng.IntN(26))
		}
	}
	return b
}

func TestGPT2RoundTripRandom(t *testing.T) {
	tok := gpt2(t)
	rng := rand.New(rand.NewPCG(1, 2))
	runes := []rune("aZ09 \t\n\r'’é中😀\u0301\u00a0\u3000\u0085\ufeff½Ⅻ!.")
	for i := 0; i < 500; i++ {
		var in []byte
		if i%2 == 0 {
			in = randomBytes(rng, rng.IntN(200))
		} else {
			var sb strings.Builder
			for range rng.IntN(80) {
				sb.WriteRune(runes[rng.IntN(len(runes))])
			}
			in = []byte(sb.String())
		}
		ids := tok.Encode(in)
		for _, id := range ids {
			if id < 0 || int(id) >= tok.VocabSize() {
				t.Fatalf("id %d out of range", id)
			}
		}
		if out := tok.Decode(ids); !bytes.Equal(out, in) {
			t.Fatalf("round trip of %q gave %q", in, out)
		}
	}
	// every single byte, and all 256 bytes in a row
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
		if ids := tok.Encode(all[i : i+1]); len(ids) != 1 || !bytes.Equal(tok.Decode(ids), all[i:i+1]) {
			t.Fatalf("byte %#x encodes to %v", i, ids)
		}
	}
	if !bytes.Equal(tok.Decode(tok.Encode(all)), all) {
		t.Fatal("round trip of all bytes failed")
	}
}

func TestGPT2LongInputs(t *testing.T) {
	tok := gpt2(t)
	// Long runs are single pieces: they must not be slow and must round-trip.
	for _, in := range [][]byte{
		bytes.Repeat([]byte(" "), 100000),
		bytes.Repeat([]byte("!?"), 50000),
		bytes.Repeat([]byte("a"), 100000),
		bytes.Repeat([]byte("\xff"), 10000),
		bytes.Repeat([]byte("😀"), 10000),
	} {
		ids := tok.Encode(in)
		if !bytes.Equal(tok.Decode(ids), in) {
			t.Fatalf("round trip of a %d-byte run failed", len(in))
		}
	}
}

func TestGPT2Concurrent(t *testing.T) {
	tok := gpt2(t)
	text := []byte("Concurrent encoders share one cache; they must agree. 12345 😀\n")
	want := tok.Encode(text)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if got := tok.Encode(text); !slices.Equal(got, want) {
					t.Error("concurrent Encode differs")
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestGPT2DecodeOutOfRange(t *testing.T) {
	tok := gpt2(t)
	got := tok.Decode([]int32{15496, -1, 50257, 1 << 30, 995})
	if want := "Hello" + Replacement + Replacement + Replacement + " world"; string(got) != want {
		t.Errorf("Decode = %q, want %q", got, want)
	}
}

// smallVocab returns vocab.json and merges.txt of a tiny BPE: the 256 bytes
// (id = byte value) and the given merges, in order.
func smallVocab(merges ...string) ([]byte, []byte) {
	v := map[string]int{}
	for b := 0; b < 256; b++ {
		v[string(byteToUnit[b])] = b
	}
	m := "#version: 0.2\n"
	for _, mg := range merges {
		a, c, _ := strings.Cut(mg, " ")
		v[a+c] = len(v)
		m += mg + "\n"
	}
	vb, _ := json.Marshal(v)
	return vb, []byte(m)
}

func TestLoadGPT2Custom(t *testing.T) {
	vj, mt := smallVocab("a b", "ab c", "Ġ ab", "c c")
	tok, err := LoadGPT2(vj, mt)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Name() != "bpe" || tok.VocabSize() != 260 {
		t.Fatalf("name %q, vocab %d", tok.Name(), tok.VocabSize())
	}
	for in, want := range map[string][]int32{
		"abc":    {257},
		"ab":     {256},
		" ab":    {258},
		" abc":   {' ', 257},
		" abab":  {258, 256},
		"cccc":   {259, 259},
		"ccc":    {259, 'c'},
		"abcabc": {257, 257},
	} {
		if got := tok.Encode([]byte(in)); !slices.Equal(got, want) {
			t.Errorf("Encode(%q) = %v, want %v", in, got, want)
		}
	}
	dir := t.TempDir()
	if err := tok.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	back, err := LoadGPT2Dir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !back.equal(tok) {
		t.Error("WriteDir/LoadGPT2Dir did not round-trip")
	}
	if _, err := LoadGPT2Dir(t.TempDir()); err == nil || !strings.Contains(err.Error(), "vocab.json") {
		t.Errorf("empty directory: %v", err)
	}
}

func TestLoadGPT2Errors(t *testing.T) {
	okV, okM := smallVocab("a b")
	noByte := strings.Replace(string(okV), `"a":97,`, `"aa":97,`, 1)
	abaV, _ := smallVocab("a b", "ab a")
	for _, c := range []struct {
		name, vocab, merges, want string
	}{
		{"not json", "[1,2]", "", "vocab.json"},
		{"empty", "{}", "", "empty vocabulary"},
		{"bad id", `{"a": -1}`, "", "ids must be integers"},
		{"float id", `{"a": 0.5}`, "", "ids must be integers"},
		{"missing byte", noByte, "", "no token for the byte"},
		{"duplicate id", strings.Replace(string(okV), `"ab":256`, `"ab":0`, 1), "", "id 0 is used by"},
		{"outside alphabet", strings.Replace(string(okV), `"ab":256`, `"a b":256`, 1), "", "byte alphabet"},
		{"bad merge line", string(okV), "a b c\n", "two tokens"},
		{"merge of unknown", string(okV), "a x\n", "not in vocab.json"},
		{"result unknown", string(okV), "b a\n", "is not in vocab.json"},
		{"used before made", string(abaV), "ab a\na b\n", "no earlier merge makes"},
		{"made twice", string(okV), "a b\na b\n", "already makes"},
		{"merges not utf8", string(okV), "a \xff\n", "UTF-8"},
	} {
		_, err := LoadGPT2([]byte(c.vocab), []byte(c.merges))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	if _, err := LoadGPT2(okV, okM); err != nil {
		t.Errorf("valid files: %v", err)
	}
}

func BenchmarkGPT2Encode(b *testing.B) {
	tok := gpt2(b)
	var sb strings.Builder
	for i := 0; sb.Len() < 1<<20; i++ {
		fmt.Fprintf(&sb, "Line %d: the quick brown fox's %d jumps, over 'the' lazy dog.\n\t", i, i*7919)
	}
	text := []byte(sb.String())
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		tok.Encode(text)
	}
}

// FuzzGPT2Tokenizer checks that any input encodes to ids in range that decode
// back to the input, and that the pieces cover the input.
func FuzzGPT2Tokenizer(f *testing.F) {
	for _, s := range []string{"", "Hello world", "it's", "  \n\n x", "\xff\xfe", "😀 1½", "a\u0085b\ufeff"} {
		f.Add([]byte(s))
	}
	tok := gpt2(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		var joined []byte
		pretokenize(in, func(p []byte) {
			if len(p) == 0 {
				t.Fatal("empty piece")
			}
			joined = append(joined, p...)
		})
		if !bytes.Equal(joined, in) {
			t.Fatalf("pieces of %q join to %q", in, joined)
		}
		ids := tok.Encode(in)
		for _, id := range ids {
			if id < 0 || id >= GPT2Vocab {
				t.Fatalf("id %d out of range", id)
			}
		}
		if out := tok.Decode(ids); !bytes.Equal(out, in) {
			t.Fatalf("round trip of %q gave %q", in, out)
		}
		if utf8.Valid(in) && len(ids) > len(in) {
			t.Fatalf("%d ids for %d bytes", len(ids), len(in))
		}
	})
}

// FuzzLoadGPT2 checks that arbitrary vocab/merges files give a tokenizer or
// an error, never a panic, and that a tokenizer they give round-trips.
func FuzzLoadGPT2(f *testing.F) {
	v, m := smallVocab("a b", "ab c")
	f.Add(v, m)
	f.Add([]byte(`{"a":0}`), []byte("a a\n"))
	f.Fuzz(func(t *testing.T, vocab, merges []byte) {
		tok, err := LoadGPT2(vocab, merges)
		if err != nil {
			return
		}
		in := []byte("abc ab c\xff")
		if out := tok.Decode(tok.Encode(in)); !bytes.Equal(out, in) {
			t.Fatalf("round trip gave %q", out)
		}
		dir := t.TempDir()
		if err := tok.WriteDir(dir); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadGPT2Dir(filepath.Clean(dir)); err != nil {
			t.Fatal(err)
		}
	})
}

package tokenizer

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// streamed decodes ids after context one at a time with a StreamDecoder.
func streamed(t Tokenizer, context, ids []int32) (string, int) {
	d := NewStreamDecoder(t, context)
	var b strings.Builder
	held := 0
	for _, id := range ids {
		p := d.Next(id)
		if p == nil {
			held++
		}
		b.Write(p)
	}
	b.Write(d.Flush())
	return b.String(), held
}

// Token by token, a StreamDecoder writes what Decode writes for the whole
// sequence after the context's text, for every fixture tokenizer (their
// decoders: ByteLevel, SentencePiece's ▁ with a first-space strip, byte
// fallback, WordPiece, Unigram) on the several hundred texts of their
// reference fixtures, long ones (past its window) included.
func TestStreamDecoderMatchesDecode(t *testing.T) {
	for _, name := range hfFixtures {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", "hf", name)
			tok, err := LoadHF(dir)
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(dir, "ids.json"))
			if err != nil {
				t.Fatal(err)
			}
			var fx struct {
				Cases []hfCase `json:"cases"`
			}
			if err := json.Unmarshal(b, &fx); err != nil {
				t.Fatal(err)
			}
			checked, long, bad := 0, 0, 0
			for _, c := range fx.Cases {
				if len(c.IDs) < 2 {
					continue
				}
				for _, k := range []int{1, len(c.IDs) / 3} {
					if k < 1 {
						continue
					}
					whole, ctx := tok.Decode(c.IDs), tok.Decode(c.IDs[:k])
					if !bytes.HasPrefix(whole, ctx) {
						continue // the context's text is changed by what follows: no streaming can match
					}
					want := string(whole[len(ctx):])
					got, _ := streamed(tok, c.IDs[:k], c.IDs[k:])
					checked++
					if len(c.IDs)-k > 2*streamWindow {
						long++
					}
					if got != want {
						bad++
						if bad <= 5 {
							t.Errorf("%q after %d ids: streamed %q, Decode gives %q", c.Text, k, got, want)
						}
					}
				}
			}
			t.Logf("%d comparisons, %d past the window", checked, long)
			if checked < 300 || long < 20 {
				t.Errorf("only %d comparisons (%d past the window)", checked, long)
			}
		})
	}
}

// The reason it exists: a SentencePiece tokenizer's ids decoded one by one
// lose every space, and a character split into byte-fallback pieces is
// held back until it is whole, then written once.
func TestStreamDecoderSpacesAndSplitCharacters(t *testing.T) {
	tok, err := LoadHF(filepath.Join("testdata", "hf", "llama2"))
	if err != nil {
		t.Fatal(err)
	}
	if PerToken(tok) {
		t.Fatal("a SentencePiece tokenizer is not PerToken")
	}
	text := "The cat sat on the mat, and a 🦙 ate the hay."
	ids := tok.Encode([]byte(text))
	var alone []byte
	for _, id := range ids {
		alone = append(alone, tok.Decode([]int32{id})...)
	}
	if string(alone) == text {
		t.Fatalf("decoded alone the ids keep their spaces (%q): the test shows nothing", alone)
	}
	got, held := streamed(tok, ids[:1], ids[1:])
	if want := string(tok.Decode(ids)[len(tok.Decode(ids[:1])):]); got != want || !strings.HasPrefix(want, " cat sat") {
		t.Errorf("streamed %q, want %q", got, want)
	}
	if held == 0 {
		t.Errorf("the llama's bytes (%v) were never held back", ids)
	}
}

// PerToken tokenizers decode each id alone to its share of the whole.
func TestPerToken(t *testing.T) {
	g, err := NewGPT2()
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []Tokenizer{Byte{}, g} {
		if !PerToken(tok) {
			t.Fatalf("%s is not PerToken", tok.Name())
		}
		ids := tok.Encode([]byte("Hello world, the € sign and naïve café 🦙."))
		var alone []byte
		for _, id := range ids {
			alone = append(alone, tok.Decode([]int32{id})...)
		}
		if !bytes.Equal(alone, tok.Decode(ids)) {
			t.Errorf("%s: %q alone, %q whole", tok.Name(), alone, tok.Decode(ids))
		}
	}
}

// Package tokenizer converts between text and the integer token ids that
// tformer models read and write.
//
// Byte uses each byte of the text as a token; GPT2 is OpenAI's GPT-2
// byte-level BPE tokenizer (50257 tokens, its merge list built in). New looks
// tokenizers up by name, so that command-line flags and saved model
// configurations can refer to them.
package tokenizer

import (
	"fmt"
	"hash/fnv"
	"strings"
)

// Tokenizer turns text into token ids and back.
//
// Encode and Decode are total: every input gives a result. Decode(Encode(t))
// returns t for tokenizers that are lossless, as Byte is.
type Tokenizer interface {
	// Name returns the name under which New finds this tokenizer.
	Name() string
	// VocabSize returns the number of distinct token ids; every id that
	// Encode produces is in [0, VocabSize()).
	VocabSize() int
	// Encode returns the token ids for text.
	Encode(text []byte) []int32
	// Decode returns the text for a sequence of token ids.
	Decode(ids []int32) []byte
}

// Replacement is the UTF-8 encoding of U+FFFD, the Unicode replacement
// character, which Decode writes in place of an id outside the vocabulary.
const Replacement = "\xef\xbf\xbd"

// Byte is the byte-level tokenizer: it has 256 tokens and the id of a byte
// is its value, so any byte string, valid UTF-8 or not, round-trips
// exactly. Its zero value is ready to use.
type Byte struct{}

var _ Tokenizer = Byte{}

// Name returns "byte".
func (Byte) Name() string { return "byte" }

// VocabSize returns 256.
func (Byte) VocabSize() int { return 256 }

// Encode returns one id per byte of text, equal to the byte's value.
func (Byte) Encode(text []byte) []int32 {
	ids := make([]int32, len(text))
	for i, c := range text {
		ids[i] = int32(c)
	}
	return ids
}

// Decode returns the bytes whose values are ids. An id outside [0, 256),
// which a model can only produce if it is misconfigured, is not an error:
// it decodes to Replacement (three bytes), so that Decode never fails and
// the bad position stays visible in the output.
func (Byte) Decode(ids []int32) []byte {
	out := make([]byte, 0, len(ids))
	for _, id := range ids {
		if id < 0 || id > 255 {
			out = append(out, Replacement...)
			continue
		}
		out = append(out, byte(id))
	}
	return out
}

// known lists the tokenizers New can build, in the order they are listed
// in error messages.
var known = []struct {
	name string
	make func() (Tokenizer, error)
}{
	{"byte", func() (Tokenizer, error) { return Byte{}, nil }},
	{"gpt2", func() (Tokenizer, error) {
		t, err := NewGPT2()
		if err != nil {
			return nil, err
		}
		return t, nil
	}},
}

// New returns the tokenizer called name. The known names are "byte" and
// "gpt2"; any other name is taken as the path of a Hugging Face
// tokenizer.json, or of a directory holding one (see LoadHF). For a name
// that is neither it returns an error that lists the known names.
func New(name string) (Tokenizer, error) {
	names := make([]string, len(known))
	for i, k := range known {
		if k.name == name {
			return k.make()
		}
		names[i] = fmt.Sprintf("%q", k.name)
	}
	if IsHFPath(name) {
		return LoadHF(name)
	}
	return nil, fmt.Errorf("tokenizer: unknown tokenizer %q (known: %s, or the path of a tokenizer.json or of a directory holding one)", name, strings.Join(names, ", "))
}

// Fingerprint returns a hash of t's vocabulary (its size and the bytes
// each id decodes to), by which a token file recognises the tokenizer that
// made it whatever its name or path.
func Fingerprint(t Tokenizer) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d\n", t.VocabSize())
	var id [1]int32
	for i := 0; i < t.VocabSize(); i++ {
		id[0] = int32(i)
		b := t.Decode(id[:])
		fmt.Fprintf(h, "%d:", len(b))
		h.Write(b)
	}
	return h.Sum64()
}

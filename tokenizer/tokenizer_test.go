package tokenizer

import (
	"bytes"
	"strings"
	"testing"
)

func TestByteBasics(t *testing.T) {
	var tok Tokenizer = Byte{}
	if got := tok.Name(); got != "byte" {
		t.Errorf("Name() = %q, want %q", got, "byte")
	}
	if got := tok.VocabSize(); got != 256 {
		t.Errorf("VocabSize() = %d, want 256", got)
	}
	got := tok.Encode([]byte("Hi!\n\x00\xff"))
	want := []int32{'H', 'i', '!', '\n', 0, 255}
	if len(got) != len(want) {
		t.Fatalf("Encode = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Encode = %v, want %v", got, want)
		}
	}
	if ids := tok.Encode(nil); len(ids) != 0 {
		t.Errorf("Encode(nil) = %v, want empty", ids)
	}
	if b := tok.Decode(nil); len(b) != 0 {
		t.Errorf("Decode(nil) = %q, want empty", b)
	}
}

func TestByteRoundTrip(t *testing.T) {
	tok := Byte{}
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	inputs := [][]byte{all, []byte("héllo, wörld"), {0xc3, 0x28, 0xff}} // the last is invalid UTF-8
	// Pseudo-random bytes from a fixed xorshift generator.
	x := uint64(88172645463325252)
	for n := range 50 {
		b := make([]byte, n*37)
		for i := range b {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			b[i] = byte(x)
		}
		inputs = append(inputs, b)
	}
	for _, in := range inputs {
		ids := tok.Encode(in)
		for _, id := range ids {
			if id < 0 || int(id) >= tok.VocabSize() {
				t.Fatalf("Encode produced id %d outside [0, %d)", id, tok.VocabSize())
			}
		}
		if out := tok.Decode(ids); !bytes.Equal(out, in) {
			t.Fatalf("round trip of %q gave %q", in, out)
		}
	}
}

func TestByteDecodeOutOfRange(t *testing.T) {
	got := Byte{}.Decode([]int32{'a', 256, 'b', -1, 1 << 30, 'c', 255})
	want := "a" + Replacement + "b" + Replacement + Replacement + "c\xff"
	if string(got) != want {
		t.Errorf("Decode = %q, want %q", got, want)
	}
	if Replacement != "\uFFFD" {
		t.Errorf("Replacement = %q, want U+FFFD", Replacement)
	}
}

func TestNew(t *testing.T) {
	tok, err := New("byte")
	if err != nil {
		t.Fatalf(`New("byte"): %v`, err)
	}
	if _, ok := tok.(Byte); !ok || tok.Name() != "byte" {
		t.Errorf(`New("byte") = %#v, want Byte{}`, tok)
	}
	for _, name := range []string{"", "Byte", "GPT2", "bytes"} {
		tok, err := New(name)
		if err == nil {
			t.Errorf("New(%q) = %v, want an error", name, tok)
			continue
		}
		if tok != nil {
			t.Errorf("New(%q) returned a tokenizer with its error", name)
		}
		if msg := err.Error(); !strings.Contains(msg, `"byte"`) || !strings.Contains(msg, "unknown tokenizer") {
			t.Errorf("New(%q) error %q should say the name is unknown and list \"byte\"", name, msg)
		}
	}
}

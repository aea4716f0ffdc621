package tokenizer

import (
	"bytes"
	"unicode/utf8"
)

// PerToken reports whether t's text for a sequence is the text of each of
// its ids decoded alone, concatenated: true of Byte and GPT2 (every id is
// a fixed byte string). Other tokenizers' decoders work across tokens
// (SentencePiece's ▁ becomes a space except at the start, WordPiece joins
// ## pieces, byte fallback joins the bytes of one character), so text
// generated token by token needs a StreamDecoder.
func PerToken(t Tokenizer) bool {
	switch t.(type) {
	case Byte, *Byte, *GPT2:
		return true
	}
	return false
}

// streamWindow is how many ids a StreamDecoder keeps before it starts
// again from its last ones: the decoding of one id looks back at most this
// far (a character split into byte-fallback pieces has at most 4).
const streamWindow = 8

// StreamDecoder turns ids given one at a time into text, as a generation
// needs it: the pieces Next returns, followed by Flush, are the text that
// Decode gives for the context and the ids together, after the context's
// own. It decodes the last few ids again at each step, so every piece has
// the spaces and characters the tokenizer's decoder gives it in the middle
// of a text. A piece is held back while the text ends in an incomplete
// character (the first bytes of one split across ids). A StreamDecoder is
// not safe for concurrent use.
type StreamDecoder struct {
	t    Tokenizer
	ids  []int32 // the ids decoded at each step: a tail of context and ids
	last []byte  // Decode(ids) at the last step
	sent int     // bytes of last already returned (or the context's)
}

// NewStreamDecoder returns a StreamDecoder after context, the ids that come
// before the first one given to Next (for a completion, the prompt; only
// its last few ids are used).
func NewStreamDecoder(t Tokenizer, context []int32) *StreamDecoder {
	d := &StreamDecoder{t: t}
	d.Reset(context)
	return d
}

// Reset starts again after context.
func (d *StreamDecoder) Reset(context []int32) {
	d.ids = append(d.ids[:0], context[max(0, len(context)-streamWindow):]...)
	d.last = d.t.Decode(d.ids)
	d.sent = len(d.last)
}

// Next adds id and returns the text it completes (nil while it is held back).
func (d *StreamDecoder) Next(id int32) []byte {
	if len(d.ids) >= 2*streamWindow && d.sent == len(d.last) {
		// Start again from the last ids; what they decode to is sent.
		d.ids = append(d.ids[:0], d.ids[len(d.ids)-streamWindow:]...)
		d.last = d.t.Decode(d.ids)
		d.sent = len(d.last)
	}
	d.ids = append(d.ids, id)
	d.last = d.t.Decode(d.ids)
	if incomplete(d.last) {
		return nil
	}
	return d.take()
}

// Flush returns the text held back, if any.
func (d *StreamDecoder) Flush() []byte { return d.take() }

func (d *StreamDecoder) take() []byte {
	if d.sent >= len(d.last) {
		return nil
	}
	out := bytes.Clone(d.last[d.sent:])
	d.sent = len(d.last)
	return out
}

// incomplete reports whether b ends in the first bytes of a UTF-8 character
// or in the replacement character, which byte fallback writes for the
// first bytes of a character whose last ones are still to come.
func incomplete(b []byte) bool {
	if bytes.HasSuffix(b, []byte(Replacement)) {
		return true
	}
	for k := 1; k <= min(3, len(b)); k++ {
		c := b[len(b)-k]
		if c < utf8.RuneSelf {
			return false
		}
		if utf8.RuneStart(c) {
			return !utf8.FullRune(b[len(b)-k:])
		}
	}
	return false
}

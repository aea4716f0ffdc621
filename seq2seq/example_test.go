package seq2seq_test

import (
	"fmt"
	"strings"

	"github.com/tformer/tformer/seq2seq"
	"github.com/tformer/tformer/tokenizer"
)

// The built-in task, tokenized at the byte level and batched.
func ExampleTask() {
	train, heldOut, _ := seq2seq.Task("facts", 1)
	fmt.Println(len(train), len(heldOut))
	v := seq2seq.NewVocab(tokenizer.Byte{})
	lim := seq2seq.Limits{MaxSrc: 48, MaxTgt: 48}
	pairs, _ := seq2seq.Encode(v, train, lim)
	s, _ := seq2seq.NewSampler(pairs, v, lim, 1)
	b, _ := seq2seq.NewBatch(4, lim)
	_ = s.Fill(b, 0)
	fmt.Printf("%q -> %q\n", v.Text(b.Src[:b.SrcLen]), v.Text(b.Labels[:b.TgtLen]))
	// Output:
	// 780 112
	// "How big is the owl?" -> "The owl is a small animal."
}

// User pairs from a TSV file; bad lines are named.
func ExampleReadTSV() {
	v := seq2seq.NewVocab(tokenizer.Byte{})
	lim := seq2seq.Limits{MaxSrc: 16, MaxTgt: 16}
	pairs, err := seq2seq.ReadTSV(strings.NewReader("hello\tbonjour\ncat\tchat\n"), v, lim)
	fmt.Println(len(pairs), err)
	_, err = seq2seq.ReadTSV(strings.NewReader("hello\tbonjour\ncat\n"), v, lim)
	fmt.Println(err)
	// Output:
	// 2 <nil>
	// line 2: one column, no tab (want source<TAB>target)
}

// BART-style text infilling: spans become one <mask> each.
func ExampleInfill() {
	v := seq2seq.NewVocab(tokenizer.Byte{})
	src, spans, _ := seq2seq.Infill(v.Encode("The cat is grey and says meow."), v.Mask, seq2seq.DefaultNoise(3), 0)
	fmt.Printf("%q, %d spans\n", v.Text(src), len(spans))
	// Output: "The ca<mask>i<mask>ey and says m<mask>.", 3 spans
}

// Package corpus provides the built-in training text that `tformer train`
// uses when no --data flag is given.
//
// The text is not taken from any book, website or data set: it is generated
// procedurally, at first use, by the code in this package. A small English
// grammar with a vocabulary of a few hundred words writes short stories
// about animals and the people of a handful of villages, and these are mixed
// with more regular material: lists of facts, question-and-answer drills,
// short dialogues, arithmetic lines such as "7 + 5 = 12.", counting
// sequences, and the days of the week and months of the year in order.
// Paragraphs are separated by blank lines.
//
// The world behind the text is fixed. Each animal always has the same
// colour, sound, home, food and number of legs, each person always has the
// same job, town and pet, and every sum is correct, so a model has
// consistent facts to learn rather than noise. The corpus is big enough
// (about 1.5 MB) that a small byte-level model does not simply memorise it
// in a short run, yet regular enough that a model of about a million
// parameters visibly learns its words, sentence shapes and simple facts in a
// minute or two on a laptop CPU.
//
// Generation uses a fixed seed and a pseudo-random generator implemented in
// this package (splitmix64), so the bytes are identical on every call,
// platform and Go release. The output is plain ASCII: printable characters
// and '\n' only.
package corpus

import (
	"bytes"
	"fmt"
	"sync"
)

const (
	// seed is the fixed PRNG seed for the default corpus. Changing it, or
	// any table or template in this package, changes the corpus; the
	// package tests record a hash of the output to catch that.
	seed uint64 = 0x7466_6f72_6d65_7231

	// targetSize is the size, in bytes, at which generation stops; the
	// last paragraph is always finished, so the corpus is slightly longer.
	targetSize = 1_500_000
)

var (
	once   sync.Once
	cached []byte
)

// text returns the shared, generated corpus. It must not be modified.
func text() []byte {
	once.Do(func() { cached = generate(seed, targetSize) })
	return cached
}

// Default returns the built-in training corpus: about 1.5 MB of generated
// ASCII English text (see the package documentation). The bytes are the
// same on every call and every platform. The corpus is generated once, on
// the first call, and cached; each call returns a fresh copy, so the caller
// may modify the result freely.
func Default() []byte {
	return bytes.Clone(text())
}

// Describe returns a one-line description of the default corpus and its
// size, suitable for command-line help.
func Describe() string {
	n := len(text())
	return fmt.Sprintf("built-in generated English corpus: animal and village stories, facts, "+
		"Q&A, dialogues, arithmetic, counting and calendar lines (%d bytes, %.1f MB, ASCII)",
		n, float64(n)/1e6)
}

// Package seq2seq provides sequence-to-sequence training data for
// encoder–decoder models: a task built into tformer (questions about the
// built-in corpus's world, and word reversal of its sentences), user pairs
// from a TSV file of source<TAB>target lines, and BART-style denoising
// (text infilling: Poisson(λ) spans each replaced by one mask token) over
// any text. All three give Pairs of token ids from one of the project's
// tokenizers (byte, GPT-2 BPE) extended by four special ids, and a Batch
// pads them to fixed shapes and records every row's lengths.
//
// Everything is deterministic: the same seed gives the same examples,
// splits, noise and batches on every platform (the generator is a
// splitmix64 implemented here, as corpus/ does).
package seq2seq

import (
	"fmt"
	"math/bits"
	"strings"

	"github.com/tformer/tformer/tokenizer"
)

// Pair is one training example: source and target token ids, without
// special tokens (Batch adds EOS to the source, BOS and EOS to the target).
type Pair struct {
	Src, Tgt []int32
}

// Example is a pair as text.
type Example struct {
	Source, Target string
}

// Vocab is a tokenizer plus the special ids an encoder–decoder needs.
// NewVocab places them after the tokenizer's ids; a checkpoint with its own
// layout (BART: <s> 0, <pad> 1, </s> 2, <mask> last) can set them instead.
type Vocab struct {
	Tok                 tokenizer.Tokenizer
	Pad, BOS, EOS, Mask int32
	N                   int // model vocabulary size: every id is in [0, N)
}

// NewVocab extends tok with PAD, BOS, EOS and MASK at K, K+1, K+2, K+3
// (K = tok.VocabSize()); the model's vocabulary is K+4.
func NewVocab(tok tokenizer.Tokenizer) Vocab {
	k := int32(tok.VocabSize())
	return Vocab{Tok: tok, Pad: k, BOS: k + 1, EOS: k + 2, Mask: k + 3, N: int(k) + 4}
}

// Size is the model's vocabulary size.
func (v Vocab) Size() int { return v.N }

// Encode tokenizes text (no special ids).
func (v Vocab) Encode(text string) []int32 { return v.Tok.Encode([]byte(text)) }

// Text decodes ids up to the first EOS, leaving out BOS and PAD and writing
// "<mask>" for MASK.
func (v Vocab) Text(ids []int32) string {
	var b strings.Builder
	run := ids[:0:0]
	flush := func() { b.Write(v.Tok.Decode(run)); run = run[:0] }
	for _, id := range ids {
		switch id {
		case v.EOS:
			flush()
			return b.String()
		case v.BOS, v.Pad:
		case v.Mask:
			flush()
			b.WriteString("<mask>")
		default:
			run = append(run, id)
		}
	}
	flush()
	return b.String()
}

// Limits are the longest sequences a model takes: MaxSrc tokens into the
// encoder (the source and its EOS), MaxTgt into the decoder (BOS and the
// target; the labels are the target and EOS).
type Limits struct {
	MaxSrc, MaxTgt int
}

// Validate reports limits too small to hold a token and its EOS.
func (l Limits) Validate() error {
	if l.MaxSrc < 2 || l.MaxTgt < 2 {
		return fmt.Errorf("source and target limits must be at least 2 (a token and EOS), got %d and %d", l.MaxSrc, l.MaxTgt)
	}
	return nil
}

// check reports a pair that does not fit (empty, or too long with its
// special tokens).
func (l Limits) check(p Pair) error {
	switch {
	case len(p.Src) == 0:
		return fmt.Errorf("the source is empty")
	case len(p.Tgt) == 0:
		return fmt.Errorf("the target is empty")
	case len(p.Src)+1 > l.MaxSrc:
		return fmt.Errorf("the source is %d tokens, longer than the encoder's context of %d (with EOS: at most %d tokens)", len(p.Src), l.MaxSrc, l.MaxSrc-1)
	case len(p.Tgt)+1 > l.MaxTgt:
		return fmt.Errorf("the target is %d tokens, longer than the decoder's context of %d (with BOS/EOS: at most %d tokens)", len(p.Tgt), l.MaxTgt, l.MaxTgt-1)
	}
	return nil
}

// FitLimits returns the smallest limits that hold every pair given, with
// their special tokens.
func FitLimits(sets ...[]Pair) Limits {
	l := Limits{MaxSrc: 2, MaxTgt: 2}
	for _, ps := range sets {
		for _, p := range ps {
			l.MaxSrc, l.MaxTgt = max(l.MaxSrc, len(p.Src)+1), max(l.MaxTgt, len(p.Tgt)+1)
		}
	}
	return l
}

// Encode tokenizes examples into pairs; an example that does not fit lim
// is an error naming it (1-based).
func Encode(v Vocab, examples []Example, lim Limits) ([]Pair, error) {
	if err := lim.Validate(); err != nil {
		return nil, err
	}
	out := make([]Pair, len(examples))
	for i, e := range examples {
		p := Pair{Src: v.Encode(e.Source), Tgt: v.Encode(e.Target)}
		if err := lim.check(p); err != nil {
			return nil, fmt.Errorf("example %d (%.40q): %w", i+1, e.Source, err)
		}
		out[i] = p
	}
	return out, nil
}

// rng is splitmix64, fixed here so that data never changes with the Go
// release.
type rng struct{ s uint64 }

func newRNG(seed, stream uint64) *rng {
	r := &rng{s: seed ^ (stream * 0x9e3779b97f4a7c15)}
	r.next()
	return r
}

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn is uniform in [0, n), n > 0 (Lemire's multiply-shift; the bias is
// below 2⁻³² for the n used here).
func (r *rng) intn(n int) int {
	hi, _ := bits.Mul64(r.next(), uint64(n))
	return int(hi)
}

// float64 is uniform in [0, 1).
func (r *rng) float64() float64 { return float64(r.next()>>11) / (1 << 53) }

// shuffle permutes xs in place (Fisher–Yates).
func shuffle[T any](r *rng, xs []T) {
	for i := len(xs) - 1; i > 0; i-- {
		j := r.intn(i + 1)
		xs[i], xs[j] = xs[j], xs[i]
	}
}

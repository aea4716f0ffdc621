package model

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// MaskedPerSeq is the number of positions masked-LM predicts in a sequence
// of n maskable tokens: max(1, round(0.15·n)) as BERT's data pipeline
// chooses (halves round up; computed in integers, so it is exact), and 0
// for n = 0. A batch of B full windows of T tokens predicts B·MaskedPerSeq(T).
func MaskedPerSeq(n int) int {
	if n <= 0 {
		return 0
	}
	return max(1, (15*n+50)/100)
}

// The corruption of the chosen positions, as in BERT: 80% become [MASK],
// 10% a random token, 10% keep their token.
const (
	MaskFraction   = 0.8
	RandomFraction = 0.1
)

// Masker chooses and corrupts the positions of masked-LM batches. Its
// scratch space is reused, so masking allocates nothing once it has seen the
// longest sequence.
type Masker struct {
	MaskID      int32 // the [MASK] id (Config.MaskID)
	RandomVocab int   // random replacements are drawn from [0, RandomVocab): the tokenizer's own ids
	// Keep lists ids that are never chosen, besides MaskID: the special
	// tokens around a window ([CLS], [SEP], [PAD]), as Hugging Face's
	// masking skips its special tokens.
	Keep []int32
	idx  []int32
}

// NewMasker returns the masker for an encoder config. With the reserved
// [MASK] (the last id) random replacements come from the ids below it; with
// the tokenizer's own [MASK] (Config.MaskToken, as in BERT) from the whole
// vocabulary, as Hugging Face's masking draws them.
func NewMasker(c Config) *Masker {
	if c.MaskReserved() {
		return &Masker{MaskID: c.MaskID(), RandomVocab: c.Vocab - 1}
	}
	return &Masker{MaskID: c.MaskID(), RandomVocab: c.Vocab}
}

// maskable reports whether a position holding id may be chosen.
func (mk *Masker) maskable(id int32) bool {
	return id != mk.MaskID && !slices.Contains(mk.Keep, id)
}

// Mask chooses, in each of the b sequences of t tokens, exactly
// MaskedPerSeq(n) of its n maskable positions uniformly at random (a
// position is maskable when it is inside the sequence's length and its token
// is neither [MASK] nor in Keep), and corrupts tokens in place: each chosen token becomes
// [MASK] with probability 0.8, a uniformly random id in [0, RandomVocab)
// with 0.1, and stays with 0.1. It appends the chosen flat positions (in
// increasing order) and their original tokens to positions and targets and
// returns them. lengths may be nil (every sequence full). A sequence with no
// maskable token is an error. The choice depends only on rng's stream.
func (mk *Masker) Mask(rng *rand.Rand, tokens []int32, b, t int, lengths []int32, positions, targets []int32) ([]int32, []int32, error) {
	if mk.RandomVocab < 1 {
		return positions, targets, fmt.Errorf("mask: random replacements need at least one token id, got RandomVocab %d", mk.RandomVocab)
	}
	if len(tokens) != b*t {
		return positions, targets, fmt.Errorf("mask: want %d×%d = %d tokens, got %d", b, t, b*t, len(tokens))
	}
	if cap(mk.idx) < t {
		mk.idx = make([]int32, 0, t)
	}
	for r := 0; r < b; r++ {
		n := t
		if lengths != nil {
			n = min(t, max(0, int(lengths[r])))
		}
		idx := mk.idx[:0]
		for i := 0; i < n; i++ {
			if mk.maskable(tokens[r*t+i]) {
				idx = append(idx, int32(r*t+i))
			}
		}
		if len(idx) == 0 {
			return positions, targets, fmt.Errorf("mask: sequence %d has no maskable tokens (%d positions, all padding or [MASK]); masked-LM needs at least one", r, n)
		}
		k := MaskedPerSeq(len(idx))
		// Partial Fisher–Yates: the first k entries become a uniform sample.
		for i := 0; i < k; i++ {
			j := i + rng.IntN(len(idx)-i)
			idx[i], idx[j] = idx[j], idx[i]
		}
		chosen := idx[:k]
		slices.Sort(chosen)
		for _, p := range chosen {
			positions = append(positions, p)
			targets = append(targets, tokens[p])
			switch u := rng.Float64(); {
			case u < MaskFraction:
				tokens[p] = mk.MaskID
			case u < MaskFraction+RandomFraction:
				tokens[p] = int32(rng.IntN(mk.RandomVocab))
			}
		}
	}
	return positions, targets, nil
}

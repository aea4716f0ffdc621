package seq2seq

import (
	"errors"
	"fmt"
)

// IgnoreLabel marks the label positions past a target's EOS: a loss skips
// them.
const IgnoreLabel int32 = -1

// Batch is a fixed-shape batch of pairs. Row r of Src holds the source ids
// and EOS, then Pad; SrcLens[r] counts the ids and EOS, so key positions at
// or past it are padding. Row r of DecIn holds BOS and the target ids, then
// Pad; Labels holds the target ids and EOS, then IgnoreLabel; TgtLens[r]
// counts the positions that have a label. Rows past Rows (a short last
// batch) have lengths 0.
type Batch struct {
	Size, SrcLen, TgtLen int // rows; columns of Src; columns of DecIn and Labels
	Rows                 int // rows holding a pair
	Src                  []int32
	SrcLens              []int
	DecIn, Labels        []int32
	TgtLens              []int
}

// NewBatch allocates a batch of size rows shaped by lim.
func NewBatch(size int, lim Limits) (*Batch, error) {
	if err := lim.Validate(); err != nil {
		return nil, err
	}
	if size <= 0 || lim.MaxSrc > 1<<26 || lim.MaxTgt > 1<<26 || size > (1<<26)/max(lim.MaxSrc, lim.MaxTgt) {
		return nil, fmt.Errorf("batch of %d rows of %d and %d tokens: want 1 or more rows and at most %d tokens per tensor", size, lim.MaxSrc, lim.MaxTgt, 1<<26)
	}
	return &Batch{Size: size, SrcLen: lim.MaxSrc, TgtLen: lim.MaxTgt,
		Src: make([]int32, size*lim.MaxSrc), SrcLens: make([]int, size),
		DecIn: make([]int32, size*lim.MaxTgt), Labels: make([]int32, size*lim.MaxTgt), TgtLens: make([]int, size)}, nil
}

// Fill puts pairs (at most Size) into the batch's rows in order, without
// allocating. A pair that does not fit the batch's shape is an error.
func (b *Batch) Fill(v Vocab, pairs []Pair) error {
	if len(pairs) > b.Size {
		return fmt.Errorf("%d pairs for a batch of %d", len(pairs), b.Size)
	}
	lim := Limits{MaxSrc: b.SrcLen, MaxTgt: b.TgtLen}
	for i, p := range pairs {
		if err := lim.check(p); err != nil {
			return fmt.Errorf("pair %d: %w", i, err)
		}
	}
	b.Rows = len(pairs)
	for r := range b.Size {
		src, dec, lab := b.Src[r*b.SrcLen:(r+1)*b.SrcLen], b.DecIn[r*b.TgtLen:(r+1)*b.TgtLen], b.Labels[r*b.TgtLen:(r+1)*b.TgtLen]
		ns, nt := 0, 0
		if r < len(pairs) {
			p := pairs[r]
			ns = copy(src, p.Src)
			src[ns] = v.EOS
			ns++
			dec[0] = v.BOS
			copy(dec[1:], p.Tgt)
			copy(lab, p.Tgt)
			nt = len(p.Tgt) + 1
			lab[nt-1] = v.EOS
		}
		for i := ns; i < len(src); i++ {
			src[i] = v.Pad
		}
		for i := nt; i < len(dec); i++ {
			dec[i], lab[i] = v.Pad, IgnoreLabel
		}
		b.SrcLens[r], b.TgtLens[r] = ns, nt
	}
	return nil
}

// Sampler draws training batches from pairs: step s's rows are chosen by
// (seed, s) alone, so a resumed run sees the batches an uninterrupted one
// would have.
type Sampler struct {
	pairs []Pair
	v     Vocab
	seed  uint64
	rows  []Pair // scratch, one batch
}

// NewSampler checks that every pair fits lim and that its ids are in the
// vocabulary.
func NewSampler(pairs []Pair, v Vocab, lim Limits, seed uint64) (*Sampler, error) {
	if len(pairs) == 0 {
		return nil, errors.New("no pairs to sample from")
	}
	if err := CheckPairs(pairs, v, lim); err != nil {
		return nil, err
	}
	return &Sampler{pairs: pairs, v: v, seed: seed}, nil
}

// CheckPairs reports the first pair (0-based) that does not fit lim or
// holds an id outside [0, v.N).
func CheckPairs(pairs []Pair, v Vocab, lim Limits) error {
	if err := lim.Validate(); err != nil {
		return err
	}
	for i, p := range pairs {
		if err := lim.check(p); err != nil {
			return fmt.Errorf("pair %d: %w", i, err)
		}
		for _, ids := range [][]int32{p.Src, p.Tgt} {
			for _, id := range ids {
				if id < 0 || int(id) >= v.N {
					return fmt.Errorf("pair %d: token id %d outside the vocabulary of %d", i, id, v.N)
				}
			}
		}
	}
	return nil
}

// Fill fills b with step's rows: b.Size pairs drawn uniformly (with
// replacement) by (seed, step).
func (s *Sampler) Fill(b *Batch, step int) error {
	if cap(s.rows) < b.Size {
		s.rows = make([]Pair, b.Size)
	}
	rows := s.rows[:b.Size]
	r := newRNG(s.seed, uint64(step)+0x5eed)
	for i := range rows {
		rows[i] = s.pairs[r.intn(len(s.pairs))]
	}
	return b.Fill(s.v, rows)
}

// Split shuffles pairs by seed and holds out frac of them (at least one
// when frac > 0 and there are two or more), returning (train, held out);
// pairs is not modified.
func Split(pairs []Pair, frac float64, seed uint64) (train, heldOut []Pair, err error) {
	if !(frac >= 0 && frac < 1) {
		return nil, nil, fmt.Errorf("held-out fraction %g must be in [0, 1)", frac)
	}
	idx := make([]int, len(pairs))
	for i := range idx {
		idx[i] = i
	}
	shuffle(newRNG(seed, 0x73706c74), idx)
	nh := int(frac * float64(len(pairs)))
	if nh == 0 && frac > 0 && len(pairs) > 1 {
		nh = 1
	}
	for i, j := range idx {
		if i < nh {
			heldOut = append(heldOut, pairs[j])
		} else {
			train = append(train, pairs[j])
		}
	}
	return train, heldOut, nil
}

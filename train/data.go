// Package train trains a model: it cuts a token stream into a training and a
// validation split, draws batches reproducibly, runs AdamW with warmup and
// cosine decay and gradient clipping, evaluates, and checkpoints so that a
// resumed run continues exactly where it stopped.
package train

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
)

// Dataset is a token stream cut into a training split and a validation
// split (the last tenth).
type Dataset struct {
	Train, Val  []int32
	Fingerprint uint64 // FNV-1a of all tokens, to tell a resumed run it got the same data
}

// ValFraction is the share of the tokens held out for validation, taken from
// the end of the stream.
const ValFraction = 0.1

// Split cuts tokens into train and validation parts. Both must hold at least
// one window of seq tokens plus the target after it.
func Split(tokens []int32, seq int) (*Dataset, error) {
	if len(tokens) == 0 {
		return nil, fmt.Errorf("the data is empty")
	}
	nv := int(float64(len(tokens)) * ValFraction)
	nt := len(tokens) - nv
	if nt < seq+1 || nv < seq+1 {
		return nil, fmt.Errorf("the data has %d tokens: too short for --seq %d (need at least %d, so that the training split and the %d%% validation split each hold %d+1 tokens)",
			len(tokens), seq, minTokens(seq), int(ValFraction*100), seq)
	}
	h := fnv.New64a()
	var buf [4]byte
	for _, t := range tokens {
		buf[0], buf[1], buf[2], buf[3] = byte(t), byte(t>>8), byte(t>>16), byte(t>>24)
		h.Write(buf[:])
	}
	return &Dataset{Train: tokens[:nt], Val: tokens[nt:], Fingerprint: h.Sum64()}, nil
}

func minTokens(seq int) int {
	n := seq + 1
	for {
		nv := int(float64(n) * ValFraction)
		if nv >= seq+1 && n-nv >= seq+1 {
			return n
		}
		n += seq/8 + 1
	}
}

// batch fills inputs and targets (b rows of t tokens) with windows drawn at
// random from the training split, from s restarted for the step. The draw
// depends only on (seed, step), so a resumed run sees exactly the batches an
// uninterrupted one would have.
func (ds *Dataset) batch(s *stream, inputs, targets []int32, seed uint64, step, b, t int) {
	rng := s.at(seed, uint64(step)+0x9e3779b97f4a7c15)
	span := len(ds.Train) - t // last valid start is span-1, so the target fits
	for r := 0; r < b; r++ {
		o := rng.IntN(span)
		copy(inputs[r*t:(r+1)*t], ds.Train[o:o+t])
		copy(targets[r*t:(r+1)*t], ds.Train[o+1:o+t+1])
	}
}

// A stream is a random number generator that is restarted from a seed pair
// for each step (or evaluation window) it serves. Restarting one generator,
// rather than calling rand.New(rand.NewPCG(...)) each time, keeps a training
// step free of allocations.
type stream struct {
	pcg *rand.PCG
	rng *rand.Rand
}

func newStream() *stream {
	pcg := new(rand.PCG)
	return &stream{pcg: pcg, rng: rand.New(pcg)}
}

// at restarts the stream at (seed1, seed2) and returns it: its draws are
// those of rand.New(rand.NewPCG(seed1, seed2)).
func (s *stream) at(seed1, seed2 uint64) *rand.Rand {
	s.pcg.Seed(seed1, seed2)
	return s.rng
}

// Windows returns how many consecutive non-overlapping windows of t tokens
// (each with its next-token targets) fit in tokens.
func Windows(tokens []int32, t int) int {
	if len(tokens) < t+1 {
		return 0
	}
	return (len(tokens) - 1) / t
}

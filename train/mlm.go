package train

import (
	"fmt"
	"math/rand/v2"

	"github.com/tformer/tformer/model"
)

// Masked-LM training of encoders.
//
// An encoder trains on the same windows as a decoder (Dataset.Batch; the
// next-token targets are unused). Each step masks its batch with
// model.Masker, drawing from a stream that depends only on (seed, step), so
// a resumed run masks exactly as an uninterrupted one: per window exactly
// model.MaskedPerSeq(seq) positions, 80% [MASK], 10% a random token id of
// the tokenizer, 10% kept. The loss is the mean cross-entropy over the
// masked positions; the head runs on those positions only.

// EvalMaskSeed is the seed of the masks of an encoder's validation, so that
// every validation of a run — and of runs with other --seed values — scores
// the same positions.
const EvalMaskSeed = 1

// maskSeedSalt separates a step's masking stream from its batch stream.
const maskSeedSalt = 0x6d61736b_6c6d5f31

// MLMEvalResult is the outcome of EvaluateMLM; its JSON form is the output
// of `tformer eval --json` on an encoder.
type MLMEvalResult struct {
	Loss     float64 `json:"loss"`     // mean masked-LM cross-entropy over the masked positions, nats
	Accuracy float64 `json:"accuracy"` // share of masked positions whose most likely token is the original
	Masked   int     `json:"masked"`   // masked positions scored
	Tokens   int     `json:"tokens"`   // tokens in the windows scored
}

// checkEncoderData refuses windows too short to mask and data holding the
// id the encoder reserves for [MASK].
func checkEncoderData(c model.Config, seq int, ds *Dataset) error {
	if seq < 2 {
		return fmt.Errorf("--seq %d is too short for masked-LM training: masking the only token of a window leaves nothing to predict it from (use --seq 2 or more)", seq)
	}
	mask := c.MaskID()
	for _, part := range [][]int32{ds.Train, ds.Val} {
		for _, id := range part {
			if id >= mask {
				return fmt.Errorf("the data holds token id %d, but the encoder's vocab is %d with id %d reserved for [MASK]: an encoder's vocab must be the tokenizer's plus one", id, c.Vocab, mask)
			}
		}
	}
	return nil
}

// EvaluateMLM scores an encoder's masked-LM loss and accuracy on tokens cut
// into consecutive non-overlapping windows of seq tokens (a last partial
// window is dropped), batch windows at a time; with maxWindows > 0 only that
// many windows, evenly spaced. Window w is masked from a stream seeded by
// (seed, w), so the result depends neither on batch nor on the other
// windows scored.
func EvaluateMLM(m *model.Model, tokens []int32, seq, batch, maxWindows int, seed uint64) (MLMEvalResult, error) {
	c := m.Config
	if !c.IsEncoder() {
		return MLMEvalResult{}, fmt.Errorf("evaluate: masked-LM needs an encoder; this model is a decoder")
	}
	if seq <= 0 || batch <= 0 {
		return MLMEvalResult{}, fmt.Errorf("evaluate: seq and batch must be positive")
	}
	if seq > c.MaxSeq {
		return MLMEvalResult{}, fmt.Errorf("evaluate: --seq %d exceeds the model's context of %d", seq, c.MaxSeq)
	}
	nw := len(tokens) / seq
	if nw == 0 {
		return MLMEvalResult{}, fmt.Errorf("evaluate: %d tokens is too short for one window of %d", len(tokens), seq)
	}
	idx := evalWindows(nw, maxWindows)
	mk := model.NewMasker(c)
	in := make([]int32, batch*seq)
	var pos, tgt []int32
	var sum float64
	var correct, count int
	for s := 0; s < len(idx); s += batch {
		b := min(batch, len(idx)-s)
		pos, tgt = pos[:0], tgt[:0]
		for r := 0; r < b; r++ {
			w := idx[s+r]
			row := in[r*seq : (r+1)*seq]
			copy(row, tokens[w*seq:(w+1)*seq])
			rng := rand.New(rand.NewPCG(seed^maskSeedSalt, uint64(w)^0x6576616c))
			n0 := len(pos)
			var err error
			if pos, tgt, err = mk.Mask(rng, row, 1, seq, nil, pos, tgt); err != nil {
				return MLMEvalResult{}, fmt.Errorf("evaluate: window %d: %w", w, err)
			}
			for i := n0; i < len(pos); i++ {
				pos[i] += int32(r * seq)
			}
		}
		res, err := m.ForwardMLM(model.MLMBatch{B: b, T: seq, Tokens: in[:b*seq], Positions: pos, Targets: tgt})
		if err != nil {
			return MLMEvalResult{}, err
		}
		for _, l := range m.Losses()[:res.Count] {
			sum += float64(l) // row by row, so the sum does not depend on batch
		}
		correct += res.Correct
		count += res.Count
	}
	return MLMEvalResult{Loss: sum / float64(count), Accuracy: float64(correct) / float64(count), Masked: count, Tokens: len(idx) * seq}, nil
}

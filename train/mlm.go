package train

import (
	"fmt"

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
	if !c.MaskReserved() {
		mask = int32(c.Vocab) // the tokenizer's own [MASK]: any id of the vocab may occur
	}
	for _, part := range [][]int32{ds.Train, ds.Val} {
		for _, id := range part {
			if id >= mask && c.MaskReserved() {
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
	var e evaluator
	return e.evaluateMLM(m, tokens, MLMEvalOptions{Seq: seq, Batch: batch, MaxWindows: maxWindows, Seed: seed})
}

// MLMEvalOptions say how EvaluateMLMWith cuts and masks its windows.
type MLMEvalOptions struct {
	Seq, Batch int    // window length in tokens (Prefix and Suffix included); windows per forward pass
	MaxWindows int    // > 0: only that many windows, evenly spaced
	Seed       uint64 // window w is masked from a stream seeded by (Seed, w)
	// Prefix and Suffix are put around every window's text tokens (a
	// Hugging Face BERT's [CLS] and [SEP]): each window then holds
	// Seq − len(Prefix) − len(Suffix) tokens of the text, and neither they
	// nor any id in Keep is ever masked.
	Prefix, Suffix, Keep []int32
	// Progress, if not nil, is called after each forward pass with the
	// windows scored so far and in all.
	Progress func(done, total int)
	// Inspect, if not nil, is shown each forward pass's real windows as
	// masked (b·Seq tokens), the flat positions scored and their original
	// tokens; it must not keep the slices.
	Inspect func(tokens, positions, targets []int32)
}

// EvaluateMLMWith is EvaluateMLM with the windows framed by special tokens
// and progress reported, as o says. Tokens in the result counts the text's
// tokens only.
func EvaluateMLMWith(m *model.Model, tokens []int32, o MLMEvalOptions) (MLMEvalResult, error) {
	var e evaluator
	return e.evaluateMLM(m, tokens, o)
}

func (e *evaluator) evaluateMLM(m *model.Model, tokens []int32, o MLMEvalOptions) (MLMEvalResult, error) {
	seq, batch, maxWindows, seed := o.Seq, o.Batch, o.MaxWindows, o.Seed
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
	frame := len(o.Prefix) + len(o.Suffix)
	text := seq - frame // text tokens per window
	if text < 1 {
		return MLMEvalResult{}, fmt.Errorf("evaluate: --seq %d leaves no room for text between the %d special tokens of a window", seq, frame)
	}
	for _, id := range append(append(append([]int32{}, o.Prefix...), o.Suffix...), o.Keep...) {
		if id < 0 || int(id) >= c.Vocab {
			return MLMEvalResult{}, fmt.Errorf("evaluate: special token id %d is outside the model's vocab of %d", id, c.Vocab)
		}
	}
	nw := len(tokens) / text
	if nw == 0 {
		return MLMEvalResult{}, fmt.Errorf("evaluate: %d tokens is too short for one window of %d", len(tokens), text)
	}
	e.idx = evalWindows(e.idx, nw, maxWindows)
	idx := e.idx
	if e.masker == nil || e.masker.MaskID != c.MaskID() {
		e.masker, e.masks = model.NewMasker(c), newStream()
	}
	mk := e.masker
	mk.Keep = mk.Keep[:0]
	if frame > 0 || len(o.Keep) > 0 {
		mk.Keep = append(append(append(mk.Keep, o.Prefix...), o.Suffix...), o.Keep...)
	}
	bb := min(batch, len(idx)) // windows per forward pass, padding included (see evaluator)
	e.in = resize(e.in, bb*seq)
	in := e.in
	if k := bb * model.MaskedPerSeq(seq); cap(e.pos) < k { // at most MaskedPerSeq(text) ≤ this per window
		e.pos, e.tgt = make([]int32, 0, k), make([]int32, 0, k)
	}
	pos, tgt := e.pos, e.tgt
	var sum float64
	var correct, count int
	for s := 0; s < len(idx); s += bb {
		b := min(bb, len(idx)-s)
		pos, tgt = pos[:0], tgt[:0]
		real := 0 // predicted positions of the b real windows
		for r := 0; r < bb; r++ {
			w := idx[s+min(r, b-1)]
			row := in[r*seq : (r+1)*seq]
			copy(row, o.Prefix)
			copy(row[len(o.Prefix):], tokens[w*text:(w+1)*text])
			copy(row[len(o.Prefix)+text:], o.Suffix)
			rng := e.masks.at(seed^maskSeedSalt, uint64(w)^0x6576616c)
			n0 := len(pos)
			var err error
			if pos, tgt, err = mk.Mask(rng, row, 1, seq, nil, pos, tgt); err != nil {
				return MLMEvalResult{}, fmt.Errorf("evaluate: window %d: %w", w, err)
			}
			for i := n0; i < len(pos); i++ {
				pos[i] += int32(r * seq)
			}
			if r < b {
				real = len(pos)
			}
		}
		if _, err := m.ForwardMLM(model.MLMBatch{B: bb, T: seq, Tokens: in, Positions: pos, Targets: tgt}); err != nil {
			return MLMEvalResult{}, err
		}
		if o.Inspect != nil {
			o.Inspect(in[:b*seq], pos[:real], tgt[:real])
		}
		for _, l := range m.Losses()[:real] {
			sum += float64(l) // row by row, so the sum does not depend on batch
		}
		correct += m.CountCorrect(tgt[:real])
		count += real
		if o.Progress != nil {
			o.Progress(s+b, len(idx))
		}
	}
	e.pos, e.tgt = pos[:0], tgt[:0] // keep what appends grew
	return MLMEvalResult{Loss: sum / float64(count), Accuracy: float64(correct) / float64(count), Masked: count, Tokens: len(idx) * text}, nil
}

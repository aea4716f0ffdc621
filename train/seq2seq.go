package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"time"

	"github.com/tformer/tformer/checkpoint"
	"github.com/tformer/tformer/kernels"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/seq2seq"
)

// Special are the ids an encoder–decoder's batches use around the tokens:
// the start id the decoder is fed first, the end id it must predict after
// the target, and the id that fills padded positions (never attended to as
// a source key, never predicted).
type Special struct{ BOS, EOS, Pad int32 }

// Seq2SeqBatch builds the teacher-forced batch of pairs (seq2seq.Pair, the
// data package's type; the source is fed as given, so a caller wanting an
// end id after it, as seq2seq.Batch adds, appends it): sources padded to
// the longest, decoder inputs [BOS, target...] and targets [target..., EOS]
// padded to the longest target plus one. Every source must be non-empty and
// fit the model's context, as must every target plus its end id; ids must
// be in the vocabulary.
func Seq2SeqBatch(c model.Config, pairs []seq2seq.Pair, sp Special) (model.Seq2SeqBatch, error) {
	var x model.Seq2SeqBatch
	return x, seq2seqBatchInto(&x, c, pairs, sp, 0, 0)
}

// seq2seqBatchInto is Seq2SeqBatch into x's buffers (reused when large
// enough), padding to at least ts source and tt target positions.
func seq2seqBatchInto(x *model.Seq2SeqBatch, c model.Config, pairs []seq2seq.Pair, sp Special, ts, tt int) error {
	if len(pairs) == 0 {
		return errors.New("seq2seq batch: no pairs")
	}
	for _, id := range []int32{sp.BOS, sp.EOS, sp.Pad} {
		if id < 0 || int(id) >= c.Vocab {
			return fmt.Errorf("seq2seq batch: special id %d is outside the vocabulary [0, %d)", id, c.Vocab)
		}
	}
	for i, p := range pairs {
		if len(p.Src) == 0 {
			return fmt.Errorf("seq2seq batch: pair %d has an empty source", i)
		}
		if len(p.Src) > c.MaxSeq || len(p.Tgt)+1 > c.MaxSeq {
			return fmt.Errorf("seq2seq batch: pair %d (source %d, target %d tokens) does not fit the context of %d (the target needs one more for its end id)", i, len(p.Src), len(p.Tgt), c.MaxSeq)
		}
		ts, tt = max(ts, len(p.Src)), max(tt, len(p.Tgt)+1)
	}
	b := len(pairs)
	resize := func(s []int32, n int) []int32 {
		if cap(s) < n {
			return make([]int32, n)
		}
		return s[:n]
	}
	x.B, x.SrcT, x.TgtT = b, ts, tt
	x.Src, x.SrcLens, x.Tgt, x.TgtLens, x.Targets = resize(x.Src, b*ts), resize(x.SrcLens, b), resize(x.Tgt, b*tt), resize(x.TgtLens, b), resize(x.Targets, b*tt)
	for i, p := range pairs {
		src, tgt, tg := x.Src[i*ts:(i+1)*ts], x.Tgt[i*tt:(i+1)*tt], x.Targets[i*tt:(i+1)*tt]
		for j := range src {
			src[j] = sp.Pad
		}
		for j := range tgt {
			tgt[j], tg[j] = sp.Pad, sp.Pad
		}
		copy(src, p.Src)
		tgt[0] = sp.BOS
		copy(tgt[1:], p.Tgt)
		copy(tg, p.Tgt)
		tg[len(p.Tgt)] = sp.EOS
		x.SrcLens[i], x.TgtLens[i] = int32(len(p.Src)), int32(len(p.Tgt)+1)
	}
	return nil
}

// Seq2SeqTrainer trains an encoder–decoder on (source, target) pairs by
// teacher-forced cross-entropy over the target tokens and the end id, with
// AdamW and the warmup + cosine schedule of Options (Seq is unused: every
// batch is padded to the longest source and target of Pairs, so its
// buffers keep one shape and a step allocates nothing new).
type Seq2SeqTrainer struct {
	Model   *model.Model
	Pairs   []seq2seq.Pair
	Special Special
	Opts    Options
	Opt     *AdamW
	Step    int // optimizer steps completed

	batch  []seq2seq.Pair
	x      model.Seq2SeqBatch
	pcg    *rand.PCG
	rng    *rand.Rand
	ts, tt int // the longest source, and the longest target plus its end id
}

// PairsFingerprint is the FNV-1a hash of pairs (each pair's lengths and
// ids), which a resumed run must match.
func PairsFingerprint(pairs []seq2seq.Pair) uint64 {
	h := fnv.New64a()
	var buf [4]byte
	put := func(v int32) {
		buf[0], buf[1], buf[2], buf[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
		h.Write(buf[:])
	}
	for _, p := range pairs {
		put(int32(len(p.Src)))
		put(int32(len(p.Tgt)))
		for _, v := range p.Src {
			put(v)
		}
		for _, v := range p.Tgt {
			put(v)
		}
	}
	return h.Sum64()
}

// NewSeq2Seq starts a run of the encoder–decoder m (initialised by the
// caller) on pairs. o.DataHash is set to the pairs' fingerprint.
func NewSeq2Seq(m *model.Model, pairs []seq2seq.Pair, sp Special, o Options) (*Seq2SeqTrainer, error) {
	if !m.Config.IsEncDec() {
		return nil, errors.New("seq2seq training needs an encoder-decoder (arch encdec)")
	}
	v := o
	v.Seq = 1 // the batch length follows the pairs
	if err := v.Validate(m.Config.MaxSeq); err != nil {
		return nil, err
	}
	if len(pairs) == 0 {
		return nil, errors.New("seq2seq training: no pairs")
	}
	o.DataHash = PairsFingerprint(pairs)
	t := &Seq2SeqTrainer{Model: m, Pairs: pairs, Special: sp, Opts: o,
		Opt: NewAdamW(m, o.Beta1, o.Beta2, o.Eps, o.WeightDecay), batch: make([]seq2seq.Pair, o.Batch), pcg: rand.NewPCG(0, 0)}
	t.rng = rand.New(t.pcg)
	var x model.Seq2SeqBatch
	for i := range pairs {
		if err := seq2seqBatchInto(&x, m.Config, pairs[i:i+1], sp, 0, 0); err != nil {
			return nil, fmt.Errorf("pair %d: %w", i, err)
		}
		t.ts, t.tt = max(t.ts, x.SrcT), max(t.tt, x.TgtT)
	}
	return t, nil
}

// TrainStep takes one optimizer step on Batch pairs drawn (with
// replacement) as (Seed, Step) determines. StepInfo's Accuracy is the share
// of target positions (end id included) predicted right, Tokens the number
// of source and predicted target positions. A non-finite loss is a
// *DivergedError and the step is not taken.
func (t *Seq2SeqTrainer) TrainStep() (StepInfo, error) {
	start := time.Now()
	o := t.Opts
	f0 := t.Model.Flops.Total(kernels.Forward) + t.Model.Flops.Total(kernels.Backward)
	t.pcg.Seed(o.Seed, uint64(t.Step)+0x9e3779b97f4a7c15)
	for i := range t.batch {
		t.batch[i] = t.Pairs[t.rng.IntN(len(t.Pairs))]
	}
	if err := seq2seqBatchInto(&t.x, t.Model.Config, t.batch, t.Special, t.ts, t.tt); err != nil {
		return StepInfo{}, err
	}
	x := t.x
	r, err := t.Model.ForwardSeq2Seq(x)
	if err != nil {
		return StepInfo{}, err
	}
	if !finite(r.Loss) {
		return StepInfo{}, &DivergedError{Step: t.Step, Reason: fmt.Sprintf("the loss of step %d is %g", t.Step+1, r.Loss)}
	}
	t.Model.ZeroGrad()
	if err := t.Model.Backward(); err != nil {
		return StepInfo{}, err
	}
	lr := LR(t.Step, o.Steps, o.Warmup, o.LR, o.MinLR)
	t.Step++
	norm := t.Opt.StepClipped(t.Model.Params, t.Model.Grads, lr, t.Step, o.GradClip)
	src := 0
	for _, l := range x.SrcLens {
		src += int(l)
	}
	info := StepInfo{Step: t.Step, Loss: r.Loss, Accuracy: float32(r.Correct) / float32(r.Count), Masked: r.Count, LR: lr, GradNorm: norm,
		Tokens: src + r.Count, Elapsed: time.Since(start)}
	info.Flops = t.Model.Flops.Total(kernels.Forward) + t.Model.Flops.Total(kernels.Backward) - f0
	return info, nil
}

// Save writes a training checkpoint of the run (weights, AdamW moments,
// options, step) atomically, refusing a non-finite state. The special ids
// are not stored: a resumed run is given them again.
func (t *Seq2SeqTrainer) Save(path, tokenizer string) error {
	for _, s := range []struct {
		what string
		slab []float32
	}{{"the weights", t.Model.Params}, {"the AdamW first moment", t.Opt.M}, {"the AdamW second moment", t.Opt.V}} {
		if err := checkpoint.CheckFinite(s.what, t.Model.Layout, s.slab); err != nil {
			return fmt.Errorf("not saving %s: %w", path, &DivergedError{Step: t.Step, Reason: err.Error()})
		}
	}
	o := t.Opts
	o.Tokenizer = tokenizer
	b, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("save %s: encode the training options: %w", path, err)
	}
	return checkpoint.Save(path, &checkpoint.Checkpoint{Model: t.Model, Tokenizer: tokenizer,
		Train: &checkpoint.TrainState{Step: t.Step, Options: b, M: t.Opt.M, V: t.Opt.V}})
}

// ResumeSeq2SeqFrom continues the run saved in a loaded training
// checkpoint of an encoder–decoder on the same pairs (their fingerprint
// must match), so that it takes the steps the uninterrupted run would have.
func ResumeSeq2SeqFrom(ck *checkpoint.Checkpoint, pairs []seq2seq.Pair, sp Special) (*Seq2SeqTrainer, error) {
	st := ck.Train
	if st == nil {
		return nil, errors.New("the checkpoint holds weights only, no training state")
	}
	var o Options
	if err := json.Unmarshal(st.Options, &o); err != nil {
		return nil, fmt.Errorf("training options: %w", err)
	}
	if fp := PairsFingerprint(pairs); fp != o.DataHash {
		return nil, fmt.Errorf("the pairs differ from those this run was trained on (fingerprint %016x, checkpoint has %016x)", fp, o.DataHash)
	}
	if st.Step > o.Steps {
		return nil, fmt.Errorf("the training state is at step %d, beyond its run of %d steps", st.Step, o.Steps)
	}
	t, err := NewSeq2Seq(ck.Model, pairs, sp, o)
	if err != nil {
		return nil, err
	}
	copy(t.Opt.M, st.M)
	copy(t.Opt.V, st.V)
	t.Step = st.Step
	return t, nil
}

// Seq2SeqEval is an encoder–decoder's score on a set of pairs.
type Seq2SeqEval struct {
	Loss       float64 // mean cross-entropy per predicted target position (end id included)
	Perplexity float64 // exp(Loss)
	TokenAcc   float64 // share of target positions predicted right (teacher forced)
	ExactMatch float64 // share of pairs whose greedy decode equals the target
	Pairs      int
}

// EvaluateSeq2Seq scores m on pairs: teacher-forced loss, perplexity and
// token accuracy in batches of batch pairs, and the exact-match accuracy of
// greedy decoding (up to the target's length plus its end id, at most the
// context).
func EvaluateSeq2Seq(m *model.Model, pairs []seq2seq.Pair, sp Special, batch int) (Seq2SeqEval, error) {
	if batch <= 0 {
		return Seq2SeqEval{}, fmt.Errorf("evaluate: batch must be positive, got %d", batch)
	}
	if len(pairs) == 0 {
		return Seq2SeqEval{}, errors.New("evaluate: no pairs")
	}
	var sum float64
	var n, correct, exact int
	for i := 0; i < len(pairs); i += batch {
		ps := pairs[i:min(i+batch, len(pairs))]
		x, err := Seq2SeqBatch(m.Config, ps, sp)
		if err != nil {
			return Seq2SeqEval{}, fmt.Errorf("evaluate: %w", err)
		}
		r, err := m.ForwardSeq2Seq(x)
		if err != nil {
			return Seq2SeqEval{}, fmt.Errorf("evaluate: %w", err)
		}
		sum += float64(r.Loss) * float64(r.Count)
		n += r.Count
		correct += r.Correct
		for _, p := range ps {
			h, err := m.Greedy(p.Src, model.GenerateOptions{BOS: sp.BOS, EOS: sp.EOS, MaxLen: min(len(p.Tgt)+1, m.Config.MaxSeq)})
			if err != nil {
				return Seq2SeqEval{}, fmt.Errorf("evaluate: %w", err)
			}
			if h.Finished && equalTokens(h.Tokens, p.Tgt) {
				exact++
			}
		}
	}
	loss := sum / float64(n)
	return Seq2SeqEval{Loss: loss, Perplexity: math.Exp(loss), TokenAcc: float64(correct) / float64(n),
		ExactMatch: float64(exact) / float64(len(pairs)), Pairs: len(pairs)}, nil
}

func equalTokens(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// DefaultSeq2SeqOptions are the settings of `tformer train --arch encdec`
// for the small post-LN encoder–decoders it trains on a CPU (measured on
// the built-in "facts" task with model.TinyEncDec: see the README).
func DefaultSeq2SeqOptions() Options {
	o := DefaultOptions()
	o.Steps, o.Batch, o.LR, o.Warmup = 1500, 16, 1e-3, 300
	o.MinLR = DefaultMinLR(o.LR)
	o.EvalEvery, o.EvalWindows = 200, 64
	return o
}

package train

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/tformer/tformer/checkpoint"
	"github.com/tformer/tformer/kernels"
	"github.com/tformer/tformer/model"
)

// Options configure a training run. They are stored in every checkpoint, so
// a resumed run uses the same schedule, batches and optimizer settings.
type Options struct {
	Steps       int     `json:"steps"`        // total optimizer steps
	Batch       int     `json:"batch"`        // sequences per step
	Seq         int     `json:"seq"`          // tokens per sequence
	LR          float32 `json:"lr"`           // peak learning rate
	MinLR       float32 `json:"min_lr"`       // learning rate at the end of the cosine decay
	Warmup      int     `json:"warmup"`       // linear warmup steps
	WeightDecay float32 `json:"weight_decay"` // AdamW decoupled decay (matrices only)
	Beta1       float32 `json:"beta1"`
	Beta2       float32 `json:"beta2"`
	Eps         float32 `json:"eps"`
	GradClip    float32 `json:"grad_clip"`    // max global gradient norm; 0 disables
	Seed        uint64  `json:"seed"`         // initialisation and batch sampling
	EvalEvery   int     `json:"eval_every"`   // validate every N steps (0: only at the end)
	EvalWindows int     `json:"eval_windows"` // validation windows per evaluation (0: all)
	Tokenizer   string  `json:"tokenizer"`
	DataHash    uint64  `json:"data_hash"` // fingerprint of the tokens trained on
	// Task is the built-in sequence-to-sequence task an encoder–decoder
	// run trained on (seq2seq.Task; "" for other data and for decoders).
	Task string `json:"task,omitempty"`
}

// DefaultOptions are sensible settings for the small (pre-LN) decoders
// tformer trains on a CPU.
func DefaultOptions() Options {
	return Options{Steps: 1200, Batch: 8, Seq: 128, LR: 3e-3, MinLR: 3e-3 * MinLRFraction, Warmup: 30,
		WeightDecay: 0.1, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, GradClip: 1.0, Seed: 1,
		EvalEvery: 100, EvalWindows: 64, Tokenizer: "byte"}
}

// MinLRFraction is the default final learning rate as a fraction of the peak.
const MinLRFraction = 0.1

// DefaultMinLR is MinLRFraction of lr, computed from lr's shortest decimal
// form so that it prints as a round number (1e-4 for 1e-3, not 1.00000005e-4).
func DefaultMinLR(lr float32) float32 {
	d, _ := strconv.ParseFloat(strconv.FormatFloat(float64(lr), 'g', -1, 32), 64)
	return float32(d * MinLRFraction)
}

// DefaultEncoderOptions are DefaultOptions with the learning rate and warmup
// of a post-LN encoder: at the decoder's lr 3e-3 with 30 warmup steps the
// README's ALBERT-style encoder sits on the unigram plateau ("always predict
// the space", 18.4% masked accuracy); lr 1e-3 with 200 warmup steps learns
// (24.7%, matching an independent PyTorch post-LN encoder of that shape).
func DefaultEncoderOptions() Options {
	o := DefaultOptions()
	o.LR, o.Warmup = 1e-3, 200
	o.MinLR = DefaultMinLR(o.LR)
	return o
}

// finite reports whether v is neither NaN nor infinite.
func finite(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }

// Validate reports impossible settings, naming each by its flag.
func (o Options) Validate(maxSeq int) error {
	for _, f := range []struct {
		name string
		v    float32
	}{{"lr", o.LR}, {"min-lr", o.MinLR}, {"weight-decay", o.WeightDecay}, {"grad-clip", o.GradClip},
		{"beta1", o.Beta1}, {"beta2", o.Beta2}, {"eps", o.Eps}} {
		if !finite(f.v) {
			return fmt.Errorf("--%s must be a finite number, got %g", f.name, f.v)
		}
	}
	switch {
	case o.Steps <= 0:
		return fmt.Errorf("--steps must be positive, got %d", o.Steps)
	case o.Batch <= 0:
		return fmt.Errorf("--batch must be positive, got %d", o.Batch)
	case o.Seq <= 0:
		return fmt.Errorf("--seq must be positive, got %d", o.Seq)
	case o.Seq > maxSeq:
		return fmt.Errorf("--seq %d exceeds the model's context (--max-seq %d)", o.Seq, maxSeq)
	case o.Batch > MaxBatchTokens/o.Seq:
		return fmt.Errorf("--batch %d × --seq %d is more than %d tokens per step", o.Batch, o.Seq, MaxBatchTokens)
	case !(o.LR > 0):
		return fmt.Errorf("--lr must be a positive number, got %g", o.LR)
	case o.MinLR < 0 || o.MinLR > o.LR:
		return fmt.Errorf("--min-lr must be in [0, lr], got %g with --lr %g", o.MinLR, o.LR)
	case o.Warmup < 0:
		return fmt.Errorf("--warmup must be >= 0, got %d", o.Warmup)
	case o.WeightDecay < 0:
		return fmt.Errorf("--weight-decay must be >= 0, got %g", o.WeightDecay)
	case o.GradClip < 0:
		return fmt.Errorf("--grad-clip must be >= 0, got %g", o.GradClip)
	case !(o.Beta1 >= 0 && o.Beta1 < 1) || !(o.Beta2 >= 0 && o.Beta2 < 1):
		return fmt.Errorf("AdamW betas must be in [0, 1), got %g and %g", o.Beta1, o.Beta2)
	case !(o.Eps > 0):
		return fmt.Errorf("AdamW epsilon must be positive, got %g", o.Eps)
	case o.EvalEvery < 0:
		return fmt.Errorf("--eval-every must be >= 0, got %d", o.EvalEvery)
	case o.EvalWindows < 0:
		return fmt.Errorf("--eval-windows must be >= 0, got %d", o.EvalWindows)
	}
	return nil
}

// MaxBatchTokens bounds batch × seq, the tokens of one step: far above what
// a CPU trains on, low enough that the step's buffers are sized safely.
const MaxBatchTokens = 1 << 24

// Trainer runs the optimisation of one model on one dataset.
type Trainer struct {
	Model *model.Model
	Data  *Dataset
	Opts  Options
	Opt   *AdamW
	Step  int // optimizer steps completed

	inputs, targets []int32
	batches         *stream // restarted for each step's batch
	// masked-LM (encoders): the masker, its stream and the chosen positions
	// and targets
	masker               *model.Masker
	masks                *stream
	positions, mlmTarget []int32
	eval                 evaluator // Validate's buffers, reused
	lastMLM              model.MLMResult
}

// New starts a fresh run on m (whose parameters the caller initialised).
func New(m *model.Model, ds *Dataset, o Options) (*Trainer, error) {
	if err := o.Validate(m.Config.MaxSeq); err != nil {
		return nil, err
	}
	if m.Config.IsEncoder() {
		if err := checkEncoderData(m.Config, o.Seq, ds); err != nil {
			return nil, err
		}
	}
	o.DataHash = ds.Fingerprint
	t := &Trainer{Model: m, Data: ds, Opts: o,
		Opt:    NewAdamW(m, o.Beta1, o.Beta2, o.Eps, o.WeightDecay),
		inputs: make([]int32, o.Batch*o.Seq), targets: make([]int32, o.Batch*o.Seq), batches: newStream()}
	if m.Config.IsEncoder() {
		t.masker, t.masks = model.NewMasker(m.Config), newStream()
		k := o.Batch * model.MaskedPerSeq(o.Seq)
		t.positions, t.mlmTarget = make([]int32, 0, k), make([]int32, 0, k)
	}
	return t, nil
}

// Resume continues the run saved in the training checkpoint at path on the
// same tokens it was started with; see ResumeFrom.
func Resume(path string, tokens []int32, steps int) (*Trainer, error) {
	ck, err := checkpoint.Load(path)
	if err != nil {
		return nil, err
	}
	t, err := ResumeFrom(ck, tokens)
	if err != nil {
		return nil, fmt.Errorf("resume %s: %w", path, err)
	}
	return t, t.SetSteps(steps)
}

// ResumeFrom continues the run saved in a loaded training checkpoint. tokens
// must be the token stream the run started on (it is split the same way and
// its fingerprint must match).
func ResumeFrom(ck *checkpoint.Checkpoint, tokens []int32) (*Trainer, error) {
	m, st := ck.Model, ck.Train
	if st == nil {
		return nil, fmt.Errorf("the checkpoint holds weights only, no training state")
	}
	var o Options
	if err := json.Unmarshal(st.Options, &o); err != nil {
		return nil, fmt.Errorf("training options: %w", err)
	}
	ds, err := Split(tokens, o.Seq)
	if err != nil {
		return nil, err
	}
	if o.DataHash != ds.Fingerprint {
		return nil, fmt.Errorf("the data differs from the data this run was trained on (fingerprint %016x, checkpoint has %016x)", ds.Fingerprint, o.DataHash)
	}
	if st.Step > o.Steps {
		return nil, fmt.Errorf("the training state is at step %d, beyond its run of %d steps", st.Step, o.Steps)
	}
	t, err := New(m, ds, o)
	if err != nil {
		return nil, err
	}
	copy(t.Opt.M, st.M)
	copy(t.Opt.V, st.V)
	t.Step = st.Step
	return t, nil
}

// SetSteps changes the total number of steps of the run (0 keeps it); the
// cosine schedule stretches to the new total.
func (t *Trainer) SetSteps(steps int) error {
	if steps <= 0 {
		return nil
	}
	if t.Step > steps {
		return fmt.Errorf("the run is at step %d, beyond --steps %d", t.Step, steps)
	}
	t.Opts.Steps = steps
	return nil
}

// Save writes a training checkpoint (weights, optimizer state, options,
// step) atomically, after CheckHealthy: a state that is not finite, or
// whose next loss is not, is refused and the file at path left as it was.
func (t *Trainer) Save(path string) error {
	if err := t.CheckHealthy(); err != nil {
		return fmt.Errorf("not saving %s: %w", path, err)
	}
	b, err := json.Marshal(t.Opts)
	if err != nil {
		return fmt.Errorf("save %s: encode the training options: %w", path, err)
	}
	return checkpoint.Save(path, &checkpoint.Checkpoint{Model: t.Model, Tokenizer: t.Opts.Tokenizer,
		Train: &checkpoint.TrainState{Step: t.Step, Options: b, M: t.Opt.M, V: t.Opt.V}})
}

// DivergedError reports a run whose state is no longer usable: a
// non-finite loss, weight or optimizer moment.
type DivergedError struct {
	Step   int    // optimizer steps completed when it was found
	Reason string // what was not finite
}

func (e *DivergedError) Error() string {
	return fmt.Sprintf("training diverged at step %d: %s (try a lower --lr or more --warmup)", e.Step, e.Reason)
}

// CheckHealthy reports a *DivergedError unless the weights and the AdamW
// moments are finite and a forward pass on the next step's batch gives a
// finite loss (after one step at an absurd learning rate the weights can be
// huge yet finite, and only the next loss shows the damage).
func (t *Trainer) CheckHealthy() error {
	for _, s := range []struct {
		what string
		slab []float32
	}{{"the weights", t.Model.Params}, {"the AdamW first moment", t.Opt.M}, {"the AdamW second moment", t.Opt.V}} {
		if err := checkpoint.CheckFinite(s.what, t.Model.Layout, s.slab); err != nil {
			return &DivergedError{Step: t.Step, Reason: err.Error()}
		}
	}
	loss, err := t.forward()
	if err != nil {
		return err
	}
	if !finite(loss) {
		return &DivergedError{Step: t.Step, Reason: fmt.Sprintf("the loss of the next batch is %g", loss)}
	}
	return nil
}

// forward computes the loss of the batch for the current step (masked-LM
// loss for an encoder), leaving the activations for Backward.
func (t *Trainer) forward() (float32, error) {
	o := t.Opts
	t.Data.batch(t.batches, t.inputs, t.targets, o.Seed, t.Step, o.Batch, o.Seq)
	if t.masker != nil {
		r, err := t.maskedStep()
		if err != nil {
			return 0, err
		}
		t.lastMLM = r
		return r.Loss, nil
	}
	return t.Model.Forward(t.inputs, t.targets, o.Batch, o.Seq)
}

// StepInfo reports one optimizer step.
type StepInfo struct {
	Step     int     // 1-based number of the step just taken
	Loss     float32 // training loss of its batch (an encoder's: masked-LM loss over the masked positions)
	Accuracy float32 // encoders: the share of masked positions predicted right (0 for decoders)
	Masked   int     // encoders: the masked positions of the batch
	LR       float32
	GradNorm float32 // before clipping
	Tokens   int     // tokens in the batch
	Elapsed  time.Duration
	Flops    int64 // FLOPs the engine counted for the step (0 unless Model.Flops is set)
}

// TrainStep takes one optimizer step on the batch for the current step. A
// non-finite loss is a *DivergedError, and the step is not taken.
func (t *Trainer) TrainStep() (StepInfo, error) {
	start := time.Now()
	o := t.Opts
	f0 := t.Model.Flops.Total(kernels.Forward) + t.Model.Flops.Total(kernels.Backward)
	var info StepInfo
	loss, err := t.forward()
	if err != nil {
		return StepInfo{}, err
	}
	if t.masker != nil {
		r := t.lastMLM
		info.Accuracy, info.Masked = float32(r.Correct)/float32(r.Count), r.Count
	}
	if !finite(loss) {
		return StepInfo{}, &DivergedError{Step: t.Step, Reason: fmt.Sprintf("the loss of step %d is %g", t.Step+1, loss)}
	}
	t.Model.ZeroGrad()
	if err := t.Model.Backward(); err != nil {
		return StepInfo{}, err
	}
	lr := LR(t.Step, o.Steps, o.Warmup, o.LR, o.MinLR)
	t.Step++
	norm := t.Opt.StepClipped(t.Model.Params, t.Model.Grads, lr, t.Step, o.GradClip)
	info.Step, info.Loss, info.LR, info.GradNorm, info.Tokens, info.Elapsed = t.Step, loss, lr, norm, o.Batch*o.Seq, time.Since(start)
	info.Flops = t.Model.Flops.Total(kernels.Forward) + t.Model.Flops.Total(kernels.Backward) - f0
	return info, nil
}

// maskedStep masks the batch in t.inputs, as chosen by (seed, step), and runs
// the encoder's masked-LM forward on it.
func (t *Trainer) maskedStep() (model.MLMResult, error) {
	o := t.Opts
	rng := t.masks.at(o.Seed^maskSeedSalt, uint64(t.Step)+0x5851f42d4c957f2d)
	var err error
	t.positions, t.mlmTarget, err = t.masker.Mask(rng, t.inputs, o.Batch, o.Seq, nil, t.positions[:0], t.mlmTarget[:0])
	if err != nil {
		return model.MLMResult{}, fmt.Errorf("step %d: %w", t.Step+1, err)
	}
	return t.Model.ForwardMLM(model.MLMBatch{B: o.Batch, T: o.Seq, Tokens: t.inputs, Positions: t.positions, Targets: t.mlmTarget})
}

// Validate returns the mean loss over the validation split (evenly spaced
// windows, at most Opts.EvalWindows of them): next-token loss for a decoder,
// masked-LM loss for an encoder (see ValidateMLM).
func (t *Trainer) Validate() (float64, error) {
	if t.masker != nil {
		r, err := t.ValidateMLM()
		return r.Loss, err
	}
	r, err := t.eval.evaluate(t.Model, t.Data.Val, t.Opts.Seq, t.Opts.Batch, t.Opts.EvalWindows)
	return r.Loss, err
}

// ValidateMLM returns an encoder's masked-LM loss and accuracy over the
// validation split, masked deterministically with EvalMaskSeed (so every
// validation of a run, and of runs with other seeds, scores the same
// positions).
func (t *Trainer) ValidateMLM() (MLMEvalResult, error) {
	return t.eval.evaluateMLM(t.Model, t.Data.Val, MLMEvalOptions{Seq: t.Opts.Seq, Batch: t.Opts.Batch, MaxWindows: t.Opts.EvalWindows, Seed: EvalMaskSeed})
}

// Hooks receive progress from Run; any may be nil.
type Hooks struct {
	OnStep func(StepInfo)
	OnEval func(step int, valLoss float64)
	// OnEvalMLM receives an encoder's validation loss and accuracy (after
	// OnEval, which gets the same loss).
	OnEvalMLM func(step int, r MLMEvalResult)
	OnSave    func(step int, path string)
}

// Run trains until Opts.Steps, validating every EvalEvery steps and at the
// end, checkpointing to out (if not empty) every ckptEvery steps (0: only at
// the end). When ctx is cancelled it saves a checkpoint and returns ctx's
// error, so the run can be resumed. A run that diverges (a non-finite loss,
// validation loss, weight or moment) returns a *DivergedError without
// saving: every checkpoint written holds a finite state with a finite loss
// (see Save), and the last one is left as it was.
func (t *Trainer) Run(ctx context.Context, out string, ckptEvery int, h Hooks) error {
	save := func() error {
		if out == "" {
			return nil
		}
		if err := t.Save(out); err != nil {
			return err
		}
		if h.OnSave != nil {
			h.OnSave(t.Step, out)
		}
		return nil
	}
	eval := func() error {
		if t.masker != nil {
			r, err := t.ValidateMLM()
			if err != nil {
				return err
			}
			if !finite(float32(r.Loss)) {
				return &DivergedError{Step: t.Step, Reason: fmt.Sprintf("the validation loss is %g", r.Loss)}
			}
			if h.OnEval != nil {
				h.OnEval(t.Step, r.Loss)
			}
			if h.OnEvalMLM != nil {
				h.OnEvalMLM(t.Step, r)
			}
			return nil
		}
		v, err := t.Validate()
		if err != nil {
			return err
		}
		if !finite(float32(v)) {
			return &DivergedError{Step: t.Step, Reason: fmt.Sprintf("the validation loss is %g", v)}
		}
		if h.OnEval != nil {
			h.OnEval(t.Step, v)
		}
		return nil
	}
	if t.Step == 0 {
		if err := eval(); err != nil {
			return err
		}
	}
	for t.Step < t.Opts.Steps {
		if err := ctx.Err(); err != nil {
			if serr := save(); serr != nil {
				return fmt.Errorf("%w; saving the checkpoint failed: %v", err, serr)
			}
			return err
		}
		info, err := t.TrainStep()
		if err != nil {
			return err
		}
		if h.OnStep != nil {
			h.OnStep(info)
		}
		if t.Opts.EvalEvery > 0 && t.Step%t.Opts.EvalEvery == 0 && t.Step < t.Opts.Steps {
			if err := eval(); err != nil {
				return err
			}
		}
		if ckptEvery > 0 && t.Step%ckptEvery == 0 && t.Step < t.Opts.Steps {
			if err := save(); err != nil {
				return err
			}
		}
	}
	if err := eval(); err != nil {
		return err
	}
	return save()
}

// EvalResult is the outcome of Evaluate.
type EvalResult struct {
	Loss       float64 `json:"loss"`       // mean next-token cross-entropy, nats
	Perplexity float64 `json:"perplexity"` // exp(Loss)
	Tokens     int     `json:"tokens"`     // predicted tokens scored
}

// Evaluate scores m on tokens cut into consecutive non-overlapping windows of
// seq tokens (each predicting the token after each position; a last partial
// window is dropped), batch windows at a time. With maxWindows > 0 only that
// many windows, evenly spaced, are scored. The loss is summed row by row, so
// it does not depend on batch.
func Evaluate(m *model.Model, tokens []int32, seq, batch, maxWindows int) (EvalResult, error) {
	var e evaluator
	return e.evaluate(m, tokens, seq, batch, maxWindows)
}

// evaluator holds the buffers of Evaluate and EvaluateMLM, so that a
// trainer's repeated validations reuse them.
//
// Every forward pass of an evaluation has the same shape, min(batch,
// windows) windows: a last, partial batch is padded with copies of its last
// window, whose losses are not counted. The model then keeps one set of
// activations for the whole evaluation — the training step's, when the
// batch is the trainer's — instead of allocating a set for the short batch.
type evaluator struct {
	in, tg   []int32
	idx      []int
	pos, tgt []int32
	masker   *model.Masker
	masks    *stream
}

func (e *evaluator) evaluate(m *model.Model, tokens []int32, seq, batch, maxWindows int) (EvalResult, error) {
	if seq <= 0 || batch <= 0 {
		return EvalResult{}, fmt.Errorf("evaluate: seq and batch must be positive")
	}
	if seq > m.Config.MaxSeq {
		return EvalResult{}, fmt.Errorf("evaluate: --seq %d exceeds the model's context of %d", seq, m.Config.MaxSeq)
	}
	nw := Windows(tokens, seq)
	if nw == 0 {
		return EvalResult{}, fmt.Errorf("evaluate: %d tokens is too short for one window of %d (need %d)", len(tokens), seq, seq+1)
	}
	e.idx = evalWindows(e.idx, nw, maxWindows)
	idx := e.idx
	bb := min(batch, len(idx)) // windows per forward pass, padding included
	e.in, e.tg = resize(e.in, bb*seq), resize(e.tg, bb*seq)
	in, tg := e.in, e.tg
	var sum float64
	for s := 0; s < len(idx); s += bb {
		b := min(bb, len(idx)-s)
		for r := 0; r < bb; r++ {
			o := idx[s+min(r, b-1)] * seq
			copy(in[r*seq:(r+1)*seq], tokens[o:o+seq])
			copy(tg[r*seq:(r+1)*seq], tokens[o+1:o+seq+1])
		}
		if _, err := m.Forward(in, tg, bb, seq); err != nil {
			return EvalResult{}, err
		}
		for _, l := range m.Losses()[:b*seq] {
			sum += float64(l)
		}
	}
	n := len(idx) * seq
	l := sum / float64(n)
	return EvalResult{Loss: l, Perplexity: math.Exp(l), Tokens: n}, nil
}

// resize returns s with length n, reusing its array when it is big enough.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// evalWindows returns in idx (reused) the indices of the windows to score
// out of nw: all of them, or maxWindows evenly spaced ones when maxWindows
// is smaller.
func evalWindows(idx []int, nw, maxWindows int) []int {
	k := nw
	if maxWindows > 0 && maxWindows < nw {
		k = maxWindows
	}
	idx = resize(idx, k)
	for i := range idx {
		idx[i] = i * nw / k
	}
	return idx
}

package main

// The encoder-decoder (--arch encdec) side of train, eval, generate and
// cost: the same commands, flags, safety checks and output conventions as
// the decoder's, over (source, target) pairs from a built-in task, a TSV
// file or BART-style denoising of a text file.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tformer/tformer/checkpoint"
	"github.com/tformer/tformer/cost"
	"github.com/tformer/tformer/hfbart"
	"github.com/tformer/tformer/internal/textfmt"
	"github.com/tformer/tformer/kernels"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/safetensors"
	"github.com/tformer/tformer/seq2seq"
	"github.com/tformer/tformer/tokenizer"
	"github.com/tformer/tformer/train"
)

// heldOutFraction is the share of a TSV file's or a denoised text's pairs
// held out for validation (the built-in tasks bring their own split).
const heldOutFraction = 0.1

// s2sSource names where an encoder-decoder's pairs come from: at most one
// of a built-in task, a TSV file and a text file to denoise.
type s2sSource struct {
	Task    string // built-in task (seq2seq.Tasks)
	TSV     string // source<TAB>target lines
	Denoise string // text file for BART span masking
}

func (s s2sSource) given() int {
	n := 0
	for _, v := range []string{s.Task, s.TSV, s.Denoise} {
		if v != "" {
			n++
		}
	}
	return n
}

// s2sData are an encoder-decoder's training and held-out pairs, their
// sources ending with the end id (as seq2seq.Batch lays them out).
type s2sData struct {
	Train, HeldOut []seq2seq.Pair
	Name           string // for messages
	Task           string // the built-in task, "" for user data
}

// loadSeq2SeqData builds the pairs src names (the built-in facts task when
// it names none) for a model of maxSeq positions per stack. seed picks the
// held-out split (and the denoising noise).
func loadSeq2SeqData(src s2sSource, ids s2sIDs, maxSeq int, seed uint64) (s2sData, error) {
	var d s2sData
	if src.given() > 1 {
		return d, errors.New("give one of --task, --data (a source<TAB>target file) and --denoise (a text file), not several")
	}
	v := ids.Vocab
	lim := seq2seq.Limits{MaxSrc: maxSeq, MaxTgt: maxSeq}
	if ids.Prefix >= 0 {
		lim = seq2seq.Limits{MaxSrc: maxSeq - 1, MaxTgt: maxSeq - 1}
	}
	var all []seq2seq.Pair
	switch {
	case src.TSV != "":
		ps, err := seq2seq.LoadTSV(src.TSV, v, lim)
		if err != nil {
			return d, fmt.Errorf("--data: %w", err)
		}
		all, d.Name = ps, src.TSV
	case src.Denoise != "":
		text, _, err := loadText(src.Denoise)
		if err != nil {
			return d, fmt.Errorf("--denoise: %w", err)
		}
		ps, err := seq2seq.Denoise(v, text, lim, seq2seq.DefaultNoise(seed))
		if err != nil {
			return d, fmt.Errorf("--denoise %s: %w", src.Denoise, err)
		}
		all, d.Name = ps, src.Denoise+" (denoising: 30% of tokens masked in Poisson(3) spans)"
	default:
		task := src.Task
		if task == "" {
			task = "facts"
		}
		tr, ho, err := seq2seq.Task(task, seed)
		if err != nil {
			return d, fmt.Errorf("--task: %w", err)
		}
		if d.Train, err = seq2seq.Encode(v, tr, lim); err == nil {
			d.HeldOut, err = seq2seq.Encode(v, ho, lim)
		}
		if err != nil {
			return d, fmt.Errorf("--task %s does not fit --max-seq %d: %w", task, maxSeq, err)
		}
		d.Name, d.Task = "built-in task "+task, task
	}
	if all != nil {
		if len(all) < 2 {
			return d, fmt.Errorf("%s: %d pair; training needs at least 2 (one is held out for validation)", d.Name, len(all))
		}
		var err error
		if d.Train, d.HeldOut, err = seq2seq.Split(all, heldOutFraction, seed); err != nil {
			return d, err
		}
	}
	d.Train, d.HeldOut = ids.frame(d.Train), ids.frame(d.HeldOut)
	return d, nil
}

// s2sIDs are how an encoder-decoder's pairs meet its vocabulary: tformer's
// layout (the tokenizer's ids, then pad, start, end and mask; a source
// ends with the end id, the decoder starts from the start id) or BART's
// (<s>, <pad>, </s> among the tokenizer's ids; a source is <s> … </s>, a
// target <s> …, the decoder starts from decoder_start_token_id).
type s2sIDs struct {
	seq2seq.Vocab       // Encode and Text; EOS ends sources and targets
	Start         int32 // the decoder's first input
	Prefix        int32 // the id before every source and target (BART's <s>), or -1
}

// special are the trainer's and evaluator's ids.
func (ids s2sIDs) special() train.Special {
	return train.Special{BOS: ids.Start, EOS: ids.EOS, Pad: ids.Pad}
}

// source frames a source's token ids for the encoder.
func (ids s2sIDs) source(toks []int32) []int32 {
	out := make([]int32, 0, len(toks)+2)
	if ids.Prefix >= 0 {
		out = append(out, ids.Prefix)
	}
	return append(append(out, toks...), ids.EOS)
}

// frame returns pairs with their sources and targets framed.
func (ids s2sIDs) frame(pairs []seq2seq.Pair) []seq2seq.Pair {
	out := make([]seq2seq.Pair, len(pairs))
	for i, p := range pairs {
		tgt := p.Tgt
		if ids.Prefix >= 0 {
			tgt = append([]int32{ids.Prefix}, p.Tgt...)
		}
		out[i] = seq2seq.Pair{Src: ids.source(p.Src), Tgt: tgt}
	}
	return out
}

// encodeMasked tokenizes text with each "<mask>" as the mask id (as Text
// writes it), when the vocabulary has one.
func (ids s2sIDs) encodeMasked(text string) []int32 {
	if ids.Mask < 0 {
		return ids.Encode(text)
	}
	var out []int32
	for i, part := range strings.Split(text, "<mask>") {
		if i > 0 {
			out = append(out, ids.Mask)
		}
		out = append(out, ids.Encode(part)...)
	}
	return out
}

// tformerIDs are tformer's layout over tok.
func tformerIDs(tok tokenizer.Tokenizer) s2sIDs {
	v := seq2seq.NewVocab(tok)
	return s2sIDs{Vocab: v, Start: v.BOS, Prefix: -1}
}

// s2sVocab returns the ids of the encoder-decoder at path over tok: BART's
// when path is a Hugging Face BART directory, else tformer's layout, which
// must be the model's vocabulary.
func s2sVocab(path string, tok tokenizer.Tokenizer, c model.Config) (s2sIDs, error) {
	if b, ok := bartIDs(path); ok {
		v := seq2seq.Vocab{Tok: tok, Pad: b.Pad, BOS: b.BOS, EOS: b.EOS, Mask: -1, N: c.Vocab}
		return s2sIDs{Vocab: v, Start: b.DecoderStart, Prefix: b.BOS}, nil
	}
	ids := tformerIDs(tok)
	if c.Vocab != ids.N {
		return ids, fmt.Errorf("%s has a vocabulary of %d, not the %s tokenizer's %d ids and 4 special ids (%d) that tformer's encoder-decoders use", path, c.Vocab, tok.Name(), tok.VocabSize(), ids.N)
	}
	return ids, nil
}

// bartIDs are the special ids in the config.json of the BART directory at
// path (ok false for anything else).
func bartIDs(path string) (hfbart.SpecialIDs, bool) {
	if st, err := os.Stat(path); err != nil || !st.IsDir() || !hfbart.IsBART(path) {
		return hfbart.SpecialIDs{}, false
	}
	b, err := os.ReadFile(filepath.Join(path, "config.json"))
	if err != nil {
		return hfbart.SpecialIDs{}, false
	}
	h, err := hfbart.Parse(b)
	if err != nil {
		return hfbart.SpecialIDs{}, false
	}
	return (&hfbart.Loaded{Config: h}).IDs()
}

// isEncDecCheckpoint reports whether the tformer checkpoint at path holds
// an encoder-decoder, reading only its header (false for anything else).
func isEncDecCheckpoint(path string) bool {
	meta, err := safetensors.ReadMetadata(path)
	if err != nil {
		return false
	}
	var c model.Config
	return json.Unmarshal([]byte(meta["config"]), &c) == nil && c.IsEncDec()
}

// checkSeq2SeqTrainFlags refuses the train flags an encoder-decoder run
// does not use.
func (opts *trainOptions) checkSeq2SeqTrainFlags() error {
	switch {
	case opts.Init != "":
		return errors.New("--init applies to decoders and encoders; an encoder-decoder run starts from fresh weights (or continues with --resume)")
	case opts.changed("seq"):
		return errors.New("--seq applies to decoders and encoders: an encoder-decoder's batches are padded to its longest source and target (--max-seq bounds both)")
	case opts.changed("prompt"):
		return errors.New("--prompt applies to decoders: after training an encoder-decoder decodes --sample N held-out sources")
	}
	return nil
}

// seq2seqTrainRun is trainRun for an encoder-decoder: a new model from the
// flags (or the run of --resume) trained on pairs, validated on the
// held-out split (loss, token accuracy, exact match of the greedy decode),
// checkpointed, with trainRun's locks, refusals and interrupt handling.
func seq2seqTrainRun(ctx context.Context, opts *trainOptions, out string, stdout, stderr io.Writer) error {
	src := opts.S2S
	src.TSV = opts.Data
	if err := opts.checkSeq2SeqTrainFlags(); err != nil {
		return err
	}
	var (
		tr  *train.Seq2SeqTrainer
		d   s2sData
		tok tokenizer.Tokenizer
		ids s2sIDs
		sp  train.Special
		err error
	)
	if opts.Resume != "" {
		ck, err := checkpoint.Load(opts.Resume)
		if err != nil {
			return err
		}
		if ck.Train == nil {
			return fmt.Errorf("--resume %s: the checkpoint holds weights only, no training state", opts.Resume)
		}
		var so train.Options
		if err := json.Unmarshal(ck.Train.Options, &so); err != nil {
			return fmt.Errorf("--resume %s: training options: %w", opts.Resume, err)
		}
		if tok, err = tokenizer.New(ck.Tokenizer); err != nil {
			return err
		}
		if ids, err = s2sVocab(opts.Resume, tok, ck.Model.Config); err != nil {
			return err
		}
		sp = ids.special()
		switch {
		case src.given() == 0 && so.Task == "":
			return fmt.Errorf("--resume %s: the run trained on user pairs; give its --data or --denoise file again", opts.Resume)
		case src.Task != "" && src.Task != so.Task:
			return fmt.Errorf("--task cannot change on --resume (the run trained on %q)", so.Task)
		case src.given() == 0:
			src.Task = so.Task
		}
		if d, err = loadSeq2SeqData(src, ids, ck.Model.Config.MaxSeq, so.Seed); err != nil {
			return err
		}
		if tr, err = train.ResumeSeq2SeqFrom(ck, d.Train, sp); err != nil {
			return fmt.Errorf("resume %s with %s: %w", opts.Resume, d.Name, err)
		}
		if err := opts.applyResumeChanges(&tr.Opts, tr.Step, tr.Model.Config.MaxSeq, stderr); err != nil {
			return err
		}
		tr.Opt.WeightDecay = tr.Opts.WeightDecay
	} else {
		o := opts.Train
		def := train.DefaultSeq2SeqOptions()
		for _, f := range []struct {
			flag string
			dst  *int
			v    int
		}{{"steps", &o.Steps, def.Steps}, {"batch", &o.Batch, def.Batch}, {"warmup", &o.Warmup, def.Warmup}, {"eval-every", &o.EvalEvery, def.EvalEvery}, {"eval-windows", &o.EvalWindows, def.EvalWindows}} {
			if !opts.changed(f.flag) {
				*f.dst = f.v
			}
		}
		if !opts.changed("lr") {
			o.LR = def.LR
		}
		if !opts.changed("min-lr") {
			o.MinLR = train.DefaultMinLR(o.LR)
		}
		if tok, err = tokenizer.New(opts.Tokenizer); err != nil {
			return err
		}
		ids = tformerIDs(tok)
		cfg, err := opts.Model.config(ids.N)
		if err != nil {
			return err
		}
		if err := checkSeq2SeqMemory(cfg, o.Batch, memoryLimit()); err != nil {
			return err
		}
		if d, err = loadSeq2SeqData(src, ids, cfg.MaxSeq, o.Seed); err != nil {
			return err
		}
		m, err := model.New(cfg)
		if err != nil {
			return err
		}
		m.Init(o.Seed)
		o.Tokenizer, o.Task, o.Seq = tok.Name(), d.Task, cfg.MaxSeq
		sp = ids.special()
		if tr, err = train.NewSeq2Seq(m, d.Train, sp, o); err != nil {
			return err
		}
	}
	var metrics *metricsWriter
	if opts.Metrics != "" {
		if metrics, err = newMetricsWriter(opts.Metrics, opts.Resume != ""); err != nil {
			return err
		}
		defer metrics.Close()
	}
	c := tr.Model.Config
	describeModel(stderr, c)
	fmt.Fprintf(stderr, "data: %s, %s training pairs, %s held out; special ids pad %d, start %d, end %d\n",
		d.Name, commas(int64(len(d.Train))), commas(int64(len(d.HeldOut))), ids.Pad, ids.Start, ids.EOS)
	to := tr.Opts
	fmt.Fprintf(stderr, "training: %d steps of %d pairs, lr %g (warmup %d, cosine to %g), weight decay %g, clip %g, seed %d\n",
		to.Steps, to.Batch, to.LR, to.Warmup, to.MinLR, to.WeightDecay, to.GradClip, to.Seed)
	tr.Model.Flops = &kernels.Counter{}

	validate := func(all bool) (train.Seq2SeqEval, error) {
		ps := d.HeldOut
		if n := tr.Opts.EvalWindows; !all && n > 0 && n < len(ps) {
			ps = ps[:n]
		}
		r, err := train.EvaluateSeq2Seq(tr.Model, ps, sp, 32)
		if err == nil && !(r.Loss < math.Inf(1)) {
			err = &train.DivergedError{Step: tr.Step, Reason: fmt.Sprintf("the validation loss at step %d is %g", tr.Step, r.Loss)}
		}
		return r, err
	}
	bar := newProgress(stderr, tr.Opts.Steps, tr.Step)
	var first, last train.Seq2SeqEval
	evaluated := false
	onEval := func(all bool) error {
		r, err := validate(all)
		if err != nil {
			return err
		}
		if !evaluated {
			first, evaluated = r, true
		}
		last = r
		bar.println("step %d: validation loss %.4f, token accuracy %.2f%%, exact match %.2f%% (%d held-out pairs)",
			tr.Step, r.Loss, 100*r.TokenAcc, 100*r.ExactMatch, r.Pairs)
		metrics.eval(tr.Step, r.Loss)
		return nil
	}
	savedStep := -1
	save := func() error {
		if err := tr.Save(out, tok.Name()); err != nil {
			return err
		}
		savedStep = tr.Step
		bar.println("step %d: checkpoint saved to %s", tr.Step, out)
		return nil
	}
	startStep := tr.Step
	start := time.Now()
	err = onEval(true)
	for err == nil && tr.Step < tr.Opts.Steps {
		if ctx.Err() != nil {
			if err = save(); err == nil {
				err = context.Canceled // a signal or a deadline: interrupted either way
			}
			break
		}
		var s train.StepInfo
		if s, err = tr.TrainStep(); err != nil {
			break
		}
		bar.step(s.Step, s.Loss, s.Tokens, s.Flops)
		metrics.step(s)
		switch {
		case tr.Step == tr.Opts.Steps:
			err = onEval(true)
		case tr.Opts.EvalEvery > 0 && tr.Step%tr.Opts.EvalEvery == 0:
			err = onEval(false)
		}
		if err == nil && (tr.Step == tr.Opts.Steps || opts.CkptEvery > 0 && tr.Step%opts.CkptEvery == 0) {
			err = save()
		}
	}
	if err == nil && savedStep != tr.Step {
		err = save() // a resumed run already at its last step
	}
	bar.done()
	if merr := metrics.Close(); err == nil && merr != nil {
		err = merr
	}
	if err != nil {
		return runError(err, out, tr.Step, savedStep)
	}
	ran := tr.Step - startStep
	steps := fmt.Sprintf("trained %d steps", ran)
	if startStep > 0 {
		steps = fmt.Sprintf("trained %d steps (%d -> %d)", ran, startStep, tr.Step)
	}
	fmt.Fprintf(stdout, "%s in %s: validation loss %.4f -> %.4f, exact match %.2f%% -> %.2f%% (%d held-out pairs); saved %s\n",
		steps, fmtDur(time.Since(start)), first.Loss, last.Loss, 100*first.ExactMatch, 100*last.ExactMatch, last.Pairs, out)
	n := opts.Sample
	if !opts.changed("sample") {
		n = 3
	}
	tr.Model.Flops = nil
	return printDecodes(stdout, tr.Model, ids, d.HeldOut[:min(n, len(d.HeldOut))])
}

// printDecodes prints each pair's source, the model's greedy decode and,
// when it differs, the expected target.
func printDecodes(w io.Writer, m *model.Model, v s2sIDs, pairs []seq2seq.Pair) error {
	for _, p := range pairs {
		h, err := m.Greedy(p.Src, model.GenerateOptions{BOS: v.Start, EOS: v.EOS, MaxLen: m.Config.MaxSeq})
		if err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		got, want := v.Text(h.Tokens), v.Text(p.Tgt)
		mark := "  (exact)"
		if got != want || !h.Finished {
			mark = fmt.Sprintf("  (expected %q)", want)
		}
		fmt.Fprintf(w, "  %q -> %q%s\n", v.Text(p.Src), got, mark)
	}
	return nil
}

// checkSeq2SeqMemory estimates a training step's memory from the cost
// model (sharing ignored: an upper bound) at the longest pairs the context
// allows, before anything is allocated.
func checkSeq2SeqMemory(c model.Config, batch int, limit int64) error {
	u := c
	u.Share, u.Groups, u.ShareStacks = model.ShareNone, 1, false
	s, err := cost.EncDecForModel(u)
	if err != nil {
		return err
	}
	m, err := s.Memory(c.MaxSeq, c.MaxSeq)
	if err != nil {
		return fmt.Errorf("the model is too large to train: %w", err)
	}
	total := m.TrainState + int64(batch)*m.Activations
	if limit > 0 && total > limit {
		return fmt.Errorf("training this model at --batch %d with --max-seq %d needs about %s (%s for weights, gradients and AdamW moments), more than this machine's %s",
			batch, c.MaxSeq, textfmt.Bytes(total, 1), textfmt.Bytes(m.TrainState, 1), textfmt.Bytes(limit, 1))
	}
	return nil
}

// addSeq2SeqDataFlags declares train's --task and --denoise (--data,
// shared with the decoder, is the TSV file) and documents --arch encdec.
func addSeq2SeqDataFlags(cmd *cobra.Command, s *s2sSource) {
	fs := cmd.Flags()
	cmd.Long += `

--arch encdec trains an encoder-decoder (Vaswani et al. 2017: a bidirectional
encoder over the source, a decoder with causal self-attention and cross-attention
over the encoder's output) by teacher-forced cross-entropy on the target and its
end id. Its defaults are the Transformer's choices at toy size: 2 + 2 post-LN
layers of width 128, sinusoidal positions, a ReLU FFN, the embedding scaled by √d
and one matrix tied three ways (--tying all: source embedding = target embedding =
output projection; decoder: a separate source table; none: three matrices), 64
positions per stack, a batch of 16 pairs, lr 1e-3 (warmup 300) for 1500 steps.
The pairs come from a task built into the binary (--task facts: questions about
the built-in corpus's world, answered with its sentences; reverse: a sentence's
words reversed), a --data file of source<TAB>target lines or --denoise FILE
(BART's text infilling: 30% of the tokens masked in Poisson(3) spans, the model
restores the text). A task brings its held-out split (new wordings of known
facts); of a file, 10% of the pairs are held out by --seed. Validation reports
the loss, token accuracy and the exact match of the greedy decode; after training
--sample N held-out sources are decoded (default 3). The vocabulary is the
tokenizer's plus pad, start, end and mask ids.`
	cmd.Example += `
  tformer train --arch encdec --task facts --out s2s.safetensors
  tformer train --arch encdec --tying none --enc-layers 3 --layers 1 --data pairs.tsv --out pairs.safetensors
  tformer train --arch encdec --denoise notes.txt --positions learned --out bart-like.safetensors`
	fs.StringVar(&s.Task, "task", "", "--arch encdec: built-in task, "+strings.Join(seq2seq.Tasks(), " or ")+" (the default: facts; with --data, source<TAB>target lines)")
	fs.StringVar(&s.Denoise, "denoise", "", "--arch encdec: train BART-style on this text file (30% of tokens masked in Poisson(3) spans -> the original)")
}

// seq2seqEvalFlags are eval's flags for an encoder-decoder.
type seq2seqEvalFlags struct {
	s2sSource
	fs *pflag.FlagSet
}

func addSeq2SeqEvalFlags(cmd *cobra.Command, e *seq2seqEvalFlags) {
	fs := cmd.Flags()
	e.fs = fs
	cmd.Long += `

An encoder-decoder (train --arch encdec) is scored on (source, target) pairs: the
held-out split of the task it trained on (or --task), or a --data TSV file or
--denoise text scored whole (--split val: its held-out 10%). Reported: the
teacher-forced loss per target token (end id included), perplexity, token
accuracy, and the exact match of the greedy decode against the target.`
	cmd.Example += `
  tformer eval --model s2s.safetensors
  tformer eval --model s2s.safetensors --data pairs.tsv --json`
	fs.StringVar(&e.Task, "task", "", "encoder-decoders: built-in task to score (default: the one it trained on)")
	fs.StringVar(&e.Denoise, "denoise", "", "encoder-decoders: score BART-style denoising of this text file")
}

// s2sEvalJSON is eval's --json output for an encoder-decoder.
type s2sEvalJSON struct {
	Loss       float64 `json:"loss"`
	Perplexity float64 `json:"perplexity"`
	TokenAcc   float64 `json:"token_accuracy"`
	ExactMatch float64 `json:"exact_match"`
	Pairs      int     `json:"pairs"`
	Split      string  `json:"split"`
	Data       string  `json:"data"`
}

// trainedOn returns the task and seed of the run that wrote the checkpoint
// at path (ok false when it records none).
func trainedOn(path string) (task string, seed uint64, ok bool) {
	meta, err := safetensors.ReadMetadata(path)
	if err != nil || meta["train"] == "" {
		return "", 0, false
	}
	var st struct {
		Options train.Options `json:"options"`
	}
	if json.Unmarshal([]byte(meta["train"]), &st) != nil {
		return "", 0, false
	}
	return st.Options.Task, st.Options.Seed, true
}

// evalSeq2Seq is evalRun for an encoder-decoder: teacher-forced loss,
// perplexity and token accuracy, and the exact match of greedy decoding,
// on the held-out split of its task (or of --data/--denoise with --split
// val; the whole file by default).
func evalSeq2Seq(o *evalOptions, m *model.Model, tok tokenizer.Tokenizer, split string, stdout, stderr io.Writer) error {
	if o.Stride != 0 || o.Seq != 0 {
		return errors.New("--seq and --stride apply to decoders and encoders; an encoder-decoder scores whole pairs")
	}
	ids, err := s2sVocab(o.Model, tok, m.Config)
	if err != nil {
		return err
	}
	sp := ids.special()
	src := o.S2S.s2sSource
	src.TSV = o.Data
	if o.Split == "" && src.Task == "" && (src.TSV != "" || src.Denoise != "") {
		split = "all" // a user file is scored whole, as a decoder's --data is
	} else if o.Split == "" {
		split = "val"
	}
	task, seed, ok := trainedOn(o.Model)
	if !ok {
		seed = 1
	}
	if src.given() == 0 {
		if task == "" {
			return fmt.Errorf("%s records no built-in task it trained on: give --task (%s), --data FILE.tsv or --denoise FILE", o.Model, strings.Join(seq2seq.Tasks(), ", "))
		}
		src.Task = task
	}
	d, err := loadSeq2SeqData(src, ids, m.Config.MaxSeq, seed)
	if err != nil {
		return err
	}
	ps, name := d.HeldOut, d.Name+", held-out split"
	if split == "all" {
		ps, name = append(append([]seq2seq.Pair{}, d.Train...), d.HeldOut...), d.Name+", all pairs"
	}
	start := time.Now()
	r, err := train.EvaluateSeq2Seq(m, ps, sp, o.Batch)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := checkFiniteResult(o.Model, name, r.Loss); err != nil {
		return err
	}
	if o.JSON {
		return printJSON(stdout, s2sEvalJSON{r.Loss, r.Perplexity, r.TokenAcc, r.ExactMatch, r.Pairs, split, d.Name})
	}
	fmt.Fprintf(stdout, "%s: loss %.4f nats/token, perplexity %.3f, token accuracy %.2f%%, exact match %.2f%% of %s pairs (greedy decoding, %s)\n",
		name, r.Loss, r.Perplexity, 100*r.TokenAcc, 100*r.ExactMatch, commas(int64(r.Pairs)), fmtDur(time.Since(start)))
	return nil
}

// seq2seqGenFlags are generate's flags for an encoder-decoder.
type seq2seqGenFlags struct {
	Source        string
	Beam          int
	LengthPenalty float64
	fs            *pflag.FlagSet
}

func addSeq2SeqGenerateFlags(cmd *cobra.Command, g *seq2seqGenFlags) {
	fs := cmd.Flags()
	g.fs, g.Beam = fs, 1
	cmd.Long += `

An encoder-decoder decodes the target of --source TEXT: greedily, or by beam
search (--beam N, ranking finished hypotheses by log p / length^α with
--length-penalty α), up to --tokens ids or the decoder's context, and prints it.`
	cmd.Example += `
  tformer generate --model s2s.safetensors --source "What colour is the cat?"
  tformer generate --model s2s.safetensors --source "What colour is the cat?" --beam 4 --length-penalty 1`
	fs.StringVar(&g.Source, "source", "", `encoder-decoders: the source text to decode a target for ("<mask>" in it is the mask id of a --denoise model)`)
	fs.IntVar(&g.Beam, "beam", g.Beam, "encoder-decoders: beam width (1: greedy)")
	fs.Float64Var(&g.LengthPenalty, "length-penalty", 0, "encoder-decoders: rank finished beams by log p / length^α (0: by log p)")
}

// changed reports whether the user gave flag name (false when the options
// were built in code).
func (g seq2seqGenFlags) changed(name string) bool { return g.fs != nil && g.fs.Changed(name) }

// checkDecoder refuses the encoder-decoder flags on a decoder model.
func (g seq2seqGenFlags) checkDecoder(model string) error {
	for _, f := range []string{"source", "beam", "length-penalty"} {
		if g.changed(f) {
			return fmt.Errorf("--%s applies to encoder-decoders; %s is a decoder: give the text to continue with --prompt", f, model)
		}
	}
	return nil
}

// generateSeq2Seq decodes --source with the encoder-decoder m, printing
// the target.
func generateSeq2Seq(o *generateOptions, m *model.Model, tok tokenizer.Tokenizer, stdout, stderr io.Writer) error {
	g := o.S2S
	if !m.Config.IsEncDec() {
		if err := g.checkDecoder(o.Model); err != nil {
			return err
		}
		return fmt.Errorf("--source applies to encoder-decoders; %s is a %s", o.Model, archName(m.Config))
	}
	for _, f := range []string{"prompt", "prompt-file", "temperature", "top-k", "top-p", "seed", "no-stop", "special-as-text"} {
		if g.changed(f) {
			return fmt.Errorf("--%s applies to decoders; an encoder-decoder decodes --source greedily or by --beam search", f)
		}
	}
	if g.Source == "" {
		return fmt.Errorf("%s is an encoder-decoder: give the text to decode with --source TEXT", o.Model)
	}
	if g.Beam == 0 {
		g.Beam = 1
	}
	if g.Beam < 1 || g.Beam > 64 {
		return fmt.Errorf("--beam must be in [1, 64], got %d", g.Beam)
	}
	if math.IsNaN(g.LengthPenalty) || g.LengthPenalty < 0 || g.LengthPenalty > 10 {
		return fmt.Errorf("--length-penalty must be in [0, 10], got %g", g.LengthPenalty)
	}
	v, err := s2sVocab(o.Model, tok, m.Config)
	if err != nil {
		return err
	}
	toks := v.encodeMasked(g.Source)
	src := v.source(toks)
	if extra, c := len(src)-len(toks), m.Config.MaxSeq; len(src) > c {
		return fmt.Errorf("--source is %s tokens, longer than the encoder's context of %s (with its special ids: at most %s tokens)", commas(int64(len(toks))), commas(int64(c)), commas(int64(c-extra)))
	}
	maxLen := m.Config.MaxSeq
	if g.changed("tokens") {
		if o.Gen.Tokens < 1 || o.Gen.Tokens > maxLen {
			return fmt.Errorf("--tokens must be in [1, %d] (the decoder's context), got %d", maxLen, o.Gen.Tokens)
		}
		maxLen = o.Gen.Tokens
	}
	opt := model.GenerateOptions{BOS: v.Start, EOS: v.EOS, MaxLen: maxLen, Beam: g.Beam, LengthPenalty: g.LengthPenalty}
	start := time.Now()
	var h model.Hypothesis
	if g.Beam == 1 {
		h, err = m.Greedy(src, opt)
	} else {
		var hs []model.Hypothesis
		if hs, err = m.BeamSearch(src, opt); err == nil {
			h = hs[0]
		}
	}
	if err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	if _, err := fmt.Fprintln(stdout, v.Text(h.Tokens)); err != nil {
		return err
	}
	how := "greedy"
	if g.Beam > 1 {
		how = fmt.Sprintf("beam %d, length penalty %g", g.Beam, g.LengthPenalty)
	}
	stopped := " (stopped at the end id)"
	if !h.Finished {
		stopped = fmt.Sprintf(" (no end id within %d tokens)", maxLen)
	}
	fmt.Fprintf(stderr, "decoded %d tokens in %.2f s (%s), log p %.3f%s\n", len(h.Tokens), time.Since(start).Seconds(), how, h.LogProb, stopped)
	return nil
}

// archName names c's architecture in messages.
func archName(c model.Config) string {
	switch {
	case c.IsEncDec():
		return "encoder-decoder"
	case c.IsEncoder():
		return "encoder"
	}
	return "decoder"
}

// costEncDecSpecOf is the cost spec of the encoder-decoder the model flags
// (--arch encdec) or a checkpoint (--model) describe.
func costEncDecSpecOf(o *costOptions) (cost.EncDecSpec, error) {
	var c model.Config
	if o.File != "" {
		if o.changed("arch") || o.Preset != "" || o.Config != "" {
			return cost.EncDecSpec{}, errors.New("--model gives the model: --arch, --preset and --config do not combine with it")
		}
		meta, err := safetensors.ReadMetadata(o.File)
		if err != nil {
			return cost.EncDecSpec{}, fmt.Errorf("--model: %w", err)
		}
		if err := json.Unmarshal([]byte(meta["config"]), &c); err != nil || meta["format"] != checkpoint.Format {
			return cost.EncDecSpec{}, fmt.Errorf("--model %s: not a tformer checkpoint (no model config in its header)", o.File)
		}
		if !c.IsEncDec() {
			return cost.EncDecSpec{}, fmt.Errorf("--model %s is a %s; describe it with the model flags (or --config) instead", o.File, archName(c))
		}
		for _, f := range modelFlagNames {
			if o.changed(f) {
				return cost.EncDecSpec{}, fmt.Errorf("--%s: --model %s fixes the model's shape", f, o.File)
			}
		}
	} else {
		vocab := model.TinyEncDec().Vocab
		if o.changed("vocab") {
			vocab = o.Model.c.Vocab
		}
		var err error
		if c, err = o.Model.encdecConfig(vocab); err != nil {
			return cost.EncDecSpec{}, err
		}
	}
	s, err := cost.EncDecForModel(c)
	if err != nil {
		return s, err
	}
	s.Name = "model"
	if o.File != "" {
		s.Name = o.File
	}
	return s, nil
}

// addCostModelFlag declares cost's --model.
func addCostModelFlag(cmd *cobra.Command, o *costOptions) {
	fs := cmd.Flags()
	cmd.Long += `

--arch encdec with the model flags (--enc-layers, --tying, --post-ln, --positions,
--activation, ...) describes the encoder-decoder train --arch encdec builds, and
--model FILE a trained one; both report as the encoder-decoder presets do.`
	cmd.Example += `
  tformer cost --arch encdec --tying decoder --src-seq 32,64 --tgt-seq 32
  tformer cost --model s2s.safetensors`
	fs.StringVar(&o.File, "model", "", "a tformer encoder-decoder checkpoint to analyse (its config)")
}

// withoutModelFlags is flags without the model flags and --model, which
// describe a model rather than the report.
func withoutModelFlags(flags []string) []string {
	skip := map[string]bool{"--model": true, "--vocab": true}
	for _, f := range modelFlagNames {
		skip["--"+f] = true
	}
	var out []string
	for _, f := range flags {
		if !skip[f] {
			out = append(out, f)
		}
	}
	return out
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tformer/tformer/checkpoint"
	"github.com/tformer/tformer/cost"
	"github.com/tformer/tformer/generate"
	"github.com/tformer/tformer/internal/atomicfile"
	"github.com/tformer/tformer/kernels"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/safetensors"
	"github.com/tformer/tformer/tokenizer"
	"github.com/tformer/tformer/train"
)

// modelFlags are the flags that define a model's shape and sharing.
type modelFlags struct {
	c     model.Config
	noTie bool
	share string
	arch  string
}

func addModelFlags(fs *pflag.FlagSet) *modelFlags {
	mf := &modelFlags{}
	d := model.Tiny()
	fs.IntVar(&mf.c.DModel, "d-model", d.DModel, "model width d")
	fs.IntVar(&mf.c.Layers, "layers", d.Layers, "number of Transformer layers")
	fs.IntVar(&mf.c.Heads, "heads", d.Heads, "attention heads (must divide --d-model)")
	fs.IntVar(&mf.c.DFF, "d-ff", 0, "FFN inner width (0: 4·d-model)")
	fs.IntVar(&mf.c.MaxSeq, "max-seq", d.MaxSeq, "context length (learned positions)")
	fs.BoolVar(&mf.c.Tie, "tie", true, "tie the output projection to the token embedding (logits = h·Eᵀ)")
	fs.BoolVar(&mf.noTie, "no-tie", false, "use a separate output matrix (same as --tie=false)")
	fs.StringVar(&mf.share, "share", "none", "cross-layer sharing: none, all (ALBERT), attention or ffn")
	fs.IntVar(&mf.c.Groups, "groups", 1, "split layers into G contiguous groups that each share one set of weights")
	fs.StringVar(&mf.arch, "arch", "decoder", "architecture: decoder (GPT-2 style, next-token loss) or encoder (BERT/ALBERT style, masked-LM)")
	fs.IntVar(&mf.c.EmbedDim, "embed-dim", 0, "factorized embedding width E < d-model (ALBERT): K×E tables, an E->d projection, output through E (0: d-model)")
	fs.IntVar(&mf.c.TypeVocab, "type-vocab", 0, "encoder token types (0: 2, as BERT and ALBERT; the built-in data uses type 0)")
	return mf
}

// config builds the model config for a tokenizer of vocab ids. An encoder
// gets one more id, [MASK] (= vocab).
func (mf *modelFlags) config(vocab int) (model.Config, error) {
	c := mf.c
	arch, err := model.ParseArch(mf.arch)
	if err != nil {
		return c, err
	}
	c.Arch = arch
	c.Vocab = vocab
	if arch == model.ArchEncoder {
		c.Vocab = vocab + 1
	}
	if mf.noTie {
		c.Tie = false
	}
	if c.DFF == 0 {
		c.DFF = 4 * c.DModel
	}
	sh, err := model.ParseShare(mf.share)
	if err != nil {
		return c, err
	}
	c.Share = sh
	return c, c.Validate()
}

func describeModel(w io.Writer, c model.Config) {
	arch := "decoder"
	if c.IsEncoder() {
		arch = "encoder"
	}
	emb := ""
	if c.Factorized() {
		emb = fmt.Sprintf(" embed_dim=%d", c.E())
	}
	fmt.Fprintf(w, "model: %s d=%d layers=%d heads=%d d_ff=%d context=%d vocab=%d tie=%v share=%s groups=%d%s\n",
		arch, c.DModel, c.Layers, c.Heads, c.DFF, c.MaxSeq, c.Vocab, c.Tie, c.Share, c.Groups, emb)
	if c.IsEncoder() {
		fmt.Fprintf(w, "masked-LM: id %d is [MASK], added after the tokenizer's ids 0..%d\n", c.MaskID(), c.MaskID()-1)
	}
	u, a := c.UniqueParams(), c.AppliedParams()
	fmt.Fprintf(w, "parameters: %d unique (stored), %d applied (per forward pass); tying and sharing save %d (%.1f%%)\n",
		u, a, a-u, 100*float64(a-u)/float64(a))
}

// trainOptions are the parsed flags of `tformer train`.
type trainOptions struct {
	Train     train.Options // schedule, batches, optimizer (as the flags set them)
	Model     *modelFlags   // the new model's shape (fresh runs)
	Data      string        // training text or llm.c token file ("" the built-in corpus)
	Out       string        // checkpoint to write ("" with Resume: the resumed file)
	Resume    string        // checkpoint of the run to continue
	Init      string        // model whose weights start a fine-tune
	Tokenizer string
	Prompt    string // of the sample printed after training
	Metrics   string // JSONL telemetry file ("" none)
	CkptEvery int
	Sample    int
	Force     bool // replace an existing --out that is another model or the input
	// Changed reports whether a flag was set on the command line (nil: none).
	Changed func(flag string) bool
}

// shapeFlags fix a model's shape: --init and --resume take them from the file.
var shapeFlags = []string{"d-model", "layers", "heads", "d-ff", "max-seq", "tie", "no-tie", "share", "groups", "arch", "embed-dim", "type-vocab", "tokenizer"}

// resumeFixed are the run's settings that make resuming exact: they cannot
// change on --resume.
var resumeFixed = []string{"batch", "seq", "seed"}

func newTrainCmd(runF func(*trainOptions) error) *cobra.Command {
	opts := &trainOptions{Train: train.DefaultOptions()}
	o := &opts.Train
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train a model (on the built-in corpus unless --data is given)",
		Long: `Train a GPT-style language model with AdamW (decoupled weight decay on matrices,
including the tied embedding once), global-norm gradient clipping and a linear-warmup
cosine learning-rate schedule. The last 10% of the data is the validation split.

--arch encoder trains a BERT/ALBERT-style encoder by masked language modelling on
the same data: in each window of --seq tokens max(1, round(0.15·seq)) positions
are chosen, 80% replaced by [MASK], 10% by a random token, 10% kept, and the loss
is the cross-entropy at those positions; the masked-token accuracy is reported.
The encoder's vocabulary is the tokenizer's plus [MASK], the last id. A post-LN
encoder needs a cooler start than the decoder: its defaults are --lr 1e-3 and
--warmup 200 (the decoder's 3e-3 and 30 leave it predicting token frequencies).
--embed-dim E < --d-model factorizes the embedding as ALBERT does (both archs).

Without --data, tformer trains on a corpus built into the binary (generated by
tformer itself). A checkpoint is written at the end, every --ckpt-every steps and on
Ctrl-C/SIGTERM/SIGHUP; --resume continues a run exactly where it stopped and writes
back to the file it resumed from (unless --out says otherwise). A new run does not
replace an existing model at --out (nor the --init model) without --force. Only
finite states are saved: a diverging run stops with an error and leaves the last
checkpoint as it was. A lock file (.NAME.lock) keeps two runs off one --out.

--metrics FILE writes one JSON object per step: {"step", "loss", "val_loss" (null
when not evaluated), "lr", "grad_norm", "tokens_per_s", "gflops" (achieved, from
the engine's exact FLOP counts), "mfu" (against the measured FMA limit of the
cores in use; null when unknown)}.`,
		Example: `  tformer train
  tformer train --data notes.txt --steps 2000 --d-model 192 --layers 6 --share all --out shared.safetensors
  tformer train --arch encoder --share all --embed-dim 32 --seq 64 --max-seq 64 --out encoder.safetensors
  tformer train --resume tformer-model.safetensors --steps 1200
  tformer train --init ./gpt2 --data notes.txt --steps 200 --lr 1e-4 --out notes.safetensors`,
		Args: cobra.NoArgs,
	}
	opts.Model = addModelFlags(cmd.Flags())
	fs := cmd.Flags()
	fs.StringVar(&opts.Data, "data", "", "training text file (default: the built-in corpus)")
	fs.StringVar(&opts.Tokenizer, "tokenizer", "byte", tokenizerFlagHelp)
	fs.IntVar(&o.Steps, "steps", o.Steps, "optimizer steps (with --resume: the new total, 0 keeps the saved one)")
	fs.IntVar(&o.Batch, "batch", o.Batch, "sequences per step")
	fs.IntVar(&o.Seq, "seq", o.Seq, "tokens per sequence (at most --max-seq)")
	fs.Float32Var(&o.LR, "lr", o.LR, "peak learning rate (--arch encoder: 0.001)")
	fs.Float32Var(&o.MinLR, "min-lr", 0, fmt.Sprintf("final learning rate of the cosine decay (default: %g × --lr)", train.MinLRFraction))
	fs.IntVar(&o.Warmup, "warmup", o.Warmup, "linear warmup steps (--arch encoder: 200)")
	fs.Float32Var(&o.WeightDecay, "weight-decay", o.WeightDecay, "AdamW weight decay (matrices only)")
	fs.Float32Var(&o.GradClip, "grad-clip", o.GradClip, "clip the global gradient norm to this (0: off)")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "seed for initialisation and batch sampling")
	fs.IntVar(&o.EvalEvery, "eval-every", o.EvalEvery, "validate every N steps (0: only at start and end)")
	fs.IntVar(&o.EvalWindows, "eval-windows", o.EvalWindows, "validation windows per evaluation (0: the whole split)")
	fs.StringVar(&opts.Out, "out", "tformer-model.safetensors", "checkpoint file to write (with --resume: the resumed file unless given)")
	fs.BoolVar(&opts.Force, "force", false, "replace an existing model at --out (or the --init model) instead of refusing")
	fs.StringVar(&opts.Metrics, "metrics", "", "write per-step telemetry to this JSONL file")
	fs.IntVar(&opts.CkptEvery, "ckpt-every", 0, "also checkpoint every N steps (0: only at the end and on interrupt)")
	fs.StringVar(&opts.Resume, "resume", "", "continue the run saved in this checkpoint")
	fs.StringVar(&opts.Init, "init", "", "fine-tune: start from this model's weights (tformer checkpoint, Hugging Face GPT-2 directory or llm.c .bin) with a fresh optimizer")
	fs.IntVar(&opts.Sample, "sample", 200, "after training, print a sample of this many tokens (0: none)")
	fs.StringVar(&opts.Prompt, "prompt", "The ", "prompt of the sample printed after training")
	applyThreads := addThreadsFlag(cmd)

	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		opts.Changed = cmd.Flags().Changed
		if runF != nil {
			return runF(opts)
		}
		if err := applyThreads(); err != nil {
			return err
		}
		// SIGHUP (a closed terminal or ssh session) saves and stops like Ctrl-C.
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
		defer stop()
		return trainRun(ctx, opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
	}
	return cmd
}

// changed reports whether flag was set.
func (opts *trainOptions) changed(flag string) bool { return opts.Changed != nil && opts.Changed(flag) }

// outPath is the checkpoint the run writes: --out, or the resumed file
// when --out was not given.
func (opts *trainOptions) outPath() string {
	if opts.Resume != "" && !opts.changed("out") {
		return opts.Resume
	}
	return opts.Out
}

// checkFlags refuses flag values no run can use, before anything is read.
func (opts *trainOptions) checkFlags() error {
	switch {
	case opts.Resume != "" && opts.Init != "":
		return errors.New("--resume and --init cannot be combined (--resume continues a run, --init starts a new one from a model's weights)")
	case opts.CkptEvery < 0:
		return fmt.Errorf("--ckpt-every must be >= 0, got %d", opts.CkptEvery)
	case opts.Sample < 0:
		return fmt.Errorf("--sample must be >= 0, got %d", opts.Sample)
	case opts.Out == "" && (opts.Resume == "" || opts.changed("out")):
		return errors.New(`--out is empty: name the checkpoint file to write`)
	}
	o := opts.Train
	for _, f := range []struct {
		name string
		v    float32
	}{{"lr", o.LR}, {"min-lr", o.MinLR}, {"weight-decay", o.WeightDecay}, {"grad-clip", o.GradClip}} {
		if math.IsNaN(float64(f.v)) || math.IsInf(float64(f.v), 0) {
			return fmt.Errorf("--%s must be a finite number, got %g", f.name, f.v)
		}
	}
	if o.EvalEvery < 0 || o.EvalWindows < 0 {
		return fmt.Errorf("--eval-every and --eval-windows must be >= 0, got %d and %d", o.EvalEvery, o.EvalWindows)
	}
	if opts.Resume != "" {
		for _, f := range append(append([]string{}, shapeFlags...), resumeFixed...) {
			if opts.changed(f) {
				return fmt.Errorf("--%s cannot change on --resume (the checkpoint %s fixes it so the run resumes exactly); start a new run (--out elsewhere) for another setting", f, opts.Resume)
			}
		}
	}
	if opts.Init != "" {
		for _, f := range shapeFlags {
			if opts.changed(f) {
				return fmt.Errorf("--%s cannot be set with --init (the model in %s fixes it)", f, opts.Init)
			}
		}
	}
	return nil
}

// describeFile says what a file at path holds, for a refusal to replace it.
func describeFile(path string) string {
	md, err := safetensors.ReadMetadata(path)
	if err == nil && md["format"] == checkpoint.Format {
		what := "a tformer model"
		if c, err := model.ParseConfig(md["config"]); err == nil {
			what += fmt.Sprintf(" (d=%d layers=%d vocab=%d)", c.DModel, c.Layers, c.Vocab)
		}
		if st := md["train"]; st != "" {
			var ts struct {
				Step int `json:"step"`
			}
			if json.Unmarshal([]byte(st), &ts) == nil {
				what += fmt.Sprintf(" trained %d steps", ts.Step)
			}
		}
		return what
	}
	st, err := os.Stat(path)
	switch {
	case err == nil && st.IsDir():
		n := 0
		if ents, err := os.ReadDir(path); err == nil {
			n = len(ents)
		}
		return fmt.Sprintf("a directory of %d entries", n)
	case err == nil:
		return fmt.Sprintf("a file of %d bytes", st.Size())
	}
	return "a file"
}

// sameFile reports whether a and b name one existing file.
func sameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// checkOverwrite refuses to replace an existing file at out with a new
// run's model — another model, or the --init model itself — unless --force.
// Resuming writes back to the resumed file, which is no surprise.
func (opts *trainOptions) checkOverwrite(out string, stderr io.Writer) error {
	if _, err := os.Stat(out); err != nil {
		return nil
	}
	if opts.Resume != "" && sameFile(out, opts.Resume) {
		return nil
	}
	what := describeFile(out)
	if opts.Init != "" && sameFile(out, opts.Init) {
		what = "the --init model"
	}
	if opts.Force {
		fmt.Fprintf(stderr, "note: --force: %s, %s, will be replaced by this run's checkpoint\n", out, what)
		return nil
	}
	hint := fmt.Sprintf("--resume %s to continue it, ", out)
	if opts.Resume != "" || opts.Init != "" {
		hint = ""
	}
	return fmt.Errorf("--out %s already holds %s; refusing to replace it (it was kept): pass --force to replace it, %sor choose another --out", out, what, hint)
}

// memoryLimit is the memory this process may use: the machine's RAM, or a
// cgroup's limit when lower (0 when unknown).
func memoryLimit() int64 {
	var limit int64
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			var kb int64
			if _, err := fmt.Sscanf(line, "MemTotal: %d kB", &kb); err == nil {
				limit = kb << 10
			}
		}
	}
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		var v int64
		if _, err := fmt.Sscan(string(b), &v); err == nil && v > 0 && (limit == 0 || v < limit) {
			limit = v
		}
	}
	return limit
}

// humanBytes formats a byte count with a binary unit.
func humanBytes(n float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %s", n, units[i])
}

// checkTrainMemory estimates a training step's memory (parameters,
// gradients, AdamW moments, activations) before anything is allocated, and
// refuses what the machine cannot hold.
func checkTrainMemory(c model.Config, seq, batch int, limit int64) error {
	s := cost.ForModel(c)
	if err := s.CheckCountable([]int{seq}, batch); err != nil {
		return fmt.Errorf("the model at --batch %d --seq %d is too large to train: %w", batch, seq, err)
	}
	m := s.Memory(seq, batch)
	if limit > 0 && m.Total > limit {
		return fmt.Errorf("training this model at --batch %d --seq %d needs about %s (%s for weights, gradients and AdamW moments, %s of activations), more than this machine's %s",
			batch, seq, humanBytes(float64(m.Total)), humanBytes(float64(m.Params+m.Grads+m.AdamW)), humanBytes(float64(m.Activations+m.AttentionLSE)), humanBytes(float64(limit)))
	}
	return nil
}

// setupResume loads the run to continue and applies the settings that may
// change (steps, learning rates, warmup, decay, clipping, evaluation),
// printing each change.
func (opts *trainOptions) setupResume(stderr io.Writer) (*train.Trainer, error) {
	ck, err := checkpoint.Load(opts.Resume)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.New(ck.Tokenizer)
	if err != nil {
		return nil, err
	}
	if ck.Train != nil {
		var so train.Options
		if json.Unmarshal(ck.Train.Options, &so) == nil && so.Batch > 0 && so.Seq > 0 {
			if err := checkTrainMemory(ck.Model.Config, so.Seq, so.Batch, memoryLimit()); err != nil {
				return nil, err
			}
		}
	}
	ids, name, err := loadTokens(opts.Data, tok)
	if err != nil {
		return nil, err
	}
	tr, err := train.ResumeFrom(ck, ids)
	if err != nil {
		return nil, fmt.Errorf("resume %s with %s: %w", opts.Resume, name, err)
	}
	was := tr.Opts
	n := &tr.Opts
	if opts.changed("steps") {
		if err := tr.SetSteps(opts.Train.Steps); err != nil {
			return nil, err
		}
	}
	if opts.changed("lr") {
		n.LR = opts.Train.LR
		if !opts.changed("min-lr") { // keep the final rate's ratio to the peak
			n.MinLR = was.MinLR / was.LR * n.LR
		}
	}
	if opts.changed("min-lr") {
		n.MinLR = opts.Train.MinLR
	}
	for _, f := range []struct {
		flag string
		dst  *int
		v    int
	}{{"warmup", &n.Warmup, opts.Train.Warmup}, {"eval-every", &n.EvalEvery, opts.Train.EvalEvery}, {"eval-windows", &n.EvalWindows, opts.Train.EvalWindows}} {
		if opts.changed(f.flag) {
			*f.dst = f.v
		}
	}
	if opts.changed("weight-decay") {
		n.WeightDecay = opts.Train.WeightDecay
	}
	if opts.changed("grad-clip") {
		n.GradClip = opts.Train.GradClip
	}
	if err := n.Validate(tr.Model.Config.MaxSeq); err != nil {
		return nil, err
	}
	tr.Opt.WeightDecay = n.WeightDecay
	var changes []string
	add := func(name string, a, b any) {
		if fmt.Sprint(a) != fmt.Sprint(b) {
			changes = append(changes, fmt.Sprintf("%s %v -> %v", name, a, b))
		}
	}
	add("steps", was.Steps, n.Steps)
	add("lr", was.LR, n.LR)
	add("min-lr", was.MinLR, n.MinLR)
	add("warmup", was.Warmup, n.Warmup)
	add("weight-decay", was.WeightDecay, n.WeightDecay)
	add("grad-clip", was.GradClip, n.GradClip)
	add("eval-every", was.EvalEvery, n.EvalEvery)
	add("eval-windows", was.EvalWindows, n.EvalWindows)
	fmt.Fprintf(stderr, "resuming %s at step %d of %d\n", opts.Resume, tr.Step, n.Steps)
	if len(changes) > 0 {
		fmt.Fprintf(stderr, "changed on resume: %s\n", strings.Join(changes, ", "))
	}
	return tr, nil
}

// setupFresh builds a new run: a new model from the flags, or the --init
// model's weights with a fresh optimizer.
func (opts *trainOptions) setupFresh(stderr io.Writer) (*train.Trainer, error) {
	o := opts.Train
	mf := opts.Model
	var (
		tok  tokenizer.Tokenizer
		cfg  model.Config
		init *model.Model
		err  error
	)
	tokName := opts.Tokenizer
	if opts.Init != "" {
		// Fine-tune: the model (and so its shape and tokenizer) comes from the file.
		if init, tok, err = loadModel(opts.Init, stderr); err != nil {
			return nil, err
		}
		if _, err := tokenizer.New(tok.Name()); err != nil {
			return nil, fmt.Errorf("--init %s: its tokenizer %q is not built in, so checkpoints could not name it", opts.Init, tok.Name())
		}
		cfg, tokName = init.Config, tok.Name()
		if !opts.changed("seq") && o.Seq > cfg.MaxSeq {
			o.Seq = cfg.MaxSeq
		}
	} else {
		tokName = dataTokenizer(opts.Data, tokName, opts.changed("tokenizer"))
		if tok, err = tokenizer.New(tokName); err != nil {
			return nil, err
		}
		if cfg, err = mf.config(tok.VocabSize()); err != nil {
			return nil, err
		}
	}
	// Per-architecture defaults for what the flags left unset, and the
	// final learning rate as a fraction of the peak.
	if cfg.IsEncoder() {
		d := train.DefaultEncoderOptions()
		if !opts.changed("lr") {
			o.LR = d.LR
		}
		if !opts.changed("warmup") {
			o.Warmup = d.Warmup
		}
	}
	if !opts.changed("min-lr") {
		o.MinLR = train.DefaultMinLR(o.LR)
	}
	if err := o.Validate(cfg.MaxSeq); err != nil {
		return nil, err
	}
	if err := checkTrainMemory(cfg, o.Seq, o.Batch, memoryLimit()); err != nil {
		return nil, err
	}
	ids, name, err := loadTokens(opts.Data, tok)
	if err != nil {
		return nil, err
	}
	ds, err := train.Split(ids, o.Seq)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	m := init
	if m == nil {
		if m, err = model.New(cfg); err != nil {
			return nil, err
		}
		m.Init(o.Seed)
	} else {
		fmt.Fprintf(stderr, "fine-tuning %s (fresh optimizer state)\n", opts.Init)
	}
	o.Tokenizer = tokName
	tr, err := train.New(m, ds, o)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "data: %s, %s tokens (%s train, %s validation)\n", name,
		humanCount(int64(len(ids))), humanCount(int64(len(ds.Train))), humanCount(int64(len(ds.Val))))
	return tr, nil
}

// unigram returns the entropy (nats) of the tokens' frequencies and the
// share of the most frequent token: the loss and accuracy of a model that
// ignores context.
func unigram(tokens []int32, vocab int) (entropy, top float64) {
	counts := make([]int, vocab)
	for _, t := range tokens {
		if t >= 0 && int(t) < vocab {
			counts[t]++
		}
	}
	n := float64(len(tokens))
	best := 0
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			entropy -= p * math.Log(p)
		}
		best = max(best, c)
	}
	return entropy, float64(best) / n
}

// plateauSteps is the run length from which a model still on the unigram
// plateau earns a warning (shorter runs have not had the time to leave it).
const plateauSteps = 100

// claimOut makes sure the run can write out before it starts: the path is
// writable, no other run holds its lock (which it takes; the caller
// unlocks), a killed save's temporary files are gone, and the file there,
// if any, may be replaced.
func (opts *trainOptions) claimOut(out string, stderr io.Writer) (*atomicfile.Lock, error) {
	if err := atomicfile.CheckWritable(out); err != nil {
		return nil, fmt.Errorf("--out %s cannot be written: %w", out, err)
	}
	lock, err := atomicfile.TryLock(out)
	if err != nil {
		var locked *atomicfile.ErrLocked
		if errors.As(err, &locked) {
			return nil, fmt.Errorf("--out %s: another tformer run is writing it (lock %s); wait for it to finish or choose another --out", out, locked.LockFile)
		}
		return nil, fmt.Errorf("--out %s: %w", out, err)
	}
	if removed, err := atomicfile.RemoveStale(out); err == nil && len(removed) > 0 {
		fmt.Fprintf(stderr, "note: removed %d temporary file(s) an interrupted save of %s left behind\n", len(removed), out)
	}
	if err := opts.checkOverwrite(out, stderr); err != nil {
		lock.Unlock()
		return nil, err
	}
	return lock, nil
}

// promptIDs encodes the prompt of the sample after training, refusing one
// that cannot be sampled from (checked before the run, not after it).
func (opts *trainOptions) promptIDs(tok tokenizer.Tokenizer, c model.Config) ([]int32, error) {
	if c.IsEncoder() || opts.Sample == 0 {
		return nil, nil
	}
	ids := tok.Encode([]byte(opts.Prompt))
	switch {
	case len(ids) == 0:
		return nil, errors.New("--prompt is empty: the sample after training needs at least one token (or pass --sample 0)")
	case len(ids) > c.MaxSeq:
		return nil, fmt.Errorf("--prompt is %d tokens, longer than the model's context of %d", len(ids), c.MaxSeq)
	}
	return ids, nil
}

// runError says how a run that stopped with err (at step, its last save at
// savedStep, -1 for none) left its checkpoint out.
func runError(err error, out string, step, savedStep int) error {
	var div *train.DivergedError
	switch {
	case errors.As(err, &div):
		kept := fmt.Sprintf("nothing was saved (%s is unchanged)", out)
		if savedStep >= 0 {
			kept = fmt.Sprintf("the last good checkpoint, step %d, is kept in %s", savedStep, out)
		} else if _, serr := os.Stat(out); serr != nil {
			kept = "nothing was saved"
		}
		return fmt.Errorf("%w; %s", err, kept)
	case errors.Is(err, context.Canceled) && savedStep == step:
		return exitError{fmt.Errorf("interrupted at step %d; checkpoint saved to %s (continue with --resume %s)", step, out, out), 130}
	case errors.Is(err, context.Canceled):
		return exitError{fmt.Errorf("interrupted at step %d (no checkpoint saved): %w", step, err), 130}
	}
	return err
}

// trainRun does the work of `tformer train`: every check that can fail
// (flags, the output path, the lock, memory, the prompt) before the first
// step, then the run, then the summary and a sample.
func trainRun(ctx context.Context, opts *trainOptions, stdout, stderr io.Writer) error {
	if err := opts.checkFlags(); err != nil {
		return err
	}
	out := opts.outPath()
	lock, err := opts.claimOut(out, stderr)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	var tr *train.Trainer
	if opts.Resume != "" {
		tr, err = opts.setupResume(stderr)
	} else {
		tr, err = opts.setupFresh(stderr)
	}
	if err != nil {
		return err
	}
	encoder := tr.Model.Config.IsEncoder()
	tok, err := tokenizer.New(tr.Opts.Tokenizer)
	if err != nil {
		return err
	}
	promptIDs, err := opts.promptIDs(tok, tr.Model.Config)
	if err != nil {
		return err
	}
	var metrics *metricsWriter
	if opts.Metrics != "" {
		if metrics, err = newMetricsWriter(opts.Metrics, opts.Resume != ""); err != nil {
			return err
		}
		defer metrics.Close()
	}
	describeModel(stderr, tr.Model.Config)
	fmt.Fprintf(stderr, "training: %d steps of %d×%d tokens, lr %g (warmup %d, cosine to %g), weight decay %g, clip %g, seed %d\n",
		tr.Opts.Steps, tr.Opts.Batch, tr.Opts.Seq, tr.Opts.LR, tr.Opts.Warmup, tr.Opts.MinLR, tr.Opts.WeightDecay, tr.Opts.GradClip, tr.Opts.Seed)
	if encoder {
		k := model.MaskedPerSeq(tr.Opts.Seq)
		fmt.Fprintf(stderr, "masking %d of each window's %d tokens (%d per step): 80%% [MASK], 10%% random, 10%% kept\n", k, tr.Opts.Seq, k*tr.Opts.Batch)
	}
	tr.Model.Flops = &kernels.Counter{}

	startStep := tr.Step
	var firstVal, lastVal float64 = -1, -1
	var firstAcc, lastAcc float64
	haveAcc := false
	bar := newProgress(stderr, tr.Opts.Steps, tr.Step)
	onEval := func(step int, v float64) {
		if firstVal < 0 {
			firstVal = v
		}
		lastVal = v
		if !encoder {
			bar.println("step %d: validation loss %.4f (%.3f bits/token)", step, v, v/math.Ln2)
		}
		metrics.eval(step, v)
	}
	onEvalMLM := func(step int, r train.MLMEvalResult) {
		if !haveAcc {
			firstAcc, haveAcc = r.Accuracy, true
		}
		lastAcc = r.Accuracy
		bar.println("step %d: validation masked-LM loss %.4f, accuracy %.2f%% (%d masked tokens)", step, r.Loss, 100*r.Accuracy, r.Masked)
	}
	if tr.Step > 0 {
		// A resumed run measures where it starts.
		if encoder {
			r, err := tr.ValidateMLM()
			if err != nil {
				return err
			}
			onEval(tr.Step, r.Loss)
			onEvalMLM(tr.Step, r)
		} else {
			v, err := tr.Validate()
			if err != nil {
				return err
			}
			onEval(tr.Step, v)
		}
	}
	savedStep := -1
	hooks := train.Hooks{
		OnStep: func(s train.StepInfo) {
			bar.step(s.Step, s.Loss, s.Tokens, s.Flops)
			metrics.step(s)
		},
		OnEval:    onEval,
		OnEvalMLM: onEvalMLM,
		OnSave: func(step int, path string) {
			savedStep = step
			bar.println("step %d: checkpoint saved to %s", step, path)
		},
	}
	start := time.Now()
	err = tr.Run(ctx, out, opts.CkptEvery, hooks)
	bar.done()
	if merr := metrics.Close(); err == nil && merr != nil {
		err = merr
	}
	if err != nil {
		return runError(err, out, tr.Step, savedStep)
	}
	el := time.Since(start)
	ran := tr.Step - startStep
	steps := fmt.Sprintf("trained %d steps", ran)
	if startStep > 0 {
		steps = fmt.Sprintf("trained %d steps (%d -> %d)", ran, startStep, tr.Step)
	}
	h, top := unigram(tr.Data.Train, tr.Model.Config.Vocab)
	if encoder {
		fmt.Fprintf(stdout, "%s in %s: validation masked-LM loss %.4f -> %.4f, accuracy %.2f%% -> %.2f%%; saved %s\n",
			steps, fmtDur(el), firstVal, lastVal, 100*firstAcc, 100*lastAcc, out)
		if ran >= plateauSteps && (lastAcc <= top+0.005 || lastVal >= 0.98*h) {
			fmt.Fprintf(stderr, "warning: the encoder sits on the unigram plateau: accuracy %.2f%% vs %.2f%% for always predicting the most frequent token, loss %.4f vs the unigram entropy %.4f; it has not learned from context (try a lower --lr, a longer --warmup or more --steps)\n",
				100*lastAcc, 100*top, lastVal, h)
		}
		return nil // an encoder does not generate text
	}
	fmt.Fprintf(stdout, "%s in %s: validation loss %.4f -> %.4f; saved %s\n", steps, fmtDur(el), firstVal, lastVal, out)
	if ran >= plateauSteps && lastVal >= 0.98*h {
		fmt.Fprintf(stderr, "warning: the final loss %.4f is no better than the unigram entropy %.4f of the training tokens: the model predicts token frequencies, not context (try a lower --lr, a longer --warmup or more --steps)\n", lastVal, h)
	}
	if opts.Sample > 0 {
		fmt.Fprintf(stdout, "sample (temperature 0.8, top-k 40):\n%s", opts.Prompt)
		tr.Model.Flops = nil
		err = generate.Generate(tr.Model, promptIDs, generate.Options{Tokens: opts.Sample, Temperature: 0.8, TopK: 40, Seed: tr.Opts.Seed},
			func(t int32) error { _, err := stdout.Write(tok.Decode([]int32{t})); return err })
		fmt.Fprintln(stdout)
		if err != nil {
			return fmt.Errorf("sample: %w", err)
		}
	}
	return nil
}

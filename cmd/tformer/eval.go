package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/spf13/cobra"

	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/modelio"
	"github.com/tformer/tformer/train"
)

// checkFiniteResult reports a non-finite loss as an error: the model is
// broken (diverged weights), and NaN is no score.
func checkFiniteResult(modelPath, data string, loss float64) error {
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return fmt.Errorf("the loss of %s on %s is %g: the model's weights are broken (diverged?)", modelPath, data, loss)
	}
	return nil
}

// printJSON writes v as one line of JSON, reporting an encoding error.
func printJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode the result as JSON: %w", err)
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

// evalOptions are the flags of `tformer eval`.
type evalOptions struct {
	Model, Data string
	Split       string // "val", "all", or "" (val for the built-in corpus, all for --data)
	Seq, Stride int
	Batch       int
	JSON        bool
	MaskSeed    uint64
	Threads     int
	SpecialText bool             // special tokens' text (<|endoftext|>) as text, not their ids
	Tokenizer   string           // Hugging Face masked LMs: tokenizer.json or its directory ("": the model's)
	DType       string           // --dtype: f32, bf16 or int8
	S2S         seq2seqEvalFlags // encoder-decoders (seq2seq.go)
}

// newEvalCmd returns `tformer eval`; runF, when not nil, replaces evalRun
// (tests use it to check flag parsing).
func newEvalCmd(runF func(*evalOptions) error) *cobra.Command {
	o := &evalOptions{Batch: 8, MaskSeed: train.EvalMaskSeed}
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Loss, perplexity and bits per byte of a model on text (or an encoder's masked-LM loss and accuracy)",
		Long: `Evaluate a model on text. Without --data it scores the built-in corpus's
held-out split: its last 10%, the validation split ` + "`tformer train`" + ` held out from
the model (--split all scores the whole corpus, most of which the model trained on).
A --data file is scored whole unless --split val asks for its last 10% (what train
held out when it trained on that file).

The text is cut into consecutive non-overlapping windows of --seq tokens (the last
partial window is dropped), as training's validation does. --stride S slides the
windows by S tokens instead and each window scores only the tokens the previous one
did not (strided evaluation, as in the Hugging Face perplexity guide): every token
is then predicted from at least seq-S tokens of context, and a final window ending
at the last token scores what is left. A smaller stride gives a lower, fairer loss
at seq/S times the work.

Reported: the mean next-token cross-entropy in nats per token with bits per token
beside it, the perplexity, and bits per byte of the scored text (for a byte model
the same as bits per token; across tokenizers, the comparable number). Progress goes
to stderr for long runs.

A Hugging Face BERT or ALBERT directory (BertForMaskedLM, AlbertForMaskedLM) is
scored with its own tokenizer (tokenizer.json, spiece.model or vocab.txt in the directory, or
--tokenizer): each window is [CLS], seq-2 tokens of the text and [SEP], and only
the text tokens are masked, with the tokenizer's [MASK] (BERT's id 103, ALBERT's 4).

For an encoder checkpoint the masked-LM loss (nats per masked token) and the
masked-token accuracy are reported instead: each window is masked as in training
(15% of positions; 80% [MASK], 10% random, 10% kept) from a stream seeded by
(--mask-seed, window number), so the result is reproducible and does not depend
on --batch.`,
		Example: `  tformer eval --model tformer-model.safetensors
  tformer eval --model tformer-model.safetensors --stride 32
  tformer eval --model tformer-model.safetensors --data notes.txt --json
  tformer eval --model testdata/golden/hf/albert_tiny --tokenizer testdata/fillmask/tokenizer.json --data notes.txt --seq 12
  tformer eval --model tformer-model.safetensors --dtype bf16`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(o)
			}
			return evalRun(o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.Model, "model", "", "model to evaluate: a tformer checkpoint, a Hugging Face GPT-2, BERT, ALBERT or Llama-family directory, or an llm.c .bin (required)")
	fs.StringVar(&o.Data, "data", "", "text or llm.c token file to score (default: the built-in corpus's held-out split)")
	fs.StringVar(&o.Split, "split", "", "val: the last 10% (train's validation split); all: the whole text (default: val for the built-in corpus, all for --data)")
	fs.IntVar(&o.Seq, "seq", 0, "window length in tokens (0: the model's context)")
	fs.IntVar(&o.Stride, "stride", 0, "slide windows by this many tokens, each scoring only its new tokens (0: non-overlapping windows)")
	fs.IntVar(&o.Batch, "batch", o.Batch, "windows per forward pass")
	fs.BoolVar(&o.JSON, "json", false, `print {"loss", "bits", "perplexity", "tokens", "windows", "bytes", "bits_per_byte", "split"} (encoders: {"loss", "accuracy", "masked", "tokens", "split"}, and "mask_id" for a Hugging Face directory)`)
	fs.Uint64Var(&o.MaskSeed, "mask-seed", o.MaskSeed, "encoders: seed of the masks (training's validation uses the default)")
	fs.BoolVar(&o.SpecialText, "special-as-text", false, "encode special tokens' text (GPT-2's <|endoftext|>) as ordinary text instead of their one id")
	fs.IntVar(&o.Threads, "threads", 0, "worker threads for the kernels (0: all cores)")
	fs.StringVar(&o.Tokenizer, "tokenizer", "", "Hugging Face BERT/ALBERT directories: tokenizer.json, or a directory with it, spiece.model or vocab.txt (default: the one in --model)")
	addSeq2SeqEvalFlags(cmd, &o.S2S)
	addDTypeFlag(fs, &o.DType)
	_ = cmd.MarkFlagRequired("model")
	return cmd
}

// evalJSON is eval's --json output for a decoder.
type evalJSON struct {
	train.SlidingResult
	Bytes       int     `json:"bytes"`
	BitsPerByte float64 `json:"bits_per_byte"`
	Split       string  `json:"split"`
}

// evalRun evaluates o.Model as o says, printing the result to stdout and
// notes and progress to stderr.
func evalRun(o *evalOptions, stdout, stderr io.Writer) error {
	if err := applyThreads(o.Threads); err != nil {
		return err
	}
	if o.Seq < 0 || o.Batch <= 0 || o.Stride < 0 {
		return fmt.Errorf("--seq and --stride must be >= 0 and --batch positive")
	}
	split := o.Split
	switch split {
	case "":
		split = "all"
		if o.Data == "" {
			split = "val"
		}
	case "val", "all":
	default:
		return fmt.Errorf("--split %q: want val or all", o.Split)
	}
	dt, err := parseDTypeFlag(o.DType)
	if err != nil {
		return err
	}
	if modelio.IsMaskedLM(o.Model) {
		if dt != model.F32 {
			return fmt.Errorf("--dtype %s: masked language models are evaluated in f32 only", o.DType)
		}
		return evalMaskedLM(o, split, stdout, stderr)
	}
	if o.Tokenizer != "" {
		return fmt.Errorf("--tokenizer applies to Hugging Face BERT and ALBERT directories; %s carries or implies its tokenizer", o.Model)
	}
	m, tok, err := loadModelAs(o.Model, dt, stderr)
	if err != nil {
		return err
	}
	if m.Config.IsEncDec() {
		return evalSeq2Seq(o, m, tok, split, stdout, stderr)
	}
	if o.S2S.given() > 0 {
		return fmt.Errorf("--task and --denoise apply to encoder-decoders; %s is a %s", o.Model, archName(m.Config))
	}
	seq := o.Seq
	if seq == 0 {
		seq = m.Config.MaxSeq
	}
	if o.Batch > train.MaxBatchTokens/seq {
		return fmt.Errorf("--batch %d × --seq %d is more than %d tokens per forward pass", o.Batch, seq, train.MaxBatchTokens)
	}
	if o.Stride > seq {
		return fmt.Errorf("--stride %d is longer than the window (--seq %d)", o.Stride, seq)
	}
	ids, name, err := loadTokensAs(o.Data, tok, o.SpecialText)
	if err != nil {
		return err
	}
	if split == "val" {
		ids = train.HeldOut(ids)
		name += fmt.Sprintf(", held-out split (last %d%%)", int(100*train.ValFraction))
	}
	if m.Config.IsEncoder() {
		if o.Stride != 0 {
			return fmt.Errorf("--stride applies to decoders; an encoder's windows are scored whole")
		}
		pr := newEvalProgress(stderr)
		r, err := train.EvaluateMLMWith(m, ids, train.MLMEvalOptions{Seq: seq, Batch: o.Batch, Seed: o.MaskSeed, Progress: pr.update})
		pr.done()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := checkFiniteResult(o.Model, name, r.Loss); err != nil {
			return err
		}
		if o.JSON {
			return printJSON(stdout, struct {
				train.MLMEvalResult
				Split string `json:"split"`
			}{r, split})
		}
		fmt.Fprintf(stdout, "%s: masked-LM loss %.4f nats/masked token (%.3f bits), accuracy %.2f%% over %s masked of %s tokens (%s windows of %d)\n",
			name, r.Loss, r.Loss/math.Ln2, 100*r.Accuracy, commas(int64(r.Masked)), commas(int64(r.Tokens)), commas(int64(r.Tokens/seq)), seq)
		return nil
	}
	pr := newEvalProgress(stderr)
	r, err := train.EvaluateSliding(m, ids, train.SlidingOptions{Seq: seq, Batch: o.Batch, Stride: o.Stride, Progress: pr.update})
	pr.done()
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := checkFiniteResult(o.Model, name, r.Loss); err != nil {
		return err
	}
	nb := len(tok.Decode(ids[1 : 1+r.Tokens]))
	bpb := r.Sum / math.Ln2 / float64(nb)
	if o.JSON {
		return printJSON(stdout, evalJSON{r, nb, bpb, split})
	}
	how := fmt.Sprintf("%s windows of %d", commas(int64(r.Windows)), seq)
	if o.Stride > 0 {
		how += fmt.Sprintf(", stride %d", o.Stride)
	}
	fmt.Fprintf(stdout, "%s: loss %.4f nats/token (%.3f bits/token), perplexity %.3f, %.3f bits/byte over %s tokens (%s)\n",
		name, r.Loss, r.Bits, r.Perplexity, bpb, commas(int64(r.Tokens)), how)
	return nil
}

// evalProgress shows how far a long evaluation is on stderr: nothing for
// the first two seconds, then a line redrawn in place on a terminal, or a
// plain line every ten seconds into a file or pipe.
type evalProgress struct {
	p           *progress
	start, last time.Time
	now         func() time.Time // the clock (tests set it)
}

func newEvalProgress(w io.Writer) *evalProgress {
	return &evalProgress{p: newProgress(w, 1, 0), start: time.Now(), now: time.Now}
}

func (e *evalProgress) update(done, total int) {
	now := e.now()
	el := now.Sub(e.start)
	every := 10 * time.Second
	if e.p.tty {
		every = 250 * time.Millisecond
	}
	if el < 2*time.Second || now.Sub(e.last) < every || done == total {
		return
	}
	e.last = now
	eta := time.Duration(float64(el) / float64(done) * float64(total-done))
	msg := fmt.Sprintf("eval: %s/%s windows | ETA %s", commas(int64(done)), commas(int64(total)), fmtDur(eta))
	if e.p.tty {
		fmt.Fprintf(e.p.w, "\r\033[K%s", msg)
		e.p.drawn = true
		return
	}
	fmt.Fprintln(e.p.w, msg)
}

func (e *evalProgress) done() {
	if e.p.tty && e.p.drawn {
		fmt.Fprint(e.p.w, "\r\033[K")
		e.p.drawn = false
	}
}

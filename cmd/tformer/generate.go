package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/tformer/tformer/generate"
	"github.com/tformer/tformer/tokenizer"
)

// generateOptions are the flags of `tformer generate`.
type generateOptions struct {
	Model       string
	Prompt      string // "-" reads standard input
	PromptFile  string
	SpecialText bool // special tokens' text in the prompt as text
	NoStop      bool // keep generating past the end-of-text token
	Threads     int
	DType       string // --dtype: f32, bf16 or int8
	Gen         generate.Options
	S2S         seq2seqGenFlags // encoder-decoders: --source, --beam (seq2seq.go)
}

// newGenerateCmd returns `tformer generate`; runF, when not nil, replaces
// generateRun.
func newGenerateCmd(runF func(*generateOptions) error) *cobra.Command {
	o := &generateOptions{Gen: generate.Options{Tokens: 200, Temperature: 0.8, TopK: 40, Seed: 1}}
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Generate text from a model, streaming it to stdout",
		Long: `Generate text from a checkpoint with incremental decoding: a key/value cache
keeps each layer's keys and values, so each new token costs one position's work.
Sampling uses --temperature (0: greedy), --top-k and --top-p; --seed makes it
reproducible. Past the model's context, decoding restarts from the last half of it.

The prompt comes from --prompt, from standard input with --prompt -, or from
--prompt-file. The tokenizer's special tokens written in it (GPT-2's <|endoftext|>)
are their one id unless --special-as-text; generation stops when the model emits
the end-of-text token (--no-stop keeps going). A prompt longer than the model's
context is cut from the left, keeping its last tokens, with a warning on stderr.
Tokens per second are printed on stderr at the end.

--dtype bf16 or int8 keeps the weight matrices in that type (bf16 as stored in a BF16
file, int8 with one scale per row, quantised at load) instead of float32: half or a
quarter of the memory, and faster generation, which streams every weight once per
token. A tformer checkpoint or a GPT-2 or Llama-family directory is read straight
into that type, never holding a float32 copy. Activations and sums stay float32; eval --dtype
shows what the rounding costs in loss.`,
		Example: `  tformer generate --model tformer-model.safetensors --prompt "The "
  tformer generate --model tformer-model.safetensors --prompt "12 + 5 =" --temperature 0
  tformer generate --model tformer-model.safetensors --prompt "The " --dtype int8
  echo "Once upon a time" | tformer generate --model tformer-model.safetensors --prompt - --tokens 50`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(o)
			}
			return generateRun(o, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.Model, "model", "", "model to sample from: a tformer checkpoint, a Hugging Face GPT-2 or Llama-family directory or an llm.c .bin (required)")
	fs.StringVar(&o.Prompt, "prompt", "", `text to continue ("-": read it from standard input)`)
	fs.StringVar(&o.PromptFile, "prompt-file", "", "file holding the text to continue")
	fs.BoolVar(&o.SpecialText, "special-as-text", false, "encode special tokens' text in the prompt (GPT-2's <|endoftext|>) as ordinary text")
	fs.BoolVar(&o.NoStop, "no-stop", false, "keep generating after the end-of-text token")
	fs.IntVar(&o.Gen.Tokens, "tokens", o.Gen.Tokens, "tokens to generate (at most)")
	fs.Float64Var(&o.Gen.Temperature, "temperature", o.Gen.Temperature, "sampling temperature (0: greedy)")
	fs.IntVar(&o.Gen.TopK, "top-k", o.Gen.TopK, "sample among the k most likely tokens (0: all)")
	fs.Float64Var(&o.Gen.TopP, "top-p", 0, "nucleus sampling: smallest set of tokens with this total probability (0: off)")
	fs.Uint64Var(&o.Gen.Seed, "seed", o.Gen.Seed, "random seed")
	fs.IntVar(&o.Threads, "threads", 0, "worker threads for the kernels (0: all cores)")
	addSeq2SeqGenerateFlags(cmd, &o.S2S)
	addDTypeFlag(fs, &o.DType)
	_ = cmd.MarkFlagRequired("model")
	return cmd
}

// errStop ends generation at the end-of-text token.
var errStop = errors.New("end of text")

// readPrompt returns the prompt text o names.
func readPrompt(o *generateOptions, stdin io.Reader) (string, error) {
	switch {
	case o.PromptFile != "" && o.Prompt != "":
		return "", errors.New("give --prompt or --prompt-file, not both")
	case o.PromptFile != "":
		b, err := os.ReadFile(o.PromptFile)
		if err != nil {
			return "", fmt.Errorf("--prompt-file: %w", err)
		}
		return string(b), nil
	case o.Prompt == "-":
		b, err := io.ReadAll(stdin)
		if err != nil {
			return "", fmt.Errorf("--prompt -: read standard input: %w", err)
		}
		return string(b), nil
	case o.Prompt == "":
		return "", errors.New("give the text to continue with --prompt TEXT, --prompt - (standard input) or --prompt-file FILE")
	}
	return o.Prompt, nil
}

// generateRun samples from o.Model, streaming the prompt and the text to
// stdout and warnings and the speed to stderr.
func generateRun(o *generateOptions, stdin io.Reader, stdout, stderr io.Writer) error {
	if err := applyThreads(o.Threads); err != nil {
		return err
	}
	if err := o.Gen.Validate(); err != nil {
		return err
	}
	dt, err := parseDTypeFlag(o.DType)
	if err != nil {
		return err
	}
	if o.S2S.Source != "" {
		m, tok, err := loadModelAs(o.Model, dt, stderr)
		if err != nil {
			return err
		}
		return generateSeq2Seq(o, m, tok, stdout, stderr)
	}
	prompt, err := readPrompt(o, stdin)
	if err != nil {
		return err
	}
	if prompt == "" {
		return errors.New("the prompt is empty")
	}
	m, tok, err := loadModelAs(o.Model, dt, stderr)
	if err != nil {
		return err
	}
	if m.Config.IsEncDec() {
		return generateSeq2Seq(o, m, tok, stdout, stderr)
	}
	if err := o.S2S.checkDecoder(o.Model); err != nil {
		return err
	}
	ids := encodeText(tok, []byte(prompt), o.SpecialText)
	if c := m.Config.MaxSeq; len(ids) > c {
		fmt.Fprintf(stderr, "warning: the prompt is %s tokens, longer than the model's context of %s; keeping its last %s\n", commas(int64(len(ids))), commas(int64(c)), commas(int64(c)))
		ids = ids[len(ids)-c:]
		prompt = string(tok.Decode(ids))
	}
	eos, hasEOS := tokenizer.EndOfText(tok)
	hasEOS = hasEOS && !o.NoStop
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	if _, err := w.WriteString(prompt); err != nil {
		return err
	}
	// A tokenizer whose ids do not decode alone (SentencePiece's spaces,
	// byte fallback) is decoded with the ids before each one.
	var stream *tokenizer.StreamDecoder
	if !tokenizer.PerToken(tok) {
		stream = tokenizer.NewStreamDecoder(tok, ids)
	}
	start := time.Now()
	n := 0
	var first time.Duration // the prompt's prefill and the first token's sampling
	err = generate.Generate(m, ids, o.Gen, func(t int32) error {
		if n == 0 && first == 0 {
			first = time.Since(start)
		}
		if hasEOS && t == eos {
			return errStop
		}
		n++
		var text []byte
		if stream != nil {
			text = stream.Next(t)
		} else {
			text = tok.Decode([]int32{t})
		}
		if _, err := w.Write(text); err != nil {
			return err
		}
		return w.Flush()
	})
	if stream != nil && (err == nil || errors.Is(err, errStop)) {
		w.Write(stream.Flush())
	}
	fmt.Fprintln(w)
	w.Flush()
	el := time.Since(start)
	stopped := ""
	if errors.Is(err, errStop) {
		err, stopped = nil, " (stopped at end of text)"
	}
	if err == nil {
		ttft := ""
		if first > 0 {
			ttft = fmt.Sprintf("; the first %.3f s after the %s-token prompt", first.Seconds(), commas(int64(len(ids))))
		}
		fmt.Fprintf(stderr, "generated %s tokens in %.2f s: %.1f tokens/s%s%s\n", commas(int64(n)), el.Seconds(), float64(n)/el.Seconds(), stopped, ttft)
	}
	return err
}

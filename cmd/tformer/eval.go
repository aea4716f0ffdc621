package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"

	"github.com/spf13/cobra"

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

func newEvalCmd() *cobra.Command {
	var (
		modelPath, data string
		seq, batch      int
		asJSON          bool
		maskSeed        uint64
	)
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Mean next-token loss and perplexity (or an encoder's masked-LM loss and accuracy) over a whole file",
		Long: `Evaluate a checkpoint on a text file: the file is cut into consecutive
non-overlapping windows of --seq tokens (the last partial window is dropped) and the
mean next-token cross-entropy (nats) and perplexity over every window are reported.

For an encoder checkpoint the masked-LM loss (nats per masked token) and the
masked-token accuracy are reported instead: each window is masked as in training
(15% of positions; 80% [MASK], 10% random, 10% kept) from a stream seeded by
(--mask-seed, window number), so the result is reproducible and does not depend
on --batch.`,
		Example: `  tformer eval --model tformer-model.safetensors --data notes.txt
  tformer eval --model tformer-model.safetensors --data notes.txt --json`,
		Args: cobra.NoArgs,
	}
	fs := cmd.Flags()
	fs.StringVar(&modelPath, "model", "", "model to evaluate: a tformer checkpoint, a Hugging Face GPT-2 directory or an llm.c .bin (required)")
	fs.StringVar(&data, "data", "", "text file to score (default: the built-in corpus)")
	fs.IntVar(&seq, "seq", 0, "window length in tokens (0: the model's context)")
	fs.IntVar(&batch, "batch", 8, "windows per forward pass")
	fs.BoolVar(&asJSON, "json", false, `print {"loss": .., "perplexity": .., "tokens": ..} (encoders: {"loss", "accuracy", "masked", "tokens"})`)
	fs.Uint64Var(&maskSeed, "mask-seed", train.EvalMaskSeed, "encoders: seed of the masks (training's validation uses the default)")
	_ = cmd.MarkFlagRequired("model")
	applyThreads := addThreadsFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := applyThreads(); err != nil {
			return err
		}
		m, tok, err := loadModel(modelPath, cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		if seq == 0 {
			seq = m.Config.MaxSeq
		}
		if seq < 0 || batch <= 0 {
			return fmt.Errorf("--seq must be >= 0 and --batch positive")
		}
		if batch > train.MaxBatchTokens/seq {
			return fmt.Errorf("--batch %d × --seq %d is more than %d tokens per forward pass", batch, seq, train.MaxBatchTokens)
		}
		ids, name, err := loadTokens(data, tok)
		if err != nil {
			return err
		}
		if m.Config.IsEncoder() {
			r, err := train.EvaluateMLM(m, ids, seq, batch, 0, maskSeed)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if err := checkFiniteResult(modelPath, name, r.Loss); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), r)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: masked-LM loss %.4f nats/masked token, accuracy %.2f%% over %d masked of %d tokens (%d windows of %d)\n",
				name, r.Loss, 100*r.Accuracy, r.Masked, r.Tokens, r.Tokens/seq, seq)
			return nil
		}
		r, err := train.Evaluate(m, ids, seq, batch, 0)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := checkFiniteResult(modelPath, name, r.Loss); err != nil {
			return err
		}
		if asJSON {
			return printJSON(cmd.OutOrStdout(), r)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s: loss %.4f nats/token, perplexity %.3f over %d tokens (%d windows of %d)\n",
			name, r.Loss, r.Perplexity, r.Tokens, r.Tokens/seq, seq)
		return nil
	}
	return cmd
}

package main

import (
	"bufio"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tformer/tformer/generate"
)

func newGenerateCmd() *cobra.Command {
	var (
		modelPath, prompt string
		o                 = generate.Options{Tokens: 200, Temperature: 0.8, TopK: 40, Seed: 1}
	)
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Generate text from a model, streaming it to stdout",
		Long: `Generate text from a checkpoint with incremental decoding: a key/value cache
keeps each layer's keys and values, so each new token costs one position's work.
Sampling uses --temperature (0: greedy), --top-k and --top-p; --seed makes it
reproducible. Past the model's context, decoding restarts from the last half of it.`,
		Example: `  tformer generate --model tformer-model.safetensors --prompt "The "
  tformer generate --model tformer-model.safetensors --prompt "12 + 5 =" --temperature 0`,
		Args: cobra.NoArgs,
	}
	fs := cmd.Flags()
	fs.StringVar(&modelPath, "model", "", "model to sample from: a tformer checkpoint, a Hugging Face GPT-2 directory or an llm.c .bin (required)")
	fs.StringVar(&prompt, "prompt", "", "text to continue (required)")
	fs.IntVar(&o.Tokens, "tokens", o.Tokens, "tokens to generate")
	fs.Float64Var(&o.Temperature, "temperature", o.Temperature, "sampling temperature (0: greedy)")
	fs.IntVar(&o.TopK, "top-k", o.TopK, "sample among the k most likely tokens (0: all)")
	fs.Float64Var(&o.TopP, "top-p", 0, "nucleus sampling: smallest set of tokens with this total probability (0: off)")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "random seed")
	_ = cmd.MarkFlagRequired("model")
	_ = cmd.MarkFlagRequired("prompt")
	applyThreads := addThreadsFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := applyThreads(); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return err
		}
		m, tok, err := loadModel(modelPath, cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		w := bufio.NewWriter(cmd.OutOrStdout())
		defer w.Flush()
		ids := tok.Encode([]byte(prompt))
		if len(ids) > m.Config.MaxSeq {
			return fmt.Errorf("the prompt is %d tokens, longer than the model's context of %d", len(ids), m.Config.MaxSeq)
		}
		if _, err := w.WriteString(prompt); err != nil {
			return err
		}
		err = generate.Generate(m, ids, o, func(t int32) error {
			if _, err := w.Write(tok.Decode([]int32{t})); err != nil {
				return err
			}
			return w.Flush()
		})
		fmt.Fprintln(w)
		return err
	}
	return cmd
}

package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tformer/tformer/llmc"
	"github.com/tformer/tformer/tokenizer"
)

func newTokenizeCmd() *cobra.Command {
	var (
		tokName string
		force   bool
	)
	cmd := &cobra.Command{
		Use:   "tokenize IN.txt OUT.bin",
		Short: "Tokenize a text file once into an llm.c token file that train and eval read directly",
		Long: `Tokenize a text file and write the ids in llm.c's token file format: a header of
256 int32s (magic 20240520, version 1, the number of tokens) followed by the tokens
as uint16. train --data and eval --data recognise such files by their magic number
and use the tokens as they are, so a large corpus is tokenized only once; pass
them the same --tokenizer. The tokenizer's vocabulary must fit in uint16
(at most 65536 tokens); GPT-2's 50257 and the byte tokenizer's 256 do.`,
		Example: `  tformer tokenize --tokenizer gpt2 corpus.txt corpus.bin
  tformer train --tokenizer gpt2 --data corpus.bin`,
		Args: cobra.ExactArgs(2),
	}
	cmd.Flags().StringVar(&tokName, "tokenizer", "gpt2", "tokenizer: byte or gpt2")
	cmd.Flags().BoolVar(&force, "force", false, "write OUT even when it is the input text")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		in, out := args[0], args[1]
		if sameFile(in, out) && !force {
			return fmt.Errorf("OUT %s is the input text; refusing to overwrite it (it was kept): choose another OUT, or pass --force", out)
		}
		tok, err := tokenizer.New(tokName)
		if err != nil {
			return err
		}
		if v := tok.VocabSize(); v > llmc.MaxTokenVocab {
			return fmt.Errorf("the %s tokenizer has %d tokens, more than an llm.c token file's uint16 ids can hold (%d)", tokName, v, llmc.MaxTokenVocab)
		}
		text, err := readData(in)
		if err != nil {
			return fmt.Errorf("read text: %w", err)
		}
		if llmc.IsTokenFile(text) {
			return fmt.Errorf("%s is already an llm.c token file", in)
		}
		ids := tok.Encode(text)
		if err := llmc.WriteTokens(out, ids); err != nil {
			return err
		}
		per := 0.0
		if len(ids) > 0 {
			per = float64(len(text)) / float64(len(ids))
		}
		fmt.Fprintf(cmd.OutOrStdout(), "wrote %d %s tokens (%d bytes of text, %.2f bytes per token) to %s\n", len(ids), tokName, len(text), per, out)
		return nil
	}
	return cmd
}

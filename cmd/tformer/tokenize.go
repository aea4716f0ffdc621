package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/tformer/tformer/llmc"
	"github.com/tformer/tformer/tokenizer"
)

// tokenizerFlagHelp is the help of every command's --tokenizer flag.
const tokenizerFlagHelp = "tokenizer: byte (256 tokens, one per byte), gpt2 (GPT-2's 50257-token BPE), or the path of a Hugging Face tokenizer.json or of a model directory holding one"

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
as uint16, or, when an id does not fit in 16 bits (Llama 3's and Qwen2's
vocabularies), llm.c's uint32 layout (magic 20240801, version 7).

The header also records the tokenizer (its name, vocabulary size and a
fingerprint of its vocabulary) in slots llm.c leaves zero. train --data and eval
--data recognise token files by their magic number and use the tokens as they
are: train takes the file's tokenizer unless --tokenizer is given, and both
refuse a file made with a tokenizer other than the one the model uses.`,
		Example: `  tformer tokenize --tokenizer gpt2 corpus.txt corpus.bin
  tformer train --data corpus.bin --steps 10`,
		Args: cobra.ExactArgs(2),
	}
	cmd.Flags().StringVar(&tokName, "tokenizer", "byte", tokenizerFlagHelp)
	cmd.Flags().BoolVar(&force, "force", false, "write OUT even when it is the input text")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		in, out := args[0], args[1]
		if sameFile(in, out) && !force {
			return fmt.Errorf("OUT %s is the input text; refusing to overwrite it (it was kept): choose another OUT, or pass --force", out)
		}
		tok, err := tokenizer.New(tokName)
		if err != nil {
			return fmt.Errorf("--tokenizer: %w", err)
		}
		text, err := readData(in)
		if err != nil {
			return fmt.Errorf("read text: %w", err)
		}
		if llmc.IsTokenFile(text) {
			return fmt.Errorf("%s is already an llm.c token file", in)
		}
		ids := tok.Encode(text)
		wide, err := llmc.WriteTokenFile(out, ids, tokenFileInfo(tok))
		if err != nil {
			return err
		}
		per := 0.0
		if len(ids) > 0 {
			per = float64(len(text)) / float64(len(ids))
		}
		layout := "uint16"
		if wide {
			layout = "uint32"
		}
		fmt.Fprintf(cmd.OutOrStdout(), "wrote %d %s tokens as %s (%d bytes of text, %.2f bytes per token) to %s\n", len(ids), tok.Name(), layout, len(text), per, out)
		return nil
	}
	return cmd
}

// tokenFileInfo is the tokenizer record a token file made with tok carries.
func tokenFileInfo(tok tokenizer.Tokenizer) llmc.TokenFileInfo {
	return llmc.TokenFileInfo{Tokenizer: tok.Name(), Vocab: tok.VocabSize(), Fingerprint: tokenizer.Fingerprint(tok)}
}

// dataTokenizer returns the tokenizer a command should use for data: the
// --tokenizer value if it was given or data is not a token file naming its
// tokenizer, else the one the token file names.
func dataTokenizer(data, flagValue string, given bool) string {
	if given || data == "" {
		return flagValue
	}
	f, err := os.Open(data)
	if err != nil {
		return flagValue
	}
	defer f.Close()
	head := make([]byte, llmc.HeaderBytes)
	if _, err := io.ReadFull(f, head); err != nil || !llmc.IsTokenFile(head) {
		return flagValue
	}
	// Parse the header alone: a token file with no tokens.
	hb := append([]byte(nil), head...)
	clear(hb[8:12])
	if _, info, err := llmc.ParseTokenFile(hb); err == nil && info.Tokenizer != "" {
		return info.Tokenizer
	}
	return flagValue
}

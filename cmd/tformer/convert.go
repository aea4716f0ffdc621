package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tformer/tformer/checkpoint"
	"github.com/tformer/tformer/hf"
	"github.com/tformer/tformer/hfbart"
	"github.com/tformer/tformer/hfgpt2"
	"github.com/tformer/tformer/llmc"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/modelio"
	"github.com/tformer/tformer/tokenizer"
)

// Model file formats convert reads and writes.
const (
	fmtTformer = modelio.Tformer // tformer checkpoint: one .safetensors file
	fmtHF      = modelio.HF      // Hugging Face directory (GPT-2 or Llama family)
	fmtLLMC    = modelio.LLMC    // llm.c .bin checkpoint
)

// checkConvertOverwrite refuses to replace an existing OUT — the input
// itself (converting a training checkpoint onto itself would drop its
// optimizer state) or another model — unless force.
func checkConvertOverwrite(in, out string, force bool) error {
	st, err := os.Stat(out)
	if err != nil || force {
		return nil
	}
	if st.IsDir() {
		if ents, err := os.ReadDir(out); err == nil && len(ents) == 0 {
			return nil // an empty directory holds nothing to lose
		}
	}
	if sameFile(in, out) {
		return fmt.Errorf("OUT %s is the input; refusing to convert it onto itself (it was kept): write elsewhere, or pass --force", out)
	}
	return fmt.Errorf("OUT %s already exists (%s); refusing to replace it (it was kept): choose another OUT, or pass --force", out, describeFile(out))
}

// outputFormat tells the format to write from --to or the path: a .bin
// file is llm.c, a .safetensors file a tformer checkpoint, and a directory
// (existing, or a path without an extension) Hugging Face.
func outputFormat(path, to string) (string, error) {
	switch to {
	case fmtTformer, fmtHF, fmtLLMC:
		return to, nil
	case "":
	default:
		return "", fmt.Errorf("--to %q: want tformer, hf or llmc", to)
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmtHF, nil
	}
	switch ext := strings.ToLower(filepath.Ext(path)); {
	case ext == ".bin":
		return fmtLLMC, nil
	case ext == ".safetensors":
		return fmtTformer, nil
	case ext == "" || strings.HasSuffix(path, string(filepath.Separator)):
		return fmtHF, nil
	}
	return "", fmt.Errorf("cannot tell the output format from %q: use a .safetensors (tformer), .bin (llm.c) or directory (Hugging Face) path, or --to", path)
}

func newConvertCmd() *cobra.Command {
	var (
		to, tokName  string
		expandShared bool
		force        bool
	)
	cmd := &cobra.Command{
		Use:   "convert IN OUT",
		Short: "Convert a model between tformer, Hugging Face (GPT-2, Llama family) and llm.c formats",
		Long: `Convert a model between three formats, keeping every weight bit for bit and the
tie between the token embedding and the output layer:

  tformer  a tformer checkpoint: one .safetensors file (what train writes)
  hf       a Hugging Face directory: config.json + model.safetensors (F32, F16 or
           BF16 when read; F32 when written). GPT-2 (GPT2LMHeadModel), with
           vocab.json and merges.txt when the tokenizer is GPT-2's BPE; or the
           Llama family (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM,
           GemmaForCausalLM; sharded model.safetensors.index.json read too),
           with the tokenizer.json it was read with. A model trained with
           --arch llama|qwen2|gemma is written in its family's layout (Mistral's
           as llama), a GPT-2-style one as GPT-2.
  llmc     an llm.c checkpoint (.bin): float32 (version 3) read and written,
           bfloat16 (version 5) read

The input format is found from the path and the file's contents. The output
format comes from --to, or else from OUT: a .bin file is llm.c, a .safetensors
file tformer, a directory (or a path without an extension) Hugging Face.

Hugging Face's layouts and llm.c have no cross-layer sharing, so a model trained
with --share is refused unless --expand-shared asks for the equivalent unshared
model (each shared block copied into every layer that uses it: the same outputs,
more stored parameters). llm.c models are always tied and have a 4·d FFN.`,
		Example: `  tformer convert ./gpt2 gpt2.safetensors            # Hugging Face directory -> tformer
  tformer convert ./SmolLM2-135M smollm2.safetensors  # a Llama-family directory -> tformer
  tformer convert gpt2_124M.bin ./gpt2-hf             # llm.c -> Hugging Face
  tformer convert tformer-model.safetensors model.bin # tformer -> llm.c
  tformer convert tformer-model.safetensors out --to hf --expand-shared`,
		Args: cobra.ExactArgs(2),
	}
	fs := cmd.Flags()
	fs.StringVar(&to, "to", "", "output format: tformer, hf or llmc (default: from the output path)")
	fs.BoolVar(&expandShared, "expand-shared", false, "write a model with cross-layer sharing as an unshared one (hf, llmc)")
	fs.StringVar(&tokName, "tokenizer", "", "tokenizer to record with the output when the input does not say (byte, gpt2, or a tokenizer.json or a directory holding one)")
	fs.BoolVar(&force, "force", false, "replace an existing OUT (even the input itself)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		in, out := args[0], args[1]
		outFmt, err := outputFormat(out, to)
		if err != nil {
			return err
		}
		if err := checkConvertOverwrite(in, out, force); err != nil {
			return err
		}
		am, err := modelio.Open(in)
		if err != nil {
			return err
		}
		if tokName != "" {
			t, err := tokenizer.New(tokName)
			if err != nil {
				return err
			}
			am.Tokenizer, am.TokenizerName = t, tokName
		}
		if am.Tokenizer != nil && am.Tokenizer.VocabSize() > am.Model.Config.Vocab {
			return fmt.Errorf("the %s tokenizer has %d tokens but the model only %d", am.TokenizerName, am.Tokenizer.VocabSize(), am.Model.Config.Vocab)
		}
		m := am.Model
		// A Llama-family model is written in its family's Hugging Face
		// layout; every other decoder as GPT-2.
		llamaOut := false
		if outFmt == fmtHF && !m.Config.IsEncDec() {
			_, err := hf.ModelType(m.Config)
			llamaOut = err == nil
			if c := m.Config.Canonical(); err != nil && (c.RMS() || c.Rotary() || c.Gated()) {
				// Not GPT-2's shape either: say what keeps it from the
				// Llama family's layouts, not what GPT-2 lacks.
				return fmt.Errorf("no Hugging Face layout holds this model: %w", err)
			}
		}
		if (m.Config.Share != model.ShareNone || m.Config.ShareStacks) && outFmt != fmtTformer && !expandShared {
			c := m.Config
			u := c
			u.Share, u.Groups, u.ShareStacks = model.ShareNone, 1, false
			what := map[string]string{fmtHF: "Hugging Face's GPT-2", fmtLLMC: "llm.c"}[outFmt]
			if llamaOut {
				what = "Hugging Face's Llama family"
			}
			if c.IsEncDec() {
				what = "Hugging Face's BART"
			}
			return fmt.Errorf("%s cannot express cross-layer sharing (this model shares %s in %d group(s)); pass --expand-shared to write one copy of each shared block per layer (same outputs, %s instead of %s stored parameters)",
				what, c.Share, c.Groups, commas(u.UniqueParams()), commas(c.UniqueParams()))
		}
		var notes []string
		switch outFmt {
		case fmtTformer:
			switch {
			case am.TokenizerName == "":
				return fmt.Errorf("cannot tell which tokenizer this model (vocabulary %d) uses; pass --tokenizer byte, gpt2 or the path of a tokenizer.json to record one in the checkpoint", m.Config.Vocab)
			case am.Tokenizer == nil:
				return fmt.Errorf("the model's tokenizer %q cannot be recorded in a tformer checkpoint (which names a built-in tokenizer); pass --tokenizer to choose one", am.TokenizerName)
			case am.TokenizerName == "bpe":
				return errors.New("the model's vocab.json/merges.txt are not GPT-2's and a tformer checkpoint can only name a built-in tokenizer; pass --tokenizer to choose one")
			}
			name := am.TokenizerName
			if _, isJSON := am.Tokenizer.(*tokenizer.HF); isJSON {
				// A tokenizer.json is named by its path: make it one that
				// still works from another directory.
				if abs, err := filepath.Abs(name); err == nil {
					name = abs
				}
				notes = append(notes, fmt.Sprintf("the checkpoint names its tokenizer by the path %s (keep that file where it is)", name))
			}
			err = checkpoint.Save(out, &checkpoint.Checkpoint{Model: m, Tokenizer: name})
		case fmtHF:
			if m.Config.IsEncDec() { // BartForConditionalGeneration
				notes, err = hfbart.Save(out, m, am.Tokenizer, hfbart.Options{ExpandShared: expandShared, IDs: am.Seq2SeqIDs})
				break
			}
			if llamaOut {
				notes, err = hf.Save(out, m, am.Tokenizer, hf.Options{ExpandShared: expandShared})
				break
			}
			notes, err = hfgpt2.Save(out, m, am.Tokenizer, hfgpt2.Options{ExpandShared: expandShared})
		case fmtLLMC:
			err = llmc.WriteCheckpoint(out, m, llmc.Options{ExpandShared: expandShared})
			if err == nil {
				if m.Config.Share != model.ShareNone {
					notes = append(notes, fmt.Sprintf("cross-layer sharing (%s) was expanded into per-layer copies", m.Config.Share))
				}
				if am.TokenizerName != "" {
					notes = append(notes, fmt.Sprintf("llm.c checkpoints do not store a tokenizer; this model uses %s", am.TokenizerName))
				}
			}
		}
		if err != nil {
			return err
		}
		stderr := cmd.ErrOrStderr()
		for _, n := range append(am.Notes, notes...) {
			fmt.Fprintf(stderr, "note: %s\n", n)
		}
		src := am.Format
		if am.Detail != "" {
			src += ", " + am.Detail
		}
		c := m.Config
		share := string(c.Share)
		if c.Share != model.ShareNone && outFmt != fmtTformer {
			share = fmt.Sprintf("none (expanded from %s)", c.Share)
		}
		dst := outFmt
		if llamaOut {
			mt, _ := hf.ModelType(c)
			dst += ", " + mt
		}
		if c.IsEncDec() && outFmt == fmtHF {
			dst += ", bart"
		}
		tn := am.TokenizerName
		if tn == "" {
			tn = "unknown"
		}
		fmt.Fprintf(cmd.OutOrStdout(), "converted %s (%s) -> %s (%s): d=%d layers=%d heads=%d%s d_ff=%d context=%d vocab=%d tie=%v share=%s, tokenizer %s\n",
			in, src, out, dst, c.DModel, c.Layers, c.Heads, c.FamilyString(), c.DFF, c.MaxSeq, c.Vocab, c.Tie, share, tn)
		return nil
	}
	return cmd
}

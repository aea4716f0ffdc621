package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tformer/tformer/checkpoint"
	"github.com/tformer/tformer/hfgpt2"
	"github.com/tformer/tformer/llmc"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/safetensors"
	"github.com/tformer/tformer/tokenizer"
)

// Model file formats convert reads and writes.
const (
	fmtTformer = "tformer" // tformer checkpoint: one .safetensors file
	fmtHF      = "hf"      // Hugging Face GPT-2 directory
	fmtLLMC    = "llmc"    // llm.c .bin checkpoint
)

// anyModel is a model read from any supported format, with its tokenizer.
type anyModel struct {
	model   *model.Model
	format  string
	detail  string              // e.g. the stored dtype
	tok     tokenizer.Tokenizer // nil when unknown
	tokName string              // "" when unknown
	notes   []string
}

// detectInput tells the format of an existing model file or directory.
func detectInput(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if st.IsDir() {
		return fmtHF, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, 4)
	if _, err := io.ReadFull(f, head); err != nil {
		return "", fmt.Errorf("%s is too short to be a model (%d bytes)", path, st.Size())
	}
	switch binary.LittleEndian.Uint32(head) {
	case llmc.CheckpointMagic:
		return fmtLLMC, nil
	case llmc.TokensMagic:
		return "", fmt.Errorf("%s is an llm.c token file, not a model", path)
	}
	if filepath.Base(path) == hfgpt2.WeightsFile {
		// Hugging Face's name: its model, unless the file's header says it
		// is a tformer checkpoint that happens to sit next to a config.json.
		if _, err := os.Stat(filepath.Join(filepath.Dir(path), hfgpt2.ConfigFile)); err == nil {
			if md, err := safetensors.ReadMetadata(path); err == nil && md["format"] == checkpoint.Format {
				return fmtTformer, nil
			}
			return fmtHF, nil
		}
	}
	return fmtTformer, nil
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

// guessTokenizer names the tokenizer a model of vocabulary v most likely
// uses when its file does not say: GPT-2's for 50257, the byte tokenizer
// for 256. For other sizes it stays unknown.
func guessTokenizer(am *anyModel, where string) {
	switch v := am.model.Config.Vocab; v {
	case tokenizer.GPT2Vocab:
		am.tokName = "gpt2"
		am.notes = append(am.notes, fmt.Sprintf("%s carries no tokenizer; assuming GPT-2's, since the vocabulary has %d tokens", where, v))
	case 256:
		am.tokName = "byte"
		am.notes = append(am.notes, fmt.Sprintf("%s carries no tokenizer; assuming the byte tokenizer, since the vocabulary has 256 tokens", where))
	default:
		return
	}
	am.tok, _ = tokenizer.New(am.tokName)
}

// loadAnyModel reads a tformer checkpoint, a Hugging Face GPT-2 directory or
// an llm.c checkpoint, telling which from the path and the file's first
// bytes.
func loadAnyModel(path string) (*anyModel, error) {
	format, err := detectInput(path)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	am := &anyModel{format: format}
	switch format {
	case fmtTformer:
		f, err := safetensors.Read(path)
		if err != nil {
			return nil, fmt.Errorf("%s is not a model file (a tformer .safetensors checkpoint, a Hugging Face GPT-2 directory or an llm.c .bin checkpoint): %w", path, err)
		}
		ck, err := checkpoint.FromFile(f)
		if err != nil {
			return nil, fmt.Errorf("load checkpoint %s: %w", path, err)
		}
		am.model, am.tokName = ck.Model, ck.Tokenizer
		if t, err := tokenizer.New(ck.Tokenizer); err == nil {
			am.tok = t
		}
	case fmtHF:
		l, err := hfgpt2.Load(path)
		if err != nil {
			return nil, err
		}
		am.model, am.notes, am.detail = l.Model, l.Notes, string(l.DType)
		switch {
		case l.Tokenizer != nil:
			am.tok, am.tokName = l.Tokenizer, l.Tokenizer.Name()
		case tokenizer.IsHFPath(path):
			if am.tok, err = tokenizer.LoadHF(path); err != nil {
				return nil, err
			}
			am.tokName = am.tok.Name()
		default:
			guessTokenizer(am, "the directory")
		}
	case fmtLLMC:
		m, h, err := llmc.ReadCheckpoint(path)
		if err != nil {
			return nil, err
		}
		am.model = m
		am.detail = map[int]string{llmc.VersionF32: "float32", llmc.VersionBF16: "bfloat16"}[h.Version]
		if h.Version == llmc.VersionBF16 {
			am.notes = append(am.notes, "bfloat16 weights were widened to float32 (exactly)")
		}
		guessTokenizer(am, "an llm.c checkpoint")
	}
	return am, nil
}

func newConvertCmd() *cobra.Command {
	var (
		to, tokName  string
		expandShared bool
	)
	cmd := &cobra.Command{
		Use:   "convert IN OUT",
		Short: "Convert a model between tformer, Hugging Face GPT-2 and llm.c formats",
		Long: `Convert a model between three formats, keeping every weight bit for bit and the
tie between the token embedding and the output layer:

  tformer  a tformer checkpoint: one .safetensors file (what train writes)
  hf       a Hugging Face GPT-2 directory: config.json + model.safetensors (F32,
           F16 or BF16 when read; F32 when written), plus vocab.json and merges.txt
           when the tokenizer is GPT-2's BPE
  llmc     an llm.c checkpoint (.bin): float32 (version 3) read and written,
           bfloat16 (version 5) read

The input format is found from the path and the file's contents. The output
format comes from --to, or else from OUT: a .bin file is llm.c, a .safetensors
file tformer, a directory (or a path without an extension) Hugging Face.

Hugging Face's GPT-2 and llm.c have no cross-layer sharing, so a model trained
with --share is refused unless --expand-shared asks for the equivalent unshared
model (each shared block copied into every layer that uses it: the same outputs,
more stored parameters). llm.c models are always tied and have a 4·d FFN.`,
		Example: `  tformer convert ./gpt2 gpt2.safetensors            # Hugging Face directory -> tformer
  tformer convert gpt2_124M.bin ./gpt2-hf             # llm.c -> Hugging Face
  tformer convert tformer-model.safetensors model.bin # tformer -> llm.c
  tformer convert tformer-model.safetensors out --to hf --expand-shared`,
		Args: cobra.ExactArgs(2),
	}
	fs := cmd.Flags()
	fs.StringVar(&to, "to", "", "output format: tformer, hf or llmc (default: from the output path)")
	fs.BoolVar(&expandShared, "expand-shared", false, "write a model with cross-layer sharing as an unshared one (hf, llmc)")
	fs.StringVar(&tokName, "tokenizer", "", "tokenizer to record with the output when the input does not say (byte or gpt2)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		in, out := args[0], args[1]
		outFmt, err := outputFormat(out, to)
		if err != nil {
			return err
		}
		am, err := loadAnyModel(in)
		if err != nil {
			return err
		}
		if tokName != "" {
			t, err := tokenizer.New(tokName)
			if err != nil {
				return err
			}
			am.tok, am.tokName = t, tokName
		}
		if am.tok != nil && am.tok.VocabSize() > am.model.Config.Vocab {
			return fmt.Errorf("the %s tokenizer has %d tokens but the model only %d", am.tokName, am.tok.VocabSize(), am.model.Config.Vocab)
		}
		m := am.model
		var notes []string
		switch outFmt {
		case fmtTformer:
			switch {
			case am.tokName == "":
				return fmt.Errorf("cannot tell which tokenizer this model (vocabulary %d) uses; pass --tokenizer byte or --tokenizer gpt2 to record one in the checkpoint", m.Config.Vocab)
			case am.tok == nil:
				return fmt.Errorf("the model's tokenizer %q cannot be recorded in a tformer checkpoint (which names a built-in tokenizer); pass --tokenizer to choose one", am.tokName)
			case am.tokName == "bpe":
				return errors.New("the model's vocab.json/merges.txt are not GPT-2's and a tformer checkpoint can only name a built-in tokenizer; pass --tokenizer to choose one")
			}
			err = checkpoint.Save(out, &checkpoint.Checkpoint{Model: m, Tokenizer: am.tokName})
		case fmtHF:
			notes, err = hfgpt2.Save(out, m, am.tok, hfgpt2.Options{ExpandShared: expandShared})
		case fmtLLMC:
			err = llmc.WriteCheckpoint(out, m, llmc.Options{ExpandShared: expandShared})
			if err == nil {
				if m.Config.Share != model.ShareNone {
					notes = append(notes, fmt.Sprintf("cross-layer sharing (%s) was expanded into per-layer copies", m.Config.Share))
				}
				if am.tokName != "" {
					notes = append(notes, fmt.Sprintf("llm.c checkpoints do not store a tokenizer; this model uses %s", am.tokName))
				}
			}
		}
		if err != nil {
			return err
		}
		stderr := cmd.ErrOrStderr()
		for _, n := range append(am.notes, notes...) {
			fmt.Fprintf(stderr, "note: %s\n", n)
		}
		src := am.format
		if am.detail != "" {
			src += ", " + am.detail
		}
		c := m.Config
		tn := am.tokName
		if tn == "" {
			tn = "unknown"
		}
		fmt.Fprintf(cmd.OutOrStdout(), "converted %s (%s) -> %s (%s): d=%d layers=%d heads=%d d_ff=%d context=%d vocab=%d tie=%v share=%s, tokenizer %s\n",
			in, src, out, outFmt, c.DModel, c.Layers, c.Heads, c.DFF, c.MaxSeq, c.Vocab, c.Tie, c.Share, tn)
		return nil
	}
	return cmd
}

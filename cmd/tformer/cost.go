package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tformer/tformer/cost"
	"github.com/tformer/tformer/hfconfig"
	"github.com/tformer/tformer/model"
)

// costOptions are the flags of `tformer cost`.
type costOptions struct {
	Preset, Config string // a named model or a Hugging Face config.json ("": the model flags)
	Model          *modelFlags
	Seqs           string // comma-separated sequence lengths
	Batch          int
	Train, Causal  bool
	PerLayer       bool
	Pooler         bool // encoders: the pooler (when Changed("pooler"))
	MLMHead        bool // encoders: the masked-LM head (when Changed("mlm-head"))
	MLMMasked      bool // the head on the masked positions only (when Changed("mlm-masked"))
	Format         string
	Plot           string // chart file (.svg or .png), "" none
	SrcSeq, TgtSeq string // encoder-decoder presets (cost_encdec.go)
	File           string // a tformer encoder-decoder checkpoint (--model; seq2seq.go)
	// Other lists the flags given that an encoder-decoder report does not use.
	Other []string
	// Changed reports whether a flag was set on the command line (nil: none).
	Changed func(flag string) bool
}

func (o *costOptions) changed(flag string) bool { return o.Changed != nil && o.Changed(flag) }

// newCostCmd is `tformer cost`: a thin layer over package cost. Its JSON
// output is cost.Report (the schema is in that type's doc comment). runF,
// when not nil, replaces costRun (tests use it to check flag parsing).
func newCostCmd(runF func(*costOptions) error) *cobra.Command {
	o := &costOptions{Batch: 1}
	cmd := &cobra.Command{
		Use:   "cost",
		Short: "Exact parameters, FLOPs per component, MHA/FFN crossovers and memory of a model",
		Long: `Analyse a transformer's cost without running it: parameters (unique = stored,
applied = per use) and what tying and sharing save; FLOPs per component for each
sequence length n (forward, and with --train backward and the total); MHA against
FFN with the exact crossover lengths; the memory of a training step; and per-token
training FLOPs against the closed forms of PaLM and Kaplan et al.

FLOPs follow the engine's kernel conventions exactly (a matmul is 2·m·k·n; no MACs)
and, for decoders, equal what the engine counts when it runs. --causal (default for
decoders, as the engine is causal) counts n(n+1)/2 (query, key) pairs per head;
--causal=false counts n² (default for encoders).

The model is a preset, a Hugging Face config.json (GPT-2, BERT or ALBERT), or the
model flags; flags given with --preset or --config override its fields. Presets and
configs describe Hugging Face's BertModel/AlbertModel (with the pooler, no MLM head);
--arch encoder with the model flags describes the encoder tformer trains (no pooler,
the masked-LM head on the 15% masked positions only), whose FLOPs equal the engine's.
--embed-dim E < d factorizes the embedding (ALBERT) for either architecture.

Encoder-decoders (presets transformer-base, transformer-big — the 6+6 models of
Vaswani et al. 2017 —, bart-base, bart-large, t5-small, t5-base, marian, or a
config.json of model_type bart, marian or t5) get their own report: encoder
self-attention, decoder self-attention, cross-attention and FFN per layer, FLOPs
per (source, target) length pair from --src-seq and --tgt-seq, training FLOPs,
memory and crossovers. transformer-base-decoder is one decoder stack of the
base model's width.

Presets:
` + cost.PresetHelp(),
		Example: `  tformer cost --preset transformer-base
  tformer cost --preset bart-base --src-seq 512,1024 --tgt-seq 128 --format json
  tformer cost --arch encoder --vocab 257 --share all --embed-dim 32 --seq 128 --train
  tformer cost --preset albert-base --mlm-head --pooler=false
  tformer cost --preset gpt2 --seq 1024 --batch 8 --train
  tformer cost --config config.json --format json
  tformer cost --preset gpt2 --plot gpt2-cost.svg
  tformer cost --d-model 512 --layers 6 --heads 8 --vocab 37000 --share all --per-layer`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Changed = cmd.Flags().Changed
			o.Other = otherFlags(cmd.Flags())
			if runF != nil {
				return runF(o)
			}
			return costRun(o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.Preset, "preset", "", "model preset: "+strings.Join(cost.Presets(), ", "))
	fs.StringVar(&o.Config, "config", "", "Hugging Face config.json, or a model directory holding one (model_type "+strings.Join(hfconfig.ModelTypes(), ", ")+")")
	o.Model = addModelFlags(fs, model.Tiny(), true)
	fs.BoolVar(&o.Pooler, "pooler", false, "encoder pooler dense layer (BERT/ALBERT presets have it)")
	fs.BoolVar(&o.MLMHead, "mlm-head", false, "encoder masked-LM head (dense, LayerNorm, logits through the embedding)")
	fs.BoolVar(&o.MLMMasked, "mlm-masked", false, "run the masked-LM head and loss on the masked 15% of positions only, as tformer trains (default with --arch encoder and model flags)")
	fs.StringVar(&o.SrcSeq, "src-seq", "", "encoder-decoder source lengths n_s, comma-separated (default 128,512; encoder-decoder presets: "+strings.Join(cost.EncDecPresets(), ", ")+")")
	fs.StringVar(&o.TgtSeq, "tgt-seq", "", "encoder-decoder target lengths n_t; every (n_s, n_t) pair is reported (default 128,512)")
	fs.StringVar(&o.Seqs, "seq", "128,256,512,1024,2048,4096,8192", "comma-separated sequence lengths n")
	fs.IntVar(&o.Batch, "batch", o.Batch, "sequences per batch B")
	fs.BoolVar(&o.Train, "train", false, "also report backward FLOPs, training totals and training crossovers")
	fs.BoolVar(&o.Causal, "causal", true, "causal attention, n(n+1)/2 pairs per head (default: true for decoders, false for encoders)")
	fs.BoolVar(&o.PerLayer, "per-layer", false, "print only the per-layer MHA vs FFN table (matmul FLOPs) and the crossovers")
	fs.StringVar(&o.Format, "format", "table", "output format: "+strings.Join(cost.Formats(), ", "))
	addCostModelFlag(cmd, o)
	fs.StringVar(&o.Plot, "plot", "", "also chart FLOPs per component against n (log axes, crossovers marked) and the parameters into FILE (.svg or .png)")
	return cmd
}

// costSpec builds the model o describes: a preset, a config file or the
// model flags, with every model flag the user gave applied over it.
func costSpec(o *costOptions) (cost.Spec, error) {
	mf := o.Model
	var s cost.Spec
	switch {
	case o.Preset != "" && o.Config != "":
		return s, errors.New("give --preset or --config, not both")
	case o.Preset != "":
		p, err := cost.Preset(o.Preset)
		if err != nil {
			return s, err
		}
		s = p
	case o.Config != "":
		p, err := cost.LoadHFConfig(o.Config)
		if err != nil {
			return s, err
		}
		s = p
	default:
		s = cost.Spec{Name: "model", Arch: cost.Decoder, Config: model.Tiny()}
		if a := cost.Arch(mf.arch); a == cost.Encoder {
			// the encoder `tformer train --arch encoder` builds
			s.Arch, s.TypeVocab, s.MLMHead, s.MLMMasked = cost.Encoder, model.DefaultTypeVocab, true, true
		}
	}
	if o.changed("arch") {
		a, _, err := mf.family()
		if err != nil {
			return s, err
		}
		s.Arch = cost.Decoder
		if a == model.ArchEncoder {
			s.Arch = cost.Encoder
		}
	}
	if err := mf.override(&s.Config); err != nil {
		return s, err
	}
	if mf.changed("embed-dim") {
		s.EmbedDim = s.Config.EmbedDim
	}
	if mf.changed("type-vocab") {
		s.TypeVocab, s.Config.TypeVocab = s.Config.TypeVocab, 0
	}
	if o.changed("pooler") {
		s.Pooler = o.Pooler
	}
	if o.changed("mlm-head") {
		s.MLMHead = o.MLMHead
		if !o.MLMHead {
			s.MLMMasked = false
		}
	}
	if o.changed("mlm-masked") {
		s.MLMMasked = o.MLMMasked
	}
	return s, s.Validate()
}

// costRun prints the cost report o asks for to stdout (and writes its
// chart, saying where on stderr).
func costRun(o *costOptions, stdout, stderr io.Writer) error {
	if o.File != "" || o.Model.arch == string(model.ArchEncDec) {
		s, err := costEncDecSpecOf(o)
		if err != nil {
			return err
		}
		return costEncDecRun(stdout, stderr, costEncDecOptions{Spec: &s, Src: o.SrcSeq, Tgt: o.TgtSeq,
			Seqs: o.Seqs, Batch: o.Batch, Format: o.Format, PerLayer: o.PerLayer, Plot: o.Plot, Other: withoutModelFlags(o.Other)})
	}
	if o.SrcSeq != "" || o.TgtSeq != "" || isEncDecModel(o.Preset, o.Config) {
		return costEncDecRun(stdout, stderr, costEncDecOptions{Preset: o.Preset, Config: o.Config, Src: o.SrcSeq, Tgt: o.TgtSeq,
			Seqs: o.Seqs, Batch: o.Batch, Format: o.Format, PerLayer: o.PerLayer, Plot: o.Plot, Other: o.Other})
	}
	s, err := costSpec(o)
	if err != nil {
		return err
	}
	ns, err := parseSeqs(o.Seqs)
	if err != nil {
		return err
	}
	causal := o.Causal
	if !o.changed("causal") {
		causal = s.Arch == cost.Decoder
	}
	if ext := strings.ToLower(filepath.Ext(o.Plot)); o.Plot != "" && ext != ".svg" && ext != ".png" {
		return fmt.Errorf("--plot %s: the file must end in .svg or .png", o.Plot)
	}
	if o.Batch <= 0 {
		return fmt.Errorf("--batch must be positive, got %d", o.Batch)
	}
	r, err := cost.NewReport(s, cost.Options{Seqs: ns, Batch: o.Batch, Causal: causal, Train: o.Train})
	if err != nil {
		return err
	}
	if err := r.Write(stdout, o.Format, o.PerLayer); err != nil {
		return err
	}
	if o.Plot != "" {
		if err := r.PlotFile(o.Plot); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s\n", o.Plot)
	}
	return nil
}

// parseSeqs parses "128,256,1024" into sequence lengths.
func parseSeqs(s string) ([]int, error) { return parseInts("seq", s) }

// parseInts parses a comma-separated list of positive integers given to
// --name (empty fields are skipped; at least one value is required).
func parseInts(name, s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("--%s: %q is not a positive integer", name, f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--%s: no values given", name)
	}
	return out, nil
}

package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tformer/tformer/cost"
	"github.com/tformer/tformer/hfconfig"
	"github.com/tformer/tformer/model"
)

// newCostCmd is `tformer cost`: a thin layer over package cost. Its JSON
// output is cost.Report (the schema is in that type's doc comment).
func newCostCmd() *cobra.Command {
	var (
		preset, config, seqs, format string
		plotPath                     string
		train, causal, perLayer      bool
		pooler, mlm, mlmMasked       bool
		batch                        int
		mf                           *modelFlags
		srcSeq, tgtSeq               string // encoder-decoder presets (cost_encdec.go)
	)
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
			fs := cmd.Flags()
			if srcSeq != "" || tgtSeq != "" || isEncDecModel(preset, config) {
				return costEncDecRun(cmd.OutOrStdout(), cmd.ErrOrStderr(), costEncDecOptions{Preset: preset, Config: config, Src: srcSeq, Tgt: tgtSeq,
					Seqs: seqs, Batch: batch, Format: format, PerLayer: perLayer, Plot: plotPath, Other: otherFlags(fs)})
			}
			var s cost.Spec
			switch {
			case preset != "" && config != "":
				return errors.New("give --preset or --config, not both")
			case preset != "":
				p, err := cost.Preset(preset)
				if err != nil {
					return err
				}
				s = p
			case config != "":
				p, err := cost.LoadHFConfig(config)
				if err != nil {
					return err
				}
				s = p
			default:
				s = cost.Spec{Name: "model", Arch: cost.Decoder, Config: model.Tiny()}
				if a := cost.Arch(mf.arch); a == cost.Encoder {
					// the encoder `tformer train --arch encoder` builds
					s.Arch, s.TypeVocab, s.MLMHead, s.MLMMasked = cost.Encoder, model.DefaultTypeVocab, true, true
				}
			}
			if fs.Changed("arch") {
				a, _, err := mf.family()
				if err != nil {
					return err
				}
				s.Arch = cost.Decoder
				if a == model.ArchEncoder {
					s.Arch = cost.Encoder
				}
			}
			if err := mf.override(&s.Config); err != nil {
				return err
			}
			if mf.changed("embed-dim") {
				s.EmbedDim = s.Config.EmbedDim
			}
			if mf.changed("type-vocab") {
				s.TypeVocab, s.Config.TypeVocab = s.Config.TypeVocab, 0
			}
			if fs.Changed("pooler") {
				s.Pooler = pooler
			}
			if fs.Changed("mlm-head") {
				s.MLMHead = mlm
				if !mlm {
					s.MLMMasked = false
				}
			}
			if fs.Changed("mlm-masked") {
				s.MLMMasked = mlmMasked
			}
			if err := s.Validate(); err != nil {
				return err
			}
			ns, err := parseSeqs(seqs)
			if err != nil {
				return err
			}
			if !fs.Changed("causal") {
				causal = s.Arch == cost.Decoder
			}
			if ext := strings.ToLower(filepath.Ext(plotPath)); plotPath != "" && ext != ".svg" && ext != ".png" {
				return fmt.Errorf("--plot %s: the file must end in .svg or .png", plotPath)
			}
			if batch <= 0 {
				return fmt.Errorf("--batch must be positive, got %d", batch)
			}
			r, err := cost.NewReport(s, cost.Options{Seqs: ns, Batch: batch, Causal: causal, Train: train})
			if err != nil {
				return err
			}
			if err := r.Write(cmd.OutOrStdout(), format, perLayer); err != nil {
				return err
			}
			if plotPath != "" {
				if err := r.PlotFile(plotPath); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s\n", plotPath)
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&preset, "preset", "", "model preset: "+strings.Join(cost.Presets(), ", "))
	fs.StringVar(&config, "config", "", "Hugging Face config.json, or a model directory holding one (model_type "+strings.Join(hfconfig.ModelTypes(), ", ")+")")
	mf = addModelFlags(fs, model.Tiny(), true)
	fs.BoolVar(&pooler, "pooler", false, "encoder pooler dense layer (BERT/ALBERT presets have it)")
	fs.BoolVar(&mlm, "mlm-head", false, "encoder masked-LM head (dense, LayerNorm, logits through the embedding)")
	fs.BoolVar(&mlmMasked, "mlm-masked", false, "run the masked-LM head and loss on the masked 15% of positions only, as tformer trains (default with --arch encoder and model flags)")
	fs.StringVar(&srcSeq, "src-seq", "", "encoder-decoder source lengths n_s, comma-separated (default 128,512; encoder-decoder presets: "+strings.Join(cost.EncDecPresets(), ", ")+")")
	fs.StringVar(&tgtSeq, "tgt-seq", "", "encoder-decoder target lengths n_t; every (n_s, n_t) pair is reported (default 128,512)")
	fs.StringVar(&seqs, "seq", "128,256,512,1024,2048,4096,8192", "comma-separated sequence lengths n")
	fs.IntVar(&batch, "batch", 1, "sequences per batch B")
	fs.BoolVar(&train, "train", false, "also report backward FLOPs, training totals and training crossovers")
	fs.BoolVar(&causal, "causal", true, "causal attention, n(n+1)/2 pairs per head (default: true for decoders, false for encoders)")
	fs.BoolVar(&perLayer, "per-layer", false, "print only the per-layer MHA vs FFN table (matmul FLOPs) and the crossovers")
	fs.StringVar(&format, "format", "table", "output format: "+strings.Join(cost.Formats(), ", "))
	fs.StringVar(&plotPath, "plot", "", "also chart FLOPs per component against n (log axes, crossovers marked) and the parameters into FILE (.svg or .png)")
	return cmd
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

package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/tformer/tformer/cost"
)

// costEncDecOptions are the `tformer cost` flags that apply to an
// encoder–decoder (a preset such as transformer-base, or a bart, marian or
// t5 config.json).
type costEncDecOptions struct {
	Preset, Config string
	Src, Tgt       string // comma-separated lengths ("" for cost.DefaultPairSeqs)
	Seqs           string // the per-layer table's lengths
	Batch          int
	Format         string
	PerLayer       bool
	Plot           string           // chart file (.svg or .png), or ""
	Other          []string         // flags given that do not apply to an encoder-decoder
	Spec           *cost.EncDecSpec // the model, when neither Preset nor Config names it
}

// costEncDecFlags are the cost flags an encoder-decoder report uses.
var costEncDecFlags = map[string]bool{"preset": true, "config": true, "src-seq": true, "tgt-seq": true, "seq": true,
	"batch": true, "format": true, "per-layer": true, "train": true, "plot": true}

// isEncDecModel reports whether --preset or --config names an
// encoder-decoder.
func isEncDecModel(preset, config string) bool {
	if preset != "" {
		_, err := cost.Preset(preset)
		return errors.Is(err, cost.ErrEncoderDecoder)
	}
	if config != "" {
		_, err := cost.LoadHFConfig(config)
		return errors.Is(err, cost.ErrEncoderDecoder)
	}
	return false
}

// otherFlags lists the flags given on fs that an encoder-decoder report
// does not use.
func otherFlags(fs *pflag.FlagSet) []string {
	var out []string
	fs.Visit(func(f *pflag.Flag) {
		if !costEncDecFlags[f.Name] {
			out = append(out, "--"+f.Name)
		}
	})
	sort.Strings(out)
	return out
}

// costEncDecRun prints an encoder-decoder's parameters, its per-layer
// self-, cross-attention and FFN FLOPs, the forward and training FLOPs per
// component at each (source, target) length pair, memory and crossovers.
func costEncDecRun(w, stderr io.Writer, o costEncDecOptions) error {
	var s cost.EncDecSpec
	var err error
	switch {
	case o.Preset != "" && o.Config != "":
		return errors.New("give --preset or --config, not both")
	case o.Spec != nil:
		s = *o.Spec
	case o.Preset != "":
		if s, err = cost.EncDecPreset(o.Preset); err != nil {
			return fmt.Errorf("--preset: %w", err)
		}
	case o.Config != "":
		if s, err = cost.LoadHFEncDec(o.Config); err != nil {
			return fmt.Errorf("--config: %w", err)
		}
	default:
		return errors.New("--src-seq/--tgt-seq need --preset (one of " + strings.Join(cost.EncDecPresets(), ", ") + ") or --config (model_type bart, marian or t5)")
	}
	if len(o.Other) > 0 {
		return fmt.Errorf("%s: not used for an encoder-decoder (%s); it takes --src-seq, --tgt-seq, --seq, --batch, --format, --per-layer and --plot", strings.Join(o.Other, ", "), s.Name)
	}
	var opts cost.EncDecOptions
	if o.Src != "" {
		if opts.Src, err = parseInts("src-seq", o.Src); err != nil {
			return err
		}
	}
	if o.Tgt != "" {
		if opts.Tgt, err = parseInts("tgt-seq", o.Tgt); err != nil {
			return err
		}
	}
	if opts.Seqs, err = parseSeqs(o.Seqs); err != nil {
		return err
	}
	if o.Batch <= 0 {
		return fmt.Errorf("--batch must be positive, got %d", o.Batch)
	}
	opts.Batch = o.Batch
	r, err := cost.NewEncDecReport(s, opts)
	if err != nil {
		return fmt.Errorf("--src-seq/--tgt-seq: %w", err)
	}
	if ext := strings.ToLower(filepath.Ext(o.Plot)); o.Plot != "" && ext != ".svg" && ext != ".png" {
		return fmt.Errorf("--plot %s: the file must end in .svg or .png", o.Plot)
	}
	if err := r.Write(w, o.Format, o.PerLayer); err != nil {
		return err
	}
	if o.Plot != "" {
		if err := r.PlotFile(o.Plot); err != nil {
			return fmt.Errorf("--plot: %w", err)
		}
		fmt.Fprintf(stderr, "wrote %s\n", o.Plot)
	}
	return nil
}

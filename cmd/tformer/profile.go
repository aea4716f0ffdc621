package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tformer/tformer/cost"
	"github.com/tformer/tformer/internal/textfmt"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/profile"
)

// profileDefault is the model `tformer profile` measures without model
// flags: small enough that the default sweep takes seconds on 2 cores, wide
// enough that its matmuls are not trivially small.
func profileDefault() model.Config {
	return model.Config{Vocab: 256, DModel: 256, Layers: 4, Heads: 4, DFF: 1024, Tie: true, Share: model.ShareNone, Groups: 1}
}

// newProfileCmd is `tformer profile`: a thin layer over package profile.
func newProfileCmd() *cobra.Command {
	var (
		preset, config, seqs, format, plotPath, maxMem string
		forwardOnly                                    bool
		batch, reps, warmup                            int
		seed                                           uint64
	)
	cmd := &cobra.Command{
		Use:   "profile",
		Short: "Measure time and GFLOP/s per component beside the analytical FLOP shares",
		Long: `Run the engine on random tokens across sequence lengths and print, per component,
the measured time (forward and backward), the achieved GFLOP/s and the measured share
of time beside the analytical share of FLOPs (from the cost model), so you see where
the model's reality departs from its FLOP count: memory-bound softmax, layer norms and
GELU, the attention kernel, small matmuls.

Every shape runs --warmup-reps unmeasured passes, then --reps measured ones; each component's
median is reported (shared machines are noisy). The attention kernels fuse QKᵀ, softmax
and AV into one loop, so they are one measured row, "attention core (fused)", beside the
sum of their FLOP shares; attn_out and ffn_down include the residual add fused into them.
The FLOPs the engine counts are checked against the cost model (a warning if they differ).

Without model flags the model is d 256, 4 layers, 4 heads, d_ff 1024, vocab 256 (tied).
The context is raised to the longest --seq when needed. Shapes whose estimated memory
(parameters, gradients and activations; attention keeps only B·H·n log-sum-exp values
per layer) exceeds --max-mem are refused before anything runs. Progress goes to stderr.`,
		Example: `  tformer profile
  tformer profile --seq 64,128,256,512,1024 --batch 4 --plot profile.svg
  tformer profile --preset gpt2 --seq 128,256 --batch 1 --reps 1 --forward-only
  tformer profile --d-model 512 --layers 2 --heads 8 --format md`,
		Args: cobra.NoArgs,
	}
	fs := cmd.Flags()
	fs.StringVar(&preset, "preset", "", "preset (see tformer cost --help; encoder presets run as the masked-LM model tformer trains, without pooler)")
	fs.StringVar(&config, "config", "", "Hugging Face config.json (see tformer cost --help)")
	mf := addModelFlags(fs, profileDefault(), true)
	fs.StringVar(&seqs, "seq", "64,128,256,512", "comma-separated sequence lengths n")
	fs.IntVar(&batch, "batch", 1, "sequences per batch B")
	fs.IntVar(&reps, "reps", 3, "measured repetitions per sequence length (the median is reported)")
	fs.IntVar(&warmup, "warmup-reps", 1, "unmeasured repetitions before the measured ones (train's --warmup is learning-rate warmup steps)")
	fs.BoolVar(&forwardOnly, "forward-only", false, "measure the forward pass (with the loss) only, not the backward")
	fs.Uint64Var(&seed, "seed", 1, "seed for the weights and the random tokens")
	fs.StringVar(&maxMem, "max-mem", "8GiB", "refuse shapes whose estimated memory exceeds this (e.g. 512MiB, 8GiB, or bytes)")
	fs.StringVar(&format, "format", "table", "output format: "+strings.Join(profile.Formats(), ", "))
	fs.StringVar(&plotPath, "plot", "", "also chart time share vs FLOP share and GFLOP/s per component against n into FILE (.svg or .png)")
	applyThreads := addThreadsFlag(cmd)

	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		var cfg model.Config
		switch {
		case preset != "" && config != "":
			return errors.New("give --preset or --config, not both")
		case preset != "" || config != "":
			var s cost.Spec
			var err error
			if preset != "" {
				s, err = cost.Preset(preset)
			} else {
				s, err = cost.LoadHFConfig(config)
			}
			if err != nil {
				return err
			}
			cfg = s.Config
			if s.Arch == cost.Encoder {
				// The engine's encoder: the masked-LM model (no pooler), with the
				// preset's shape, embedding width and token types.
				cfg.Arch, cfg.TypeVocab = model.ArchEncoder, s.TypeVocab
				if e := s.E(); e != cfg.DModel {
					cfg.EmbedDim = e
				}
			}
		default:
			cfg = profileDefault()
		}
		if err := mf.override(&cfg); err != nil {
			return err
		}
		if mf.changed("arch") {
			a, _, err := mf.family()
			if err != nil {
				return err
			}
			cfg.Arch = a
		}
		ns, err := parseSeqs(seqs)
		if err != nil {
			return err
		}
		longest := 0
		for _, n := range ns {
			longest = max(longest, n)
		}
		if cfg.MaxSeq < longest {
			cfg.MaxSeq = longest
		}
		if err := cfg.Validate(); err != nil {
			return err
		}
		if batch <= 0 {
			return fmt.Errorf("--batch must be positive, got %d", batch)
		}
		if reps <= 0 {
			return fmt.Errorf("--reps must be positive, got %d", reps)
		}
		if warmup < 0 {
			return fmt.Errorf("--warmup-reps must be >= 0, got %d", warmup)
		}
		if !slices.Contains(profile.Formats(), format) {
			return fmt.Errorf("--format: unknown format %q (want %s)", format, strings.Join(profile.Formats(), ", "))
		}
		if ext := strings.ToLower(filepath.Ext(plotPath)); plotPath != "" && ext != ".svg" && ext != ".png" {
			return fmt.Errorf("--plot %s: the file must end in .svg or .png", plotPath)
		}
		limit, err := parseBytes(maxMem)
		if err != nil {
			return fmt.Errorf("--max-mem: %w", err)
		}
		if err := applyThreads(); err != nil {
			return err
		}
		stderr := cmd.ErrOrStderr()
		start := time.Now()
		r, err := profile.RunOptions(cfg, profile.Options{
			Seqs: ns, Batch: batch, Warmup: warmup, Reps: reps, Train: !forwardOnly, MaxMem: limit, Seed: seed,
			Progress: func(i, total, n int, mem int64) {
				fmt.Fprintf(stderr, "profile: [%d/%d] n=%d batch %d (≈%s), %d warmup + %d reps; %s elapsed\n",
					i+1, total, n, batch, textfmt.Bytes(mem, 1), warmup, reps, fmtDur(time.Since(start)))
			},
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "profile: done in %s\n", time.Since(start).Round(100*time.Millisecond))
		for _, w := range r.Warnings {
			fmt.Fprintln(stderr, "tformer: warning:", w)
		}
		if err := r.Write(cmd.OutOrStdout(), format); err != nil {
			return err
		}
		if plotPath != "" {
			if err := r.PlotFile(plotPath); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s\n", plotPath)
		}
		return nil
	}
	return cmd
}

// parseBytes parses a size such as "8GiB", "512M", "1.5G" or "1000000"
// (bytes). K, M, G and T are binary multiples, with or without "iB" or "B".
func parseBytes(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	mult := 1.0
	if t != "" {
		if i := strings.IndexByte("KMGT", t[len(t)-1]); i >= 0 {
			mult = float64(int64(1) << (10 * (i + 1)))
			t = t[:len(t)-1]
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || v <= 0 || v*mult > 1<<62 {
		return 0, fmt.Errorf("%q is not a positive size (e.g. 512MiB, 8GiB)", s)
	}
	return int64(v * mult), nil
}

package main

import (
	"errors"
	"fmt"
	"io"
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

// profileOptions are the flags of `tformer profile`.
type profileOptions struct {
	Preset, Config string // a named model or a Hugging Face config.json ("": the model flags)
	Model          *modelFlags
	Seqs           string // comma-separated sequence lengths
	Batch          int
	Reps, Warmup   int // measured and unmeasured repetitions per length
	ForwardOnly    bool
	Seed           uint64
	MaxMem         string // refuse shapes estimated above this size
	Format         string
	Plot           string // chart file (.svg or .png), "" none
	Threads        int
}

// newProfileCmd is `tformer profile`: a thin layer over package profile.
// runF, when not nil, replaces profileRun (tests use it to check flag
// parsing).
func newProfileCmd(runF func(*profileOptions) error) *cobra.Command {
	o := &profileOptions{Batch: 1, Reps: 3, Warmup: 1, Seed: 1}
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
A last table sets MHA (qkv, attention core, attn_out) against the FFN per n, in measured
time and in FLOPs, with the length at which MHA's measured time equals the FFN's
(interpolated between the profiled lengths) beside cost's exact FLOP crossover; --plot
marks both.

Without model flags the model is d 256, 4 layers, 4 heads, d_ff 1024, vocab 256 (tied).
The context is raised to the longest --seq when needed. Shapes whose estimated memory
(parameters, gradients and activations; attention keeps only B·H·n log-sum-exp values
per layer) exceeds --max-mem are refused before anything runs. Progress goes to stderr.`,
		Example: `  tformer profile
  tformer profile --seq 64,128,256,512,1024 --batch 4 --plot profile.svg
  tformer profile --preset gpt2 --seq 128,256 --batch 1 --reps 1 --forward-only
  tformer profile --d-model 512 --layers 2 --heads 8 --format md`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(o)
			}
			return profileRun(o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.Preset, "preset", "", "preset (see tformer cost --help; encoder presets run as the masked-LM model tformer trains, without pooler)")
	fs.StringVar(&o.Config, "config", "", "Hugging Face config.json (see tformer cost --help)")
	o.Model = addModelFlags(fs, profileDefault(), true)
	fs.StringVar(&o.Seqs, "seq", "64,128,256,512", "comma-separated sequence lengths n")
	fs.IntVar(&o.Batch, "batch", o.Batch, "sequences per batch B")
	fs.IntVar(&o.Reps, "reps", o.Reps, "measured repetitions per sequence length (the median is reported)")
	fs.IntVar(&o.Warmup, "warmup-reps", o.Warmup, "unmeasured repetitions before the measured ones (train's --warmup is learning-rate warmup steps)")
	fs.BoolVar(&o.ForwardOnly, "forward-only", false, "measure the forward pass (with the loss) only, not the backward")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "seed for the weights and the random tokens")
	fs.StringVar(&o.MaxMem, "max-mem", "8GiB", "refuse shapes whose estimated memory exceeds this (e.g. 512MiB, 8GiB, or bytes)")
	fs.StringVar(&o.Format, "format", "table", "output format: "+strings.Join(profile.Formats(), ", "))
	fs.StringVar(&o.Plot, "plot", "", "also chart time share vs FLOP share and GFLOP/s per component against n into FILE (.svg or .png)")
	fs.IntVar(&o.Threads, "threads", 0, "worker threads for the kernels (0: all cores)")
	return cmd
}

// profileConfig builds the engine config o describes: a preset, a config
// file or the default, with every model flag the user gave applied over it
// and the context raised to the longest of seqs.
func profileConfig(o *profileOptions, seqs []int) (model.Config, error) {
	mf := o.Model
	var cfg model.Config
	switch {
	case o.Preset != "" && o.Config != "":
		return cfg, errors.New("give --preset or --config, not both")
	case o.Preset != "" || o.Config != "":
		var s cost.Spec
		var err error
		if o.Preset != "" {
			s, err = cost.Preset(o.Preset)
		} else {
			s, err = cost.LoadHFConfig(o.Config)
		}
		if err != nil {
			return cfg, err
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
		return cfg, err
	}
	if mf.changed("arch") {
		a, _, err := mf.family()
		if err != nil {
			return cfg, err
		}
		if a == model.ArchEncDec {
			return cfg, fmt.Errorf("--arch encdec: profile times decoders and encoders; tformer cost --arch encdec gives an encoder-decoder's exact FLOPs")
		}
		cfg.Arch = a
	}
	cfg.MaxSeq = max(cfg.MaxSeq, slices.Max(seqs))
	return cfg, cfg.Validate()
}

// profileRun measures the model o describes, printing progress to stderr
// and the report to stdout.
func profileRun(o *profileOptions, stdout, stderr io.Writer) error {
	ns, err := parseSeqs(o.Seqs)
	if err != nil {
		return err
	}
	cfg, err := profileConfig(o, ns)
	if err != nil {
		return err
	}
	if o.Batch <= 0 {
		return fmt.Errorf("--batch must be positive, got %d", o.Batch)
	}
	if o.Reps <= 0 {
		return fmt.Errorf("--reps must be positive, got %d", o.Reps)
	}
	if o.Warmup < 0 {
		return fmt.Errorf("--warmup-reps must be >= 0, got %d", o.Warmup)
	}
	if !slices.Contains(profile.Formats(), o.Format) {
		return fmt.Errorf("--format: unknown format %q (want %s)", o.Format, strings.Join(profile.Formats(), ", "))
	}
	if ext := strings.ToLower(filepath.Ext(o.Plot)); o.Plot != "" && ext != ".svg" && ext != ".png" {
		return fmt.Errorf("--plot %s: the file must end in .svg or .png", o.Plot)
	}
	limit, err := parseBytes(o.MaxMem)
	if err != nil {
		return fmt.Errorf("--max-mem: %w", err)
	}
	if err := applyThreads(o.Threads); err != nil {
		return err
	}
	start := time.Now()
	r, err := profile.RunOptions(cfg, profile.Options{
		Seqs: ns, Batch: o.Batch, Warmup: o.Warmup, Reps: o.Reps, Train: !o.ForwardOnly, MaxMem: limit, Seed: o.Seed,
		Progress: func(i, total, n int, mem int64) {
			fmt.Fprintf(stderr, "profile: [%d/%d] n=%d batch %d (≈%s), %d warmup + %d reps; %s elapsed\n",
				i+1, total, n, o.Batch, textfmt.Bytes(mem, 1), o.Warmup, o.Reps, fmtDur(time.Since(start)))
		},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "profile: done in %s\n", time.Since(start).Round(100*time.Millisecond))
	for _, w := range r.Warnings {
		fmt.Fprintln(stderr, "tformer: warning:", w)
	}
	if err := r.Write(stdout, o.Format); err != nil {
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

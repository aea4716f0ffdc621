package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tformer/tformer/cost"
	"github.com/tformer/tformer/internal/textfmt"
	"github.com/tformer/tformer/kernels"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/speed"
)

// benchParts are the parts `tformer bench` can run, in the order it runs them.
var benchParts = []string{"fma", "gemm", "attention", "train", "generate"}

// benchReport is `tformer bench --json`. Parts not run are omitted.
type benchReport struct {
	Date string `json:"date"`
	CPU  struct {
		Accel  string `json:"accel"`
		NumCPU int    `json:"num_cpu"`
	} `json:"cpu"`
	Threads                int                     `json:"threads"`
	Parts                  []string                `json:"parts"`
	FMAPeakGFLOPS          *float64                `json:"fma_peak_gflops,omitempty"` // with the widest FMA (fma_peak_isa)
	FMAPeakISA             string                  `json:"fma_peak_isa,omitempty"`
	FMAPeaks               []kernels.FMAPeak       `json:"fma_peaks,omitempty"` // every vector width, widest first
	GEMM                   []speed.GEMMResult      `json:"gemm,omitempty"`
	Attention              []speed.AttentionResult `json:"attention,omitempty"`
	TrainModel             string                  `json:"train_model,omitempty"`
	Train                  *speed.TrainResult      `json:"train,omitempty"`
	TrainStepMS            *float64                `json:"train_step_ms,omitempty"`
	TrainTokensPerS        *float64                `json:"train_tokens_per_s,omitempty"`
	Generate               []speed.GenerateResult  `json:"generate,omitempty"`
	GenerateTokensPerS     *float64                `json:"generate_tokens_per_s,omitempty"`
	GenerateTinyTokensPerS *float64                `json:"generate_tiny_tokens_per_s,omitempty"`
	// FirstToken is the time to the first token after a --prompt-tokens
	// prompt (prefilled, and with --prompt-steps also fed a Step a token).
	FirstToken []speed.FirstTokenResult `json:"first_token,omitempty"`
}

// benchOnly parses --only into the set of parts to run.
func benchOnly(s string) (map[string]bool, error) {
	sel := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		ok := false
		for _, p := range benchParts {
			ok = ok || p == f
		}
		if !ok {
			return nil, fmt.Errorf("--only: unknown part %q (want some of %s)", f, strings.Join(benchParts, ","))
		}
		sel[f] = true
	}
	return sel, nil
}

// benchOptions are the flags of `tformer bench`.
type benchOptions struct {
	Only              string // comma-separated parts (benchParts)
	Sizes, AttnSeqs   string // square GEMM sizes; attention lengths
	GPT2Shapes        bool
	AttnD, AttnHeads  int
	MinTime, FMATime  time.Duration
	Steps, Batch, Seq int // training measurement
	GenTokens         int
	PromptTokens      int    // generate: time to first token after this many prompt tokens (0: skip)
	PromptSteps       bool   // generate: also time the prompt fed one Step a token
	DTypes            string // generate: comma-separated weight types
	GenRounds         int    // generate: rounds over the dtypes in turn
	Model             string // "gpt2" or "tiny": the train and generate shape
	JSON              bool
	Threads           int
}

// newBenchCmd is `tformer bench`: a thin layer over package speed. runF,
// when not nil, replaces benchRun (tests use it to check flag parsing).
func newBenchCmd(runF func(*benchOptions) error) *cobra.Command {
	o := &benchOptions{Only: strings.Join(benchParts, ","), Sizes: "256,512,1024", AttnSeqs: "128,256,512,1024", GPT2Shapes: true,
		AttnD: 512, AttnHeads: 8, MinTime: 200 * time.Millisecond, FMATime: 300 * time.Millisecond,
		Steps: 3, Batch: 4, Seq: 64, GenTokens: 32, PromptTokens: 128, DTypes: "f32,bf16,int8", GenRounds: 3, Model: "gpt2"}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure this machine: FMA limit, GEMM and attention GFLOP/s, train step time, generation tokens/s",
		Long: `Measure how fast this machine runs tformer's engine:

  fma        the single-core fp32 FMA limit, from an assembly loop of independent FMAs, for
             each vector width the CPU has (512-bit AVX-512F, 256-bit AVX2); a GEMM's
             "% of peak" is against the width its kernels use (the kernels line names them)
  gemm       GEMM GFLOP/s for square sizes (--sizes) and the GEMMs of a GPT-2 small step
             at B·T = 256 (qkv, attn_out, ffn_up, ffn_down, logits; all NT), at --threads;
             each shape is repeated until --min-time has passed, best of 3
  attention  causal attention forward+backward GFLOP/s against n (--attn-seq), d 512, 8 heads,
             batch 1, counting the FLOPs the kernels report
  train      one training step (forward, backward, clip to norm 1, AdamW) of the GPT-2 small shape
             (vocab 50257, 12 layers, d 768, tied) at B=4, T=64: median of --steps after a warmup
  generate   greedy generation with the KV cache after a 1-token prompt, random weights,
             on the GPT-2 small shape and on the tiny default model, with the weights
             in each --dtype (f32, bf16, int8) side by side: --gen-rounds rounds
             over the dtypes in turn, the best round of each reported; and the time to
             the first token after a --prompt-tokens prompt, prefilled in batched passes
             (with --prompt-steps also fed one decoding step a token, side by side)

Weights and tokens are random, so the numbers measure speed only. Progress goes to stderr;
--json prints one object instead of the tables. The GPT-2 small training step needs about
2-3 GB of memory.`,
		Example: `  tformer bench
  tformer bench --only generate --prompt-tokens 512 --prompt-steps --dtype f32,int8
  tformer bench --only gemm --sizes 512,1024,2048 --threads 1
  tformer bench --only fma,gemm --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(o)
			}
			return benchRun(o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.Only, "only", o.Only, "comma-separated parts to run: "+strings.Join(benchParts, ","))
	fs.StringVar(&o.Sizes, "sizes", o.Sizes, "square GEMM sizes")
	fs.BoolVar(&o.GPT2Shapes, "gpt2-shapes", o.GPT2Shapes, "also time the GEMMs of a GPT-2 small step at B·T = 256")
	fs.StringVar(&o.AttnSeqs, "attn-seq", o.AttnSeqs, "comma-separated attention sequence lengths n")
	fs.IntVar(&o.AttnD, "attn-d", o.AttnD, "attention width d")
	fs.IntVar(&o.AttnHeads, "attn-heads", o.AttnHeads, "attention heads")
	fs.DurationVar(&o.MinTime, "min-time", o.MinTime, "time each GEMM or attention measurement runs for (best of 3 such runs)")
	fs.IntVar(&o.Steps, "steps", o.Steps, "measured training steps (after 1 warmup step; the median is reported)")
	fs.IntVar(&o.Batch, "batch", o.Batch, "training batch B")
	fs.IntVar(&o.Seq, "seq", o.Seq, "training sequence length T")
	fs.IntVar(&o.GenTokens, "gen-tokens", o.GenTokens, "tokens to generate")
	fs.IntVar(&o.PromptTokens, "prompt-tokens", o.PromptTokens, "generate: time to first token after a prompt of this many tokens (0: skip)")
	fs.BoolVar(&o.PromptSteps, "prompt-steps", false, "generate: also time the prompt fed one decoding step a token, beside the batched prefill")
	fs.StringVar(&o.DTypes, "dtype", o.DTypes, "comma-separated weight types the generate part runs: f32, bf16, int8")
	fs.IntVar(&o.GenRounds, "gen-rounds", o.GenRounds, "generate: rounds over the dtypes in turn (the best round of each is reported)")
	fs.BoolVar(&o.JSON, "json", false, "print one JSON object instead of tables")
	fs.StringVar(&o.Model, "model", o.Model, "model shape for train and generate: gpt2 (GPT-2 small) or tiny")
	fs.DurationVar(&o.FMATime, "fma-time", o.FMATime, "how long the FMA loop runs (per vector width)")
	fs.IntVar(&o.Threads, "threads", 0, "worker threads for the kernels (0: all cores)")
	_ = fs.MarkHidden("model")
	_ = fs.MarkHidden("fma-time")
	return cmd
}

// benchRun measures what o selects, with progress on stderr, and prints
// the tables (or the JSON report) to stdout.
func benchRun(o *benchOptions, stdout, stderr io.Writer) error {
	r, err := benchMeasure(o, stderr)
	if err != nil {
		return err
	}
	if o.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	printBench(stdout, r)
	return nil
}

// benchMeasure checks o and runs its measurements.
func benchMeasure(o *benchOptions, stderr io.Writer) (*benchReport, error) {
	sel, err := benchOnly(o.Only)
	if err != nil {
		return nil, err
	}
	sz, err := parseInts("sizes", o.Sizes)
	if err != nil {
		return nil, err
	}
	sq, err := parseInts("attn-seq", o.AttnSeqs)
	if err != nil {
		return nil, err
	}
	var dts []model.DType
	for _, f := range strings.Split(o.DTypes, ",") {
		dt, err := model.ParseDType(f)
		if err != nil {
			return nil, fmt.Errorf("--dtype: %w", err)
		}
		dts = append(dts, dt)
	}
	var cfg model.Config
	switch o.Model {
	case "gpt2":
		cfg = model.GPT2Small()
	case "tiny":
		cfg = model.Tiny()
	default:
		return nil, fmt.Errorf("--model: unknown model %q (want gpt2 or tiny)", o.Model)
	}
	for _, p := range []struct {
		name string
		v    int
	}{{"steps", o.Steps}, {"batch", o.Batch}, {"seq", o.Seq}, {"gen-tokens", o.GenTokens}, {"gen-rounds", o.GenRounds}, {"attn-d", o.AttnD}, {"attn-heads", o.AttnHeads}} {
		if p.v <= 0 {
			return nil, fmt.Errorf("--%s must be positive, got %d", p.name, p.v)
		}
	}
	if o.AttnD%o.AttnHeads != 0 {
		return nil, fmt.Errorf("--attn-heads %d must divide --attn-d %d", o.AttnHeads, o.AttnD)
	}
	if o.PromptTokens < 0 {
		return nil, fmt.Errorf("--prompt-tokens must be >= 0, got %d", o.PromptTokens)
	}
	if o.PromptSteps && o.PromptTokens == 0 {
		return nil, errors.New("--prompt-steps times a prompt: it needs --prompt-tokens above 0")
	}
	if o.GenRounds > maxBenchSteps {
		return nil, fmt.Errorf("--gen-rounds must be at most %d, got %d", maxBenchSteps, o.GenRounds)
	}
	if o.MinTime <= 0 {
		return nil, fmt.Errorf("--min-time must be positive, got %v", o.MinTime)
	}
	if err := checkBenchSizes(sel, sz, sq, o.AttnD, cfg, o.Batch, o.Seq, o.Steps, o.GenTokens, o.PromptTokens, memoryLimit()); err != nil {
		return nil, err
	}
	if err := applyThreads(o.Threads); err != nil {
		return nil, err
	}
	threads := kernels.Threads()
	progress := func(format string, a ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", a...) }

	var r benchReport
	r.Date = time.Now().Format(time.RFC3339)
	r.CPU.Accel = kernels.Accel()
	r.CPU.NumCPU = runtime.NumCPU()
	r.Threads = threads
	for _, p := range benchParts {
		if sel[p] {
			r.Parts = append(r.Parts, p)
		}
	}
	if sel["fma"] {
		progress("fma peak (1 core, %v per vector width)", o.FMATime)
		r.FMAPeaks = speed.FMAPeaks(o.FMATime)
		g := 0.0
		if len(r.FMAPeaks) > 0 {
			g, r.FMAPeakISA = r.FMAPeaks[0].GFLOPS, r.FMAPeaks[0].ISA
		}
		r.FMAPeakGFLOPS = &g
	}
	if sel["gemm"] {
		shapes := speed.SquareShapes(sz)
		if o.GPT2Shapes {
			shapes = append(shapes, speed.GPT2StepShapes(256)...)
		}
		for _, s := range shapes {
			progress("gemm %s %dx%dx%d", s.Form, s.M, s.N, s.K)
			res, err := speed.GEMM([]speed.Shape{s}, threads, o.MinTime)
			if err != nil {
				return nil, err
			}
			r.GEMM = append(r.GEMM, res...)
		}
	}
	if sel["attention"] {
		for _, n := range sq {
			progress("attention n %d", n)
			res, err := speed.Attention([]int{n}, o.AttnD, o.AttnHeads, 1, threads, o.MinTime)
			if err != nil {
				return nil, err
			}
			r.Attention = append(r.Attention, res...)
		}
	}
	if sel["train"] {
		progress("train step, %s shape, B=%d T=%d, %d steps + 1 warmup", o.Model, o.Batch, o.Seq, o.Steps)
		tr, err := speed.TrainStep(cfg, o.Batch, o.Seq, o.Steps, threads)
		if err != nil {
			return nil, err
		}
		r.TrainModel = o.Model
		r.Train = &tr
		r.TrainStepMS, r.TrainTokensPerS = &tr.StepMS, &tr.TokensPerS
	}
	if sel["generate"] {
		names := []string{o.Model}
		if o.Model != "tiny" {
			names = append(names, "tiny")
		}
		for _, name := range names {
			c := model.Tiny()
			if name == "gpt2" {
				c = model.GPT2Small()
			}
			progress("generate %d tokens, %s shape, %s weights side by side, best of %d rounds", o.GenTokens, name, o.DTypes, o.GenRounds)
			gs, err := speed.GenerateDTypes(c, dts, o.GenTokens, threads, o.GenRounds)
			if err != nil {
				return nil, err
			}
			for i, g := range gs {
				dt := dts[i]
				g.Model = name
				r.Generate = append(r.Generate, g)
				v := g.TokensPerS
				if name == o.Model && (dt == model.F32 || r.GenerateTokensPerS == nil) {
					r.GenerateTokensPerS = &v
				}
				if name == "tiny" && (dt == model.F32 || r.GenerateTinyTokensPerS == nil) {
					r.GenerateTinyTokensPerS = &v
				}
			}
			if o.PromptTokens == 0 {
				continue
			}
			how := "prefilled"
			if o.PromptSteps {
				how = "prefilled and stepped"
			}
			progress("first token after a %d-token prompt (%s), %s shape, %s weights side by side, best of %d rounds", o.PromptTokens, how, name, o.DTypes, o.GenRounds)
			fs, err := speed.FirstToken(c, dts, o.PromptTokens, threads, o.GenRounds, o.PromptSteps)
			if err != nil {
				return nil, err
			}
			for _, f := range fs {
				f.Model = name
				r.FirstToken = append(r.FirstToken, f)
			}
		}
	}

	return &r, nil
}

// maxBenchSteps bounds --steps of bench's training measurement.
const maxBenchSteps = 10000

// checkBenchSizes refuses, before anything runs, measurements whose
// estimated memory exceeds limit (bytes; 0: unknown), with the estimate in
// the message, and counts that would run for days.
func checkBenchSizes(sel map[string]bool, sizes, seqs []int, attnD int, cfg model.Config, batch, seq, steps, genTokens, promptTokens int, limit int64) error {
	tooBig := func(what string, bytes float64) error {
		if limit > 0 && bytes > float64(limit) || bytes > 1<<62 {
			return fmt.Errorf("%s needs about %s, more than this machine's %s", what, textfmt.BytesFloat(bytes, 1), textfmt.Bytes(limit, 1))
		}
		return nil
	}
	if sel["gemm"] {
		for _, n := range sizes {
			// A, B and C, and the packed panels of A and B.
			if err := tooBig(fmt.Sprintf("--sizes %d (a %d×%d×%d GEMM)", n, n, n, n), 5*float64(n)*float64(n)*4); err != nil {
				return err
			}
		}
	}
	if sel["attention"] {
		for _, n := range seqs {
			// Q, K, V, the output and their gradients, at width --attn-d.
			if err := tooBig(fmt.Sprintf("--attn-seq %d (attention at d %d)", n, attnD), 8*float64(n)*float64(attnD)*4); err != nil {
				return err
			}
		}
	}
	if sel["train"] {
		if steps > maxBenchSteps {
			return fmt.Errorf("--steps must be at most %d, got %d", maxBenchSteps, steps)
		}
		c := cfg
		c.MaxSeq = max(c.MaxSeq, seq)
		if err := checkTrainMemory(c, seq, batch, limit); err != nil {
			return err
		}
	}
	if sel["generate"] {
		for _, c := range []model.Config{cfg, model.Tiny()} {
			n := max(genTokens, promptTokens)
			c.MaxSeq = max(c.MaxSeq, n) // as speed.Generate and speed.FirstToken size the model
			s := cost.ForModel(c)
			if err := s.CheckCountable([]int{1}, 1); err != nil {
				return fmt.Errorf("--gen-tokens %d / --prompt-tokens %d: %w", genTokens, promptTokens, err)
			}
			kv := 2 * float64(c.Layers) * float64(n) * float64(c.DModel) * 4
			// One model per dtype side by side (float32, bf16 and int8 weights
			// together hold 1.75× the float32 bytes), plus the parameters and
			// gradients of the one being converted: at most 3× in all.
			if err := tooBig(fmt.Sprintf("--gen-tokens %d / --prompt-tokens %d", genTokens, promptTokens), 3*float64(s.Memory(1, 1).Params)+3*kv); err != nil {
				return err
			}
		}
	}
	return nil
}

// printBench writes the report as readable tables.
func printBench(w io.Writer, r *benchReport) {
	fmt.Fprintf(w, "tformer bench  %s  kernels %s, %d CPUs, %d threads\n", r.Date, r.CPU.Accel, r.CPU.NumCPU, r.Threads)
	// A GEMM's share of the machine is against the FMA limit of the
	// instructions its kernels use (the widest one if none matches).
	peak := 0.0
	if r.FMAPeakGFLOPS != nil {
		peak = *r.FMAPeakGFLOPS
		var parts []string
		for _, p := range r.FMAPeaks {
			parts = append(parts, fmt.Sprintf("%.1f GFLOP/s with %d-bit FMAs (%s)", p.GFLOPS, p.Bits, p.ISA))
			if p.ISA == r.CPU.Accel {
				peak = p.GFLOPS
			}
		}
		if len(parts) == 0 {
			parts = []string{fmt.Sprintf("%.1f GFLOP/s", peak)}
		}
		fmt.Fprintf(w, "\nFMA peak (1 core): %s\n", strings.Join(parts, "; "))
	}
	if len(r.GEMM) > 0 {
		fmt.Fprintln(w, "\nGEMM (fp32, best of 3)")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		head := "shape\tm\tn\tk\tform\tthreads\tms/call\tGFLOP/s\t"
		if peak > 0 {
			head += "% of peak·threads\t"
		}
		fmt.Fprintln(tw, head)
		for _, g := range r.GEMM {
			line := fmt.Sprintf("%s\t%d\t%d\t%d\t%s\t%d\t%.3f\t%.1f\t", g.Label, g.M, g.N, g.K, g.Form, g.Threads, g.Seconds*1e3, g.GFLOPS)
			if peak > 0 {
				line += fmt.Sprintf("%.0f%%\t", 100*g.GFLOPS/(peak*float64(g.Threads)))
			}
			fmt.Fprintln(tw, line)
		}
		tw.Flush()
	}
	if len(r.Attention) > 0 {
		fmt.Fprintln(w, "\nAttention forward+backward (causal, batch 1, best of 3)")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "n\td\theads\tthreads\tms/call\tGFLOP/s\t")
		for _, a := range r.Attention {
			fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%.3f\t%.1f\t\n", a.Seq, a.D, a.Heads, a.Threads, a.Seconds*1e3, a.GFLOPS)
		}
		tw.Flush()
	}
	if t := r.Train; t != nil {
		fmt.Fprintf(w, "\nTraining step (%s shape, %s params, B=%d, T=%d, clip 1 + AdamW, %d threads)\n", r.TrainModel, humanCount(t.Params), t.Batch, t.Seq, t.Threads)
		steps := make([]string, len(t.StepsMS))
		for i, s := range t.StepsMS {
			steps[i] = fmt.Sprintf("%.0f", s)
		}
		fmt.Fprintf(w, "  step %.1f ms (median of %s ms; warmup %.0f ms)  %.0f tokens/s  %.1f GFLOP/s fwd+bwd\n",
			t.StepMS, strings.Join(steps, ", "), t.WarmupStepMS, t.TokensPerS, t.GFLOPS)
	}
	if len(r.Generate) > 0 {
		fmt.Fprintln(w, "\nGeneration (KV cache, greedy, 1-token prompt)")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "model\tparams\tdtype\tweights\tkernels\ttokens\tthreads\tseconds\ttokens/s\t")
		for _, g := range r.Generate {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%.3f\t%.1f\t\n", g.Model, humanCount(g.Params), g.DType, textfmt.Bytes(g.WeightBytes, 1), g.ISA, g.Tokens, g.Threads, g.Seconds, g.TokensPerS)
		}
		tw.Flush()
	}
	if len(r.FirstToken) > 0 {
		fmt.Fprintf(w, "\nTime to first token (%d-token prompt, KV cache, best round)\n", r.FirstToken[0].PromptTokens)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "model\tdtype\tprompt fed by\tthreads\tms\tprompt tokens/s\tGFLOP/s\tvs step\t")
		step := map[string]float64{}
		for _, f := range r.FirstToken {
			if f.Method == "step" {
				step[f.Model+"/"+f.DType] = f.Seconds
			}
		}
		for _, f := range r.FirstToken {
			vs := ""
			if s, ok := step[f.Model+"/"+f.DType]; ok {
				vs = fmt.Sprintf("%.1f×", s/f.Seconds)
			}
			gf := ""
			if f.GFLOPS > 0 {
				gf = fmt.Sprintf("%.1f", f.GFLOPS)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.1f\t%.0f\t%s\t%s\t\n", f.Model, f.DType, f.Method, f.Threads, f.Seconds*1e3, f.PromptTokensPerS, gf, vs)
		}
		tw.Flush()
	}
}

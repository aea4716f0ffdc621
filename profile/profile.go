// Package profile measures where tformer's engine spends its time. It runs
// the model's forward (and backward) pass on random tokens across sequence
// lengths and reports, per component, the measured wall time, the achieved
// GFLOP/s and the measured share of time beside the analytical share of
// FLOPs from package cost — so one sees where reality departs from the FLOP
// count: memory-bound softmax, layer norms and GELU, a naive attention
// kernel, matmuls too small to run at full speed.
//
// Times come from kernels.Counter with Timing set, which charges the wall
// time between consecutive kernel calls to the call that just finished.
// Two consequences shape the report:
//
//   - The attention kernels compute QKᵀ, the softmax and AV in one fused
//     loop and record the three components one after another at its end, so
//     their time cannot be split: the report has one measured row, "attention
//     core (fused)", beside the summed FLOP share of scores, softmax and av.
//   - The residual adds are fused into the output projections (attn_out,
//     ffn_down), and so are counted and timed there.
//
// Each measurement is repeated and the median taken per component, as the
// machines this runs on are shared and noisy. The counted FLOPs are checked
// against cost's analytical ones; a mismatch becomes a warning in the report.
package profile

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"

	"github.com/tformer/tformer/cost"
	"github.com/tformer/tformer/internal/textfmt"
	"github.com/tformer/tformer/kernels"
	"github.com/tformer/tformer/model"
)

// MaxReps bounds the repetitions (measured or warmup) per shape.
const MaxReps = 10000

// DefaultMaxMem is the default limit on the estimated memory of one
// measurement (parameters, gradients and activations, including the
// attention's B·H·n log-sum-exp values per layer): 8 GiB.
const DefaultMaxMem = 8 << 30

// DefaultSeqs are the sequence lengths profiled when none are given.
func DefaultSeqs() []int { return []int{64, 128, 256, 512} }

// Options select what Run measures.
type Options struct {
	Seqs   []int  // sequence lengths n (DefaultSeqs when empty)
	Batch  int    // sequences per batch B (1 when 0)
	Warmup int    // unmeasured passes before the measured ones (negative: 0)
	Reps   int    // measured passes; the median is reported (1 when 0)
	Train  bool   // forward and backward (a training step without the optimizer); false: forward only
	MaxMem int64  // refuse shapes whose estimated memory exceeds this many bytes (DefaultMaxMem when 0)
	Seed   uint64 // seed for the weights and the random tokens

	// Progress, when not nil, is called before each sequence length is
	// measured (i counts from 0 of total) with the shape's memory estimate.
	Progress func(i, total, seq int, mem int64)
}

// Group is one row of a profile: a component of the engine, or several that
// one fused kernel records together.
type Group struct {
	Name  string              // as printed
	Key   string              // snake_case, for JSON and CSV
	Parts []kernels.Component // the counter components it sums
}

// Groups lists the rows of a profile in report order: every counter
// component, with the attention core (scores, softmax, av) as one row since
// its kernels are fused. Rows without FLOPs or time in any measured shape
// are left out of a Report.
func Groups() []Group {
	c := func(cs ...kernels.Component) []kernels.Component { return cs }
	named := []Group{
		{"embedding", "embedding", c(kernels.Embedding)},
		{"qkv", "qkv", c(kernels.QKV)},
		{"attention core (fused)", "attention_core", c(kernels.Scores, kernels.Softmax, kernels.AV)},
		{"attn_out (+residual)", "attn_out", c(kernels.AttnOut)},
		{"ffn_up", "ffn_up", c(kernels.FFNUp)},
		{"gelu", "gelu", c(kernels.GELU)},
		{"ffn_down (+residual)", "ffn_down", c(kernels.FFNDown)},
		{"layernorm", "layernorm", c(kernels.LayerNorm)},
		{"logits", "logits", c(kernels.Logits)},
		{"loss", "loss", c(kernels.Loss)},
	}
	var seen [kernels.NumComponents]bool
	for _, g := range named {
		for _, k := range g.Parts {
			seen[k] = true
		}
	}
	for _, k := range kernels.Components() {
		if !seen[k] { // components added to the engine later get a row of their own
			named = append(named, Group{k.String(), k.String(), c(k)})
		}
	}
	return named
}

// OtherKey names the row of time spent inside Forward and Backward but
// outside the kernels' timed spans (input checks and setup before the first
// kernel; work between two kernels, such as clearing a gradient buffer, is
// charged to the kernel that follows it). It has no FLOPs.
const OtherKey = "other"

// Pass is one pass's measurement of a row.
type Pass struct {
	Seconds float64 `json:"seconds"` // median wall time
	FLOPs   int64   `json:"flops"`   // FLOPs the engine counted
	GFLOPS  float64 `json:"gflops"`  // FLOPs / seconds / 1e9 (0 without FLOPs or time)
}

// Row is one component (or fused group) at one sequence length.
type Row struct {
	Name     string   `json:"name"`
	Key      string   `json:"key"`
	Parts    []string `json:"parts"`              // counter components summed into the row
	Forward  Pass     `json:"forward"`            // median forward time, counted FLOPs
	Backward *Pass    `json:"backward,omitempty"` // with Train
	Seconds  float64  `json:"seconds"`            // forward + backward medians
	FLOPs    int64    `json:"flops"`              // forward + backward counted FLOPs
	GFLOPS   float64  `json:"gflops"`             // FLOPs / Seconds / 1e9
	// TimeShare is the row's share of the measured time; FLOPShare its share
	// of the analytical FLOPs (cost package) of the same passes. Ratio is
	// TimeShare / FLOPShare: above 1 the row is slower per FLOP than the
	// step as a whole.
	TimeShare float64 `json:"time_share"`
	FLOPShare float64 `json:"flop_share"`
	Ratio     float64 `json:"time_flop_ratio"`
}

// Seq is the profile at one sequence length.
type Seq struct {
	Seq   int   `json:"seq"`
	Batch int   `json:"batch"`
	Rows  []Row `json:"rows"` // Groups() order, then OtherKey
	// ForwardSeconds, BackwardSeconds and StepSeconds are medians of the
	// whole passes' wall time (StepSeconds of forward + backward per rep).
	ForwardSeconds  float64 `json:"forward_seconds"`
	BackwardSeconds float64 `json:"backward_seconds,omitempty"`
	StepSeconds     float64 `json:"step_seconds"`
	TokensPerSecond float64 `json:"tokens_per_second"`
	FLOPs           int64   `json:"flops"`  // analytical FLOPs of the measured passes
	GFLOPS          float64 `json:"gflops"` // FLOPs / StepSeconds / 1e9
	MemoryBytes     int64   `json:"memory_bytes"`
	FLOPsMatch      bool    `json:"flops_match"` // counted FLOPs equal cost's analytical ones
}

// Report is a whole profile; its JSON form is the output of
// `tformer profile --format json`.
type Report struct {
	Model    model.Config `json:"model"`
	Batch    int          `json:"batch"`
	Warmup   int          `json:"warmup"`
	Reps     int          `json:"reps"`
	Train    bool         `json:"train"`
	Threads  int          `json:"threads"`
	GOARCH   string       `json:"goarch"`
	Notes    []string     `json:"notes"`
	Warnings []string     `json:"warnings"`
	PerSeq   []Seq        `json:"per_seq"`
	// Crossover compares MHA with the FFN across the profiled lengths, in
	// measured time and in FLOPs.
	Crossover *Crossover `json:"crossover,omitempty"`
}

// Notes printed with every report.
var notes = []string{
	"time: median over the measured reps of the wall time between consecutive kernel calls, charged to the call that finished",
	"attention core (fused): QKᵀ, softmax and AV run in one fused loop per head, so only their sum is measured; its FLOP share is scores + softmax + av",
	"attn_out and ffn_down include the residual add fused into them",
	"FLOP share: cost's analytical FLOPs (equal to the engine's counters); a matmul is 2·m·k·n FLOPs, causal attention counts n(n+1)/2 pairs per head",
	"other: time inside Forward/Backward before the first kernel (input checks); work between two kernels, such as clearing a gradient buffer, is charged to the kernel after it",
}

// Run profiles cfg at each sequence length of seqs with batch sequences per
// pass, warmup unmeasured and reps measured repetitions, forward only or
// (train) forward and backward. See RunOptions.
func Run(cfg model.Config, seqs []int, batch, warmup, reps int, train bool) (*Report, error) {
	return RunOptions(cfg, Options{Seqs: seqs, Batch: batch, Warmup: warmup, Reps: reps, Train: train})
}

// Estimate returns the memory in bytes one measurement of cfg at (batch,
// seq) allocates, following cost's estimate: parameters, gradients and
// activations (with the attention's log-sum-exp values); no optimizer state.
func Estimate(cfg model.Config, seq, batch int) int64 {
	m := cost.ForModel(cfg).Memory(seq, batch)
	return m.Params + m.Grads + m.Activations + m.AttentionLSE
}

// RunOptions profiles cfg as o says. It refuses, before running anything,
// shapes whose estimated memory exceeds o.MaxMem. The model's context is
// raised to the longest sequence requested when that is beyond it.
func RunOptions(cfg model.Config, o Options) (*Report, error) {
	if len(o.Seqs) == 0 {
		o.Seqs = DefaultSeqs()
	}
	if o.Batch == 0 {
		o.Batch = 1
	}
	if o.Reps == 0 {
		o.Reps = 1
	}
	o.Warmup = max(o.Warmup, 0)
	if o.MaxMem == 0 {
		o.MaxMem = DefaultMaxMem
	}
	if o.Batch < 0 || o.Reps < 0 {
		return nil, fmt.Errorf("profile: batch (%d) and reps (%d) must be positive", o.Batch, o.Reps)
	}
	if o.Reps > MaxReps || o.Warmup > MaxReps {
		return nil, fmt.Errorf("profile: reps (%d) and warmup (%d) must be at most %d", o.Reps, o.Warmup, MaxReps)
	}
	if cfg.Share == "" {
		cfg.Share = model.ShareNone
	}
	if cfg.Groups == 0 {
		cfg.Groups = 1
	}
	longest := 0
	for _, n := range o.Seqs {
		if n <= 0 {
			return nil, fmt.Errorf("profile: sequence length must be positive, got %d", n)
		}
		if n > 1<<20 || o.Batch > 1<<40/n || int64(n)*int64(n) > (1<<40)/int64(o.Batch) {
			return nil, fmt.Errorf("profile: sequence length %d at batch %d is too large", n, o.Batch)
		}
		longest = max(longest, n)
	}
	if cfg.MaxSeq < longest {
		cfg.MaxSeq = longest
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := cost.ForModel(cfg).CheckCountable(o.Seqs, o.Batch); err != nil {
		return nil, fmt.Errorf("profile: the model is too large: %w", err)
	}
	for _, n := range o.Seqs {
		if mem := Estimate(cfg, n, o.Batch); mem > o.MaxMem {
			return nil, fmt.Errorf("profile: n=%d at batch %d needs about %s, over the limit of %s; lower the batch or the sequence length, or raise the limit",
				n, o.Batch, textfmt.Bytes(mem, 1), textfmt.Bytes(o.MaxMem, 1))
		}
	}

	m, err := model.New(cfg)
	if err != nil {
		return nil, err
	}
	m.Init(o.Seed)
	r := &Report{Model: cfg, Batch: o.Batch, Warmup: o.Warmup, Reps: o.Reps, Train: o.Train,
		Threads: kernels.Threads(), GOARCH: runtime.GOARCH, Notes: notes, Warnings: []string{}}
	rng := rand.New(rand.NewPCG(o.Seed, 0x70726f66))
	for i, n := range o.Seqs {
		if o.Progress != nil {
			o.Progress(i, len(o.Seqs), n, Estimate(cfg, n, o.Batch))
		}
		s, warn, err := measure(m, rng, n, o)
		if err != nil {
			return nil, err
		}
		r.Warnings = append(r.Warnings, warn...)
		r.PerSeq = append(r.PerSeq, s)
		runtime.GC() // let this shape's activations go before the next one's
	}
	r.prune()
	r.Crossover = r.crossover()
	return r, nil
}

// prune drops the rows that have neither FLOPs nor time at any length
// (components the model does not have), keeping "other".
func (r *Report) prune() {
	if len(r.PerSeq) == 0 {
		return
	}
	keep := make([]bool, len(r.PerSeq[0].Rows))
	for _, s := range r.PerSeq {
		for i, row := range s.Rows {
			keep[i] = keep[i] || row.Key == OtherKey || row.FLOPs != 0 || row.FLOPShare != 0 || row.Seconds != 0
		}
	}
	for j := range r.PerSeq {
		var rows []Row
		for i, row := range r.PerSeq[j].Rows {
			if keep[i] {
				rows = append(rows, row)
			}
		}
		r.PerSeq[j].Rows = rows
	}
}

// sample is one measured repetition.
type sample struct {
	comp     [2][kernels.NumComponents]time.Duration
	fwd, bwd time.Duration
	counted  [2][kernels.NumComponents]int64
}

func measure(m *model.Model, rng *rand.Rand, n int, o Options) (Seq, []string, error) {
	c := m.Config
	B := o.Batch
	tokens, targets := make([]int32, B*n), make([]int32, B*n)
	for i := range tokens {
		tokens[i], targets[i] = int32(rng.IntN(c.Vocab)), int32(rng.IntN(c.Vocab))
	}
	cnt := &kernels.Counter{Timing: true}
	m.Flops = cnt
	defer func() { m.Flops = nil }()
	forward := func() error {
		_, err := m.Forward(tokens, targets, B, n)
		return err
	}
	if c.IsEncoder() {
		// Masked LM as the engine trains it: max(1, round(0.15·n)) positions per
		// sequence are masked, and the head and loss run on those rows only.
		for i := range tokens {
			tokens[i] = int32(rng.IntN(c.Vocab - 1)) // never [MASK], the last id
		}
		pos, tgt, err := model.NewMasker(c).Mask(rng, tokens, B, n, nil, nil, nil)
		if err != nil {
			return Seq{}, nil, fmt.Errorf("profile n=%d: %w", n, err)
		}
		batch := model.MLMBatch{B: B, T: n, Tokens: tokens, Positions: pos, Targets: tgt}
		forward = func() error {
			_, err := m.ForwardMLM(batch)
			return err
		}
	}
	step := func() (sample, error) {
		var s sample
		cnt.Reset()
		t0 := time.Now()
		if err := forward(); err != nil {
			return s, err
		}
		s.fwd = time.Since(t0)
		if o.Train {
			m.ZeroGrad()
			t1 := time.Now()
			if err := m.Backward(); err != nil {
				return s, err
			}
			s.bwd = time.Since(t1)
		}
		for _, p := range []kernels.Pass{kernels.Forward, kernels.Backward} {
			for _, k := range kernels.Components() {
				s.comp[p][k] = cnt.Time(p, k)
				s.counted[p][k] = cnt.Get(p, k)
			}
		}
		return s, nil
	}
	for range o.Warmup {
		if _, err := step(); err != nil {
			return Seq{}, nil, fmt.Errorf("profile n=%d: %w", n, err)
		}
	}
	samples := make([]sample, o.Reps)
	for i := range samples {
		s, err := step()
		if err != nil {
			return Seq{}, nil, fmt.Errorf("profile n=%d: %w", n, err)
		}
		samples[i] = s
	}
	return summarise(c, n, o, samples)
}

// summarise takes medians over the samples and builds the rows.
func summarise(c model.Config, n int, o Options, samples []sample) (Seq, []string, error) {
	an := cost.ForModel(c).FLOPs(n, o.Batch, !c.IsEncoder())
	analytic := [2]cost.Counts{an.Forward, an.Backward}
	passes := []kernels.Pass{kernels.Forward}
	if o.Train {
		passes = append(passes, kernels.Backward)
	}
	var warn []string
	counted := samples[0].counted
	match := true
	for _, p := range passes {
		for _, k := range kernels.Components() {
			if counted[p][k] != analytic[p][k] {
				match = false
				warn = append(warn, fmt.Sprintf("n=%d: the engine counted %d %s FLOPs for %s, the cost model says %d", n, counted[p][k], p, k, analytic[p][k]))
			}
		}
	}
	for _, s := range samples[1:] {
		if s.counted != counted {
			match = false
			warn = append(warn, fmt.Sprintf("n=%d: the engine's FLOP counts differ between repetitions", n))
			break
		}
	}
	med := func(f func(sample) time.Duration) float64 {
		v := make([]time.Duration, len(samples))
		for i, s := range samples {
			v[i] = f(s)
		}
		return median(v).Seconds()
	}
	var totalFLOPs int64
	for _, p := range passes {
		totalFLOPs += analytic[p].Total()
	}
	out := Seq{Seq: n, Batch: o.Batch, FLOPs: totalFLOPs, MemoryBytes: Estimate(c, n, o.Batch), FLOPsMatch: match}
	out.ForwardSeconds = med(func(s sample) time.Duration { return s.fwd })
	if o.Train {
		out.BackwardSeconds = med(func(s sample) time.Duration { return s.bwd })
	}
	out.StepSeconds = med(func(s sample) time.Duration { return s.fwd + s.bwd })
	var sumTime float64
	for _, g := range Groups() {
		row := Row{Name: g.Name, Key: g.Key}
		var an int64
		for _, k := range g.Parts {
			row.Parts = append(row.Parts, k.String())
		}
		for _, p := range passes {
			ps := Pass{Seconds: med(func(s sample) time.Duration {
				var t time.Duration
				for _, k := range g.Parts {
					t += s.comp[p][k]
				}
				return t
			})}
			for _, k := range g.Parts {
				ps.FLOPs += counted[p][k]
				an += analytic[p][cost.Component(k)]
			}
			ps.GFLOPS = gflops(ps.FLOPs, ps.Seconds)
			if p == kernels.Forward {
				row.Forward = ps
			} else {
				row.Backward = &ps
			}
			row.Seconds += ps.Seconds
			row.FLOPs += ps.FLOPs
		}
		row.GFLOPS = gflops(row.FLOPs, row.Seconds)
		row.FLOPShare = float64(an) / float64(totalFLOPs)
		sumTime += row.Seconds
		out.Rows = append(out.Rows, row)
	}
	// Time outside the kernels: each pass's wall time less its kernels' time.
	other := Row{Name: "other (outside kernels)", Key: OtherKey, Parts: []string{}}
	for _, p := range passes {
		ps := Pass{Seconds: med(func(s sample) time.Duration {
			wall := s.fwd
			if p == kernels.Backward {
				wall = s.bwd
			}
			for _, t := range s.comp[p] {
				wall -= t
			}
			return max(wall, 0)
		})}
		if p == kernels.Forward {
			other.Forward = ps
		} else {
			other.Backward = &ps
		}
		other.Seconds += ps.Seconds
	}
	sumTime += other.Seconds
	out.Rows = append(out.Rows, other)
	if sumTime <= 0 {
		return out, warn, errors.New("profile: no time was measured (is the clock working?)")
	}
	for i := range out.Rows {
		r := &out.Rows[i]
		r.TimeShare = r.Seconds / sumTime
		if r.FLOPShare > 0 {
			r.Ratio = r.TimeShare / r.FLOPShare
		}
	}
	if out.StepSeconds > 0 {
		out.TokensPerSecond = float64(o.Batch*n) / out.StepSeconds
		out.GFLOPS = gflops(totalFLOPs, out.StepSeconds)
	}
	return out, warn, nil
}

func gflops(f int64, sec float64) float64 {
	if f == 0 || sec <= 0 {
		return 0
	}
	return float64(f) / sec / 1e9
}

// median returns the median of v (the mean of the middle two for even
// lengths); v is reordered.
func median(v []time.Duration) time.Duration {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	h := len(v) / 2
	if len(v)%2 == 1 {
		return v[h]
	}
	return (v[h-1] + v[h]) / 2
}

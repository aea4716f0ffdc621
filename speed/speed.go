// Package speed measures how fast this machine runs tformer's engine: the
// single-core FMA limit, GEMM and attention GFLOP/s, the time of a training
// step, the generation rate with the KV cache and the time to the first
// token after a prompt (prefilled, or fed a step a token). Each measurement is a
// plain function returning a plain struct; `tformer bench` prints them.
package speed

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/tformer/tformer/kernels"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/train"
)

// FMA returns the calling core's measured fp32 FMA limit in GFLOP/s with the
// widest FMA the CPU has (kernels.FMAPeakISA names it), measured for about d
// (0 where no assembly FMA loop exists for this CPU).
func FMA(d time.Duration) float64 { return kernels.FMAPeakGFLOPS(d) }

// FMAPeaks returns the calling core's FMA limit for every vector width the
// CPU runs, widest first, each measured for about d.
func FMAPeaks(d time.Duration) []kernels.FMAPeak { return kernels.FMAPeaks(d) }

// Form is a matrix-product form: "NT", "NN" or "TN" (see kernels.MatMulNT).
type Form string

// The three forms.
const (
	NT Form = "NT"
	NN Form = "NN"
	TN Form = "TN"
)

// Shape is one GEMM to time: c[M×N] from an M×K and a K×N operand in the
// given form.
type Shape struct {
	M, N, K int
	Form    Form
	Label   string // optional, e.g. "gpt2 qkv"
}

// GEMMResult is the best rate of one shape.
type GEMMResult struct {
	M       int     `json:"m"`
	N       int     `json:"n"`
	K       int     `json:"k"`
	Form    Form    `json:"form"`
	Label   string  `json:"label,omitempty"`
	Threads int     `json:"threads"`
	GFLOPS  float64 `json:"gflops"`
	Seconds float64 `json:"seconds_per_call"`
	ISA     string  `json:"isa"`   // kernel set that ran it (kernels.Accel)
	DType   string  `json:"dtype"` // f32: the training kernels' type
}

// SquareShapes returns NT shapes n×n×n for each n.
func SquareShapes(sizes []int) []Shape {
	var s []Shape
	for _, n := range sizes {
		s = append(s, Shape{M: n, N: n, K: n, Form: NT, Label: "square"})
	}
	return s
}

// GPT2StepShapes returns the forward-projection GEMMs of a GPT-2 small
// training step with rows = B·T positions: qkv, attention output, FFN up,
// FFN down and the tied logits.
func GPT2StepShapes(rows int) []Shape {
	return []Shape{
		{M: rows, N: 2304, K: 768, Form: NT, Label: "gpt2 qkv"},
		{M: rows, N: 768, K: 768, Form: NT, Label: "gpt2 attn_out"},
		{M: rows, N: 3072, K: 768, Form: NT, Label: "gpt2 ffn_up"},
		{M: rows, N: 768, K: 3072, Form: NT, Label: "gpt2 ffn_down"},
		{M: rows, N: 50257, K: 768, Form: NT, Label: "gpt2 logits"},
	}
}

// bestRate calls f (one operation of flops FLOPs) once to warm up, then three
// times runs it repeatedly until minTime has passed and returns the best
// GFLOP/s and the matching seconds per call.
func bestRate(flops float64, minTime time.Duration, f func()) (gflops, secs float64) {
	f()
	for range 3 {
		reps := 0
		t0 := time.Now()
		var el time.Duration
		for {
			f()
			reps++
			if el = time.Since(t0); el >= minTime {
				break
			}
		}
		s := el.Seconds() / float64(reps)
		if r := flops / s / 1e9; r > gflops {
			gflops, secs = r, s
		}
	}
	return gflops, secs
}

func randSlice(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = rng.Float32()*2 - 1
	}
	return x
}

// withThreads runs f with kernels.SetThreads(threads) (0: all cores) and
// restores the previous setting, returning the count in effect.
func withThreads(threads int, f func()) int {
	prev := kernels.Threads()
	kernels.SetThreads(threads)
	defer kernels.SetThreads(prev)
	f()
	return kernels.Threads()
}

// GEMM times each shape at the given thread count (0: all cores), repeating
// each call until minTime has passed, best of three, and counting 2·M·N·K
// FLOPs a call.
func GEMM(shapes []Shape, threads int, minTime time.Duration) ([]GEMMResult, error) {
	var out []GEMMResult
	var err error
	withThreads(threads, func() {
		rng := rand.New(rand.NewPCG(1, 2))
		for _, s := range shapes {
			if s.M <= 0 || s.N <= 0 || s.K <= 0 {
				err = fmt.Errorf("gemm: dimensions must be positive, got %dx%dx%d", s.M, s.N, s.K)
				return
			}
			a := randSlice(rng, s.M*s.K)
			b := randSlice(rng, s.K*s.N)
			c := make([]float32, s.M*s.N)
			var f func()
			switch s.Form {
			case NT, "":
				s.Form = NT
				f = func() { kernels.MatMulNT(c, a, b, s.M, s.N, s.K, false) }
			case NN:
				f = func() { clear(c); kernels.MatMulNN(c, a, b, s.M, s.N, s.K) }
			case TN:
				f = func() { clear(c); kernels.MatMulTN(c, a, b, s.M, s.N, s.K) }
			default:
				err = fmt.Errorf("gemm: unknown form %q (want NT, NN or TN)", s.Form)
				return
			}
			g, sec := bestRate(2*float64(s.M)*float64(s.N)*float64(s.K), minTime, f)
			out = append(out, GEMMResult{M: s.M, N: s.N, K: s.K, Form: s.Form, Label: s.Label,
				Threads: kernels.Threads(), GFLOPS: g, Seconds: sec, ISA: kernels.Accel(), DType: "f32"})
		}
	})
	return out, err
}

// AttentionResult is the forward+backward rate of causal attention at one
// sequence length.
type AttentionResult struct {
	Seq     int     `json:"seq"`
	D       int     `json:"d"`
	Heads   int     `json:"heads"`
	Batch   int     `json:"batch"`
	Threads int     `json:"threads"`
	GFLOPS  float64 `json:"gflops"`
	Seconds float64 `json:"seconds_per_call"`
	ISA     string  `json:"isa"`   // kernel set that ran it (kernels.Accel)
	DType   string  `json:"dtype"` // f32: the training kernels' type
}

// Attention times causal kernels.AttentionForward followed by
// kernels.AttentionBackward at each sequence length n (batch b, width d,
// heads h), counting the FLOPs the kernels report to their Counter.
func Attention(seqs []int, d, heads, b, threads int, minTime time.Duration) ([]AttentionResult, error) {
	if d <= 0 || heads <= 0 || b <= 0 || d%heads != 0 {
		return nil, fmt.Errorf("attention: need positive d, heads and batch with heads dividing d, got d %d, heads %d, batch %d", d, heads, b)
	}
	var out []AttentionResult
	var err error
	withThreads(threads, func() {
		rng := rand.New(rand.NewPCG(3, 4))
		for _, n := range seqs {
			if n <= 0 {
				err = fmt.Errorf("attention: sequence length must be positive, got %d", n)
				return
			}
			qkv := randSlice(rng, b*n*3*d)
			dout := randSlice(rng, b*n*d)
			o := make([]float32, b*n*d)
			lse := make([]float32, b*heads*n)
			dqkv := make([]float32, b*n*3*d)
			var cnt kernels.Counter
			kernels.AttentionForward(&cnt, o, lse, qkv, b, n, d, heads, true)
			kernels.AttentionBackward(&cnt, dqkv, dout, qkv, o, lse, b, n, d, heads, true)
			flops := float64(cnt.Total(kernels.Forward) + cnt.Total(kernels.Backward))
			g, sec := bestRate(flops, minTime, func() {
				kernels.AttentionForward(nil, o, lse, qkv, b, n, d, heads, true)
				clear(dqkv)
				kernels.AttentionBackward(nil, dqkv, dout, qkv, o, lse, b, n, d, heads, true)
			})
			out = append(out, AttentionResult{Seq: n, D: d, Heads: heads, Batch: b, Threads: kernels.Threads(), GFLOPS: g, Seconds: sec, ISA: kernels.Accel(), DType: "f32"})
		}
	})
	return out, err
}

// TrainResult is the time of a full training step (forward, backward, AdamW).
type TrainResult struct {
	Batch        int       `json:"batch"`
	Seq          int       `json:"seq"`
	Params       int64     `json:"params"`
	Threads      int       `json:"threads"`
	StepMS       float64   `json:"step_ms"`        // median over the measured steps
	TokensPerS   float64   `json:"tokens_per_s"`   // B·T / median step time
	GFLOPS       float64   `json:"gflops"`         // forward+backward FLOPs the engine counts / median step time
	StepsMS      []float64 `json:"steps_ms"`       // every measured step
	Loss         float32   `json:"loss"`           // loss of the last step (≈ ln vocab at init)
	WarmupStepMS float64   `json:"warmup_step_ms"` // the first, unmeasured step
	ISA          string    `json:"isa"`            // kernel set that ran it (kernels.Accel)
	DType        string    `json:"dtype"`          // f32: training runs in float32
}

// TrainStep builds a model of config c with random weights and times steps
// training steps on random tokens at batch b and sequence length t — each one
// ZeroGrad, Forward with targets, Backward, and an AdamW update with the
// gradient clipped to norm 1 (as the trainer does) — after one
// warmup step, reporting the median.
func TrainStep(c model.Config, b, t, steps, threads int) (TrainResult, error) {
	if b <= 0 || t <= 0 || steps <= 0 {
		return TrainResult{}, fmt.Errorf("train: batch, sequence length and steps must be positive, got %d, %d, %d", b, t, steps)
	}
	if c.MaxSeq < t {
		c.MaxSeq = t
	}
	m, err := model.New(c)
	if err != nil {
		return TrainResult{}, err
	}
	m.Init(1)
	cnt := &kernels.Counter{}
	m.Flops = cnt
	rng := rand.New(rand.NewPCG(5, 6))
	vocab := m.Config.Vocab
	if m.Config.IsEncoder() {
		return TrainResult{}, fmt.Errorf("train: the step benchmark needs a decoder config")
	}
	toks := make([]int32, b*t)
	tgts := make([]int32, b*t)
	for i := range toks {
		toks[i] = int32(rng.IntN(vocab))
		tgts[i] = int32(rng.IntN(vocab))
	}
	opt := train.NewAdamW(m, 0.9, 0.95, 1e-8, 0.1)
	res := TrainResult{Batch: b, Seq: t, Params: int64(len(m.Params)), DType: "f32"}
	var flops int64
	withThreads(threads, func() {
		res.Threads = kernels.Threads()
		res.ISA = kernels.Accel()
		for i := 0; i <= steps && err == nil; i++ {
			cnt.Reset()
			t0 := time.Now()
			m.ZeroGrad()
			var loss float32
			if loss, err = m.Forward(toks, tgts, b, t); err != nil {
				return
			}
			if err = m.Backward(); err != nil {
				return
			}
			opt.StepClipped(m.Params, m.Grads, 3e-4, i+1, 1)
			ms := float64(time.Since(t0)) / 1e6
			res.Loss = loss
			if i == 0 {
				res.WarmupStepMS = ms
				continue
			}
			res.StepsMS = append(res.StepsMS, ms)
			flops = cnt.Total(kernels.Forward) + cnt.Total(kernels.Backward)
		}
	})
	if err != nil {
		return TrainResult{}, err
	}
	res.StepMS = median(res.StepsMS)
	res.TokensPerS = float64(b*t) / (res.StepMS / 1e3)
	res.GFLOPS = float64(flops) / (res.StepMS / 1e3) / 1e9
	return res, nil
}

func median(x []float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// GenerateResult is the decoding rate with the KV cache.
type GenerateResult struct {
	Model      string  `json:"model,omitempty"`
	Params     int64   `json:"params"`
	Tokens     int     `json:"tokens"`
	Threads    int     `json:"threads"`
	Seconds    float64 `json:"seconds"`
	TokensPerS float64 `json:"tokens_per_s"`
	ISA        string  `json:"isa"`   // kernel set that ran it (kernels.Accel)
	DType      string  `json:"dtype"` // weight type: f32, bf16 or int8
	// WeightBytes is the memory of the stored weights in that type.
	WeightBytes int64 `json:"weight_bytes"`
	// Rounds is every round's tokens/s when several were run
	// (GenerateDTypes); Seconds and TokensPerS are the fastest round's.
	Rounds []float64 `json:"rounds_tokens_per_s,omitempty"`
}

// Generate builds a model of config c with random weights in dtype dt and
// times greedy generation of tokens tokens after a one-token prompt with
// model.Decoder: tokens Step calls (the prompt's, then each generated
// token's but the last), each followed by an argmax over the logits. One
// untimed Step warms up the decoder first.
func Generate(c model.Config, dt model.DType, tokens, threads int) (GenerateResult, error) {
	r, err := GenerateDTypes(c, []model.DType{dt}, tokens, threads, 1)
	if err != nil {
		return GenerateResult{}, err
	}
	return r[0], nil
}

// GenerateDTypes is Generate for several weight types side by side: one
// model with the same random weights per dtype, then rounds rounds in each
// of which every dtype generates tokens tokens in turn (the order rotating
// from round to round), so a neighbour's load falls on all of them; each
// result is its dtype's fastest round (Seconds and TokensPerS; Rounds holds
// every round's tokens/s).
func GenerateDTypes(c model.Config, dts []model.DType, tokens, threads, rounds int) ([]GenerateResult, error) {
	if tokens <= 0 {
		return nil, fmt.Errorf("generate: tokens must be positive, got %d", tokens)
	}
	if rounds <= 0 || len(dts) == 0 {
		return nil, fmt.Errorf("generate: need at least one dtype and one round, got %d and %d", len(dts), rounds)
	}
	if c.MaxSeq < tokens {
		c.MaxSeq = tokens
	}
	decs := make([]*model.Decoder, len(dts))
	res := make([]GenerateResult, len(dts))
	for i, dt := range dts {
		m, err := model.New(c)
		if err != nil {
			return nil, err
		}
		m.Init(1)
		if err := m.Quantize(dt); err != nil {
			return nil, err
		}
		decs[i] = m.NewDecoder()
		res[i] = GenerateResult{Params: int64(m.Layout.Total), Tokens: tokens, DType: dt.String(), WeightBytes: m.WeightBytes()}
	}
	var err error
	withThreads(threads, func() {
		for i, dec := range decs {
			res[i].Threads = kernels.Threads()
			res[i].ISA = kernels.Accel()
			if _, err = dec.Step(0); err != nil {
				return
			}
		}
		err = rotatingRounds(len(decs), rounds, func(i int) error {
			dec := decs[i]
			dec.Reset()
			t0 := time.Now()
			tok := int32(0)
			for range tokens {
				logits, err := dec.Step(tok)
				if err != nil {
					return err
				}
				tok = argmax(logits)
			}
			sec := time.Since(t0).Seconds()
			res[i].Rounds = append(res[i].Rounds, float64(tokens)/sec)
			res[i].Seconds = fastest(res[i].Seconds, sec)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	for i := range res {
		res[i].TokensPerS = float64(tokens) / res[i].Seconds
	}
	return res, nil
}

func argmax(x []float32) int32 {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return int32(best)
}

// FirstTokenResult is the time from an empty key/value cache to the first
// generated token after a prompt: the prompt fed to the decoder, then an
// argmax over the logits.
type FirstTokenResult struct {
	Model        string `json:"model,omitempty"`
	Params       int64  `json:"params"`
	DType        string `json:"dtype"` // weight type: f32, bf16 or int8
	PromptTokens int    `json:"prompt_tokens"`
	// Method is "prefill" (model.Decoder.Prefill: batched passes) or
	// "step" (one Decoder.Step a prompt token).
	Method  string  `json:"method"`
	Threads int     `json:"threads"`
	Seconds float64 `json:"seconds"` // the fastest round's time to first token
	// PromptTokensPerS is PromptTokens / Seconds.
	PromptTokensPerS float64   `json:"prompt_tokens_per_s"`
	Rounds           []float64 `json:"rounds_seconds"` // every round's time to first token
	ISA              string    `json:"isa"`            // kernel set that ran it (kernels.Accel)
	// Flops is the forward FLOPs the engine counts for the prompt (prefill
	// only; 0 for step), and GFLOPS Flops / Seconds.
	Flops  int64   `json:"flops,omitempty"`
	GFLOPS float64 `json:"gflops,omitempty"`
}

// FirstToken builds a model of config c with random weights in each dtype
// of dts (as GenerateDTypes does) and times the first token after a prompt
// of promptTokens random tokens: Decoder.Prefill, and with steps also the
// prompt fed one Step a token, side by side. rounds rounds run every
// (dtype, method) pair once each, the order rotating from round to round;
// each result is its pair's fastest round. One untimed prefill warms each
// decoder up (its buffers are allocated once) and counts its FLOPs. The
// results are in dts
// order, the prefill before the step result of each dtype.
func FirstToken(c model.Config, dts []model.DType, promptTokens, threads, rounds int, steps bool) ([]FirstTokenResult, error) {
	if promptTokens <= 0 {
		return nil, fmt.Errorf("first token: the prompt must have at least one token, got %d", promptTokens)
	}
	if rounds <= 0 || len(dts) == 0 {
		return nil, fmt.Errorf("first token: need at least one dtype and one round, got %d and %d", len(dts), rounds)
	}
	if c.MaxSeq < promptTokens {
		c.MaxSeq = promptTokens
	}
	methods := []string{"prefill"}
	if steps {
		methods = append(methods, "step")
	}
	type run struct {
		m      *model.Model
		dec    *model.Decoder
		method string
	}
	var runs []run
	var res []FirstTokenResult
	for _, dt := range dts {
		m, err := model.New(c)
		if err != nil {
			return nil, err
		}
		m.Init(1)
		if err := m.Quantize(dt); err != nil {
			return nil, err
		}
		dec := m.NewDecoder()
		for _, me := range methods {
			runs = append(runs, run{m, dec, me})
			res = append(res, FirstTokenResult{Params: int64(m.Layout.Total), DType: dt.String(), PromptTokens: promptTokens, Method: me})
		}
	}
	rng := rand.New(rand.NewPCG(7, 8))
	prompt := make([]int32, promptTokens)
	for i := range prompt {
		prompt[i] = int32(rng.IntN(c.Vocab))
	}
	first := func(r run) (int32, error) {
		r.dec.Reset()
		if r.method == "prefill" {
			logits, err := r.dec.Prefill(prompt)
			if err != nil {
				return 0, err
			}
			return argmax(logits), nil
		}
		var logits []float32
		var err error
		for _, tok := range prompt {
			if logits, err = r.dec.Step(tok); err != nil {
				return 0, err
			}
		}
		return argmax(logits), nil
	}
	var err error
	withThreads(threads, func() {
		for i, r := range runs {
			res[i].Threads, res[i].ISA = kernels.Threads(), kernels.Accel()
			if r.method == "prefill" {
				// The warm-up, counted.
				cnt := &kernels.Counter{}
				r.m.Flops = cnt
				_, err = first(r)
				r.m.Flops = nil
				if err != nil {
					return
				}
				res[i].Flops = cnt.Total(kernels.Forward)
			}
		}
		err = rotatingRounds(len(runs), rounds, func(i int) error {
			t0 := time.Now()
			if _, err := first(runs[i]); err != nil {
				return err
			}
			sec := time.Since(t0).Seconds()
			res[i].Rounds = append(res[i].Rounds, sec)
			res[i].Seconds = fastest(res[i].Seconds, sec)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	for i := range res {
		res[i].PromptTokensPerS = float64(promptTokens) / res[i].Seconds
		res[i].GFLOPS = float64(res[i].Flops) / res[i].Seconds / 1e9
	}
	return res, nil
}

// rotatingRounds runs case(i) for each of n cases, rounds times, rotating
// which case goes first from round to round so that a neighbour's load on a
// shared machine falls on every case in turn. It stops at the first error.
func rotatingRounds(n, rounds int, run func(i int) error) error {
	for r := 0; r < rounds; r++ {
		for k := range n {
			if err := run((k + r) % n); err != nil {
				return err
			}
		}
	}
	return nil
}

// fastest is the smaller of a best time so far (0: none yet) and sec.
func fastest(best, sec float64) float64 {
	if best == 0 || sec < best {
		return sec
	}
	return best
}

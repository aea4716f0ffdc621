// Package generate samples text from a model token by token, with the
// model's key/value-cache decoder: temperature, top-k and top-p (nucleus)
// sampling, seeded and reproducible.
package generate

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/tformer/tformer/model"
)

// Options control sampling.
type Options struct {
	Tokens      int     // tokens to generate
	Temperature float64 // 0 means greedy (always the most likely token)
	TopK        int     // keep the k most likely tokens (0: all)
	TopP        float64 // keep the smallest set whose probability reaches p (0 or 1: all)
	Seed        uint64
}

// Validate reports impossible settings.
func (o Options) Validate() error {
	switch {
	case o.Tokens < 0:
		return fmt.Errorf("--tokens must be >= 0, got %d", o.Tokens)
	case o.Temperature < 0 || math.IsNaN(o.Temperature) || math.IsInf(o.Temperature, 0):
		return fmt.Errorf("--temperature must be >= 0, got %g", o.Temperature)
	case o.TopK < 0:
		return fmt.Errorf("--top-k must be >= 0, got %d", o.TopK)
	case o.TopP < 0 || o.TopP > 1 || math.IsNaN(o.TopP):
		return fmt.Errorf("--top-p must be in [0, 1], got %g", o.TopP)
	}
	return nil
}

// Generate feeds prompt to m and then samples opts.Tokens tokens, calling
// emit with each as soon as it is chosen. The prompt must fit the model's
// context; it is fed in batched passes (model.Decoder.Prefill), so the
// first token comes after one pass over the prompt rather than one pass a
// token. When the context fills up, the decoder restarts from the last
// half of the context (one prefill of that window), so generation can go on
// past the context length. After the setup, generating a token allocates
// nothing. It is NewGenerator(m).Generate: to generate many times from one
// model, keep a Generator.
func Generate(m *model.Model, prompt []int32, opts Options, emit func(tok int32) error) error {
	return NewGenerator(m).Generate(prompt, opts, emit)
}

// Generator generates from one model with one key/value-cache decoder and
// one set of sampling buffers, reused by every call: a server worker keeps
// one, so that a request allocates no cache. A Generator is not safe for
// concurrent use.
type Generator struct {
	m       *model.Model
	dec     *model.Decoder
	s       *sampler
	src     *rand.PCG
	rng     *rand.Rand
	history []int32
}

// NewGenerator allocates a decoder for m (its cache holds m's whole
// context) and the buffers of sampling.
func NewGenerator(m *model.Model) *Generator {
	src := rand.NewPCG(0, 0)
	ctx := m.Config.MaxSeq
	return &Generator{m: m, dec: m.NewDecoder(), s: newSampler(m.Config.Vocab), src: src, rng: rand.New(src),
		history: make([]int32, 0, max(2*ctx, 16))}
}

// Generate is the package function Generate, on g's decoder and buffers:
// the same prompt and options give the same tokens whatever g generated
// before.
func (g *Generator) Generate(prompt []int32, opts Options, emit func(tok int32) error) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	m := g.m
	ctx := m.Config.MaxSeq
	if len(prompt) == 0 {
		return fmt.Errorf("the prompt is empty (give at least one token)")
	}
	if len(prompt) > ctx {
		return fmt.Errorf("the prompt is %d tokens, longer than the model's context of %d", len(prompt), ctx)
	}
	dec := g.dec
	dec.Reset()
	g.src.Seed(opts.Seed, 0x67656e)
	rng := g.rng
	s := g.s
	// The tokens so far; only the last ctx are ever read again, so older
	// ones are dropped when the buffer is full rather than growing it.
	history := append(g.history[:0], prompt...)
	logits, err := dec.Prefill(prompt)
	if err != nil {
		return err
	}
	for i := 0; i < opts.Tokens; i++ {
		next := s.sample(logits, opts, rng)
		if err := emit(next); err != nil {
			return err
		}
		if len(history) == cap(history) {
			history = history[:copy(history, history[len(history)-ctx:])]
		}
		history = append(history, next)
		if i == opts.Tokens-1 {
			break
		}
		if dec.Pos() == ctx {
			// Restart on the last half of the context, next included.
			dec.Reset()
			if logits, err = dec.Prefill(history[len(history)-ctx/2-1:]); err != nil {
				return err
			}
			continue
		}
		if logits, err = dec.Step(next); err != nil {
			return err
		}
	}
	return nil
}

type sampler struct {
	probs []float64
	idx   []int
}

func newSampler(v int) *sampler {
	return &sampler{probs: make([]float64, v), idx: make([]int, v)}
}

// sample draws one token from logits under opts.
func (s *sampler) sample(logits []float32, o Options, rng *rand.Rand) int32 {
	if o.Temperature == 0 || o.TopK == 1 {
		best := 0
		for j, v := range logits {
			if v > logits[best] {
				best = j
			}
		}
		return int32(best)
	}
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = math.Max(mx, float64(v))
	}
	var sum float64
	for j, v := range logits {
		p := math.Exp((float64(v) - mx) / o.Temperature)
		s.probs[j] = p
		sum += p
		s.idx[j] = j
	}
	cand := s.idx
	if (o.TopK > 0 && o.TopK < len(logits)) || (o.TopP > 0 && o.TopP < 1) {
		probs := s.probs
		slices.SortStableFunc(cand, func(a, b int) int { return cmp.Compare(probs[b], probs[a]) })
		if o.TopK > 0 && o.TopK < len(cand) {
			cand = cand[:o.TopK]
		}
		if o.TopP > 0 && o.TopP < 1 {
			var acc float64
			for i, j := range cand {
				acc += s.probs[j] / sum
				if acc >= o.TopP {
					cand = cand[:i+1]
					break
				}
			}
		}
		sum = 0
		for _, j := range cand {
			sum += s.probs[j]
		}
	}
	r := rng.Float64() * sum
	for _, j := range cand {
		r -= s.probs[j]
		if r < 0 {
			return int32(j)
		}
	}
	return int32(cand[len(cand)-1])
}

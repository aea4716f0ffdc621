//go:build !race

// The race detector makes sync.Pool drop values at random, so allocation
// counts mean nothing under it.

package generate

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/tformer/tformer/internal/alloctest"
	"github.com/tformer/tformer/kernels"
	"github.com/tformer/tformer/model"
)

// allocModel returns a decoder; big, its products are large enough to take
// the parallel paths.
func allocModel(t *testing.T, big bool) *model.Model {
	t.Helper()
	c := model.Config{Vocab: 512, DModel: 64, Layers: 2, Heads: 4, DFF: 256, MaxSeq: 32, Tie: true, Share: model.ShareNone, Groups: 1}
	if big {
		c.Vocab, c.DModel, c.DFF = 4096, 256, 1024
	}
	m, err := model.New(c)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(2)
	return m
}

// samplings are the sampling settings the allocation tests cover: greedy,
// plain, and filtered (which sorts the candidates).
var samplings = []Options{
	{},
	{Temperature: 1},
	{Temperature: 0.8, TopK: 40},
	{Temperature: 0.9, TopP: 0.9},
	{Temperature: 0.8, TopK: 100, TopP: 0.95},
}

// TestTokenNoAllocs: generating a token — sampling it from the logits and
// feeding it to the KV-cache decoder — allocates nothing, with every
// sampling option, on one thread or two, with float32, bf16 or int8
// weights.
func TestTokenNoAllocs(t *testing.T) {
	for _, dt := range []model.DType{model.F32, model.BF16, model.Int8} {
		m := allocModel(t, true)
		if err := m.Quantize(dt); err != nil {
			t.Fatal(err)
		}
		t.Run(dt.String(), func(t *testing.T) { tokenNoAllocs(t, m) })
	}
}

// tokenNoAllocs is TestTokenNoAllocs on one model.
func tokenNoAllocs(t *testing.T, m *model.Model) {
	old := kernels.Threads()
	defer kernels.SetThreads(old)
	dec := m.NewDecoder()
	s := newSampler(m.Config.Vocab)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, th := range []int{1, 2} {
		kernels.SetThreads(th)
		for _, o := range samplings {
			dec.Reset()
			logits, err := dec.Step(1)
			if err != nil {
				t.Fatal(err)
			}
			token := func() {
				next := s.sample(logits, o, rng)
				if dec.Pos() == m.Config.MaxSeq {
					dec.Reset()
				}
				if logits, err = dec.Step(next); err != nil {
					t.Fatal(err)
				}
			}
			token()
			if n := testing.AllocsPerRun(40, token); n != 0 {
				t.Errorf("threads %d, %+v: %v allocations per token", th, o, n)
			}
		}
	}
}

// TestGenerateAllocsPerToken: Generate's allocations (the decoder, the
// sampler, the history) do not grow with the number of tokens, past the
// context length (where the decoder restarts on the last half) included.
func TestGenerateAllocsPerToken(t *testing.T) {
	m := allocModel(t, false)
	for _, o := range samplings {
		run := func(tokens int) float64 {
			o.Tokens = tokens
			return testing.AllocsPerRun(3, func() {
				// Each call's new decoder and buffers let collections
				// happen at varying points, and a collection empties the
				// kernels' sync.Pools (their next use allocates again):
				// collect first, so that every call starts alike. The
				// prompt is long enough (8 rows) to take the batched
				// paths the restart's prefill of the last 17 takes.
				runtime.GC()
				if err := Generate(m, []int32{1, 2, 3, 4, 5, 6, 7, 8}, o, func(int32) error { return nil }); err != nil {
					t.Fatal(err)
				}
			})
		}
		short, long := run(4), run(4+3*m.Config.MaxSeq)
		if long != short {
			t.Errorf("%+v: %v allocations for 4 tokens, %v for %d", o, short, long, 4+3*m.Config.MaxSeq)
		}
	}
}

// TestGeneratorReuseNoAllocs: a Generator kept from one call to the next
// allocates nothing at all once it has run, however many tokens a call
// asks for (the decoder, its cache and the buffers are its own).
func TestGeneratorReuseNoAllocs(t *testing.T) {
	m := allocModel(t, false)
	g := NewGenerator(m)
	emit := func(int32) error { return nil }
	for _, o := range samplings {
		for _, tokens := range []int{4, 4 + 3*m.Config.MaxSeq} {
			o.Tokens = tokens
			if n := testing.AllocsPerRun(3, func() {
				if err := g.Generate([]int32{1, 2, 3}, o, emit); err != nil {
					t.Fatal(err)
				}
			}); n != 0 {
				t.Errorf("%+v: %v allocations per call of a kept Generator", o, n)
			}
		}
	}
}

// TestGeneratorPrefillNoAllocs: a kept Generator prefilling a prompt longer
// than one prefill chunk, and generating on past the context (a prefilled
// restart), allocates nothing once it has run, in every dtype, on one
// thread or two, with products big enough for the parallel paths.
func TestGeneratorPrefillNoAllocs(t *testing.T) {
	old := kernels.Threads()
	defer kernels.SetThreads(old)
	c := model.Config{Vocab: 4096, DModel: 256, Layers: 2, Heads: 4, DFF: 1024, MaxSeq: model.PrefillChunk + 16, Tie: true, Share: model.ShareNone, Groups: 1}
	prompt := make([]int32, model.PrefillChunk+3)
	for i := range prompt {
		prompt[i] = int32(i*131+7) % int32(c.Vocab)
	}
	emit := func(int32) error { return nil }
	for _, dt := range []model.DType{model.F32, model.BF16, model.Int8} {
		m, err := model.New(c)
		if err != nil {
			t.Fatal(err)
		}
		m.Init(2)
		if err := m.Quantize(dt); err != nil {
			t.Fatal(err)
		}
		g := NewGenerator(m)
		for _, th := range []int{1, 2} {
			kernels.SetThreads(th)
			o := Options{Tokens: 20, Temperature: 0.8, TopK: 40}
			run := func() {
				if err := g.Generate(prompt, o, emit); err != nil {
					t.Fatal(err)
				}
			}
			// The first call allocates the prefill buffers; see
			// alloctest.WarmAllocsPerRun.
			if n := alloctest.WarmAllocsPerRun(10, run); n != 0 {
				t.Errorf("%s, threads %d: %v allocations per call", dt, th, n)
			}
		}
	}
}

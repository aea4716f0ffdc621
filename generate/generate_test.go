package generate

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/tformer/tformer/model"
)

func TestSamplerFilters(t *testing.T) {
	logits := []float32{0, float32(math.Log(4)), float32(math.Log(3)), float32(math.Log(2))} // probs 0.1 0.4 0.3 0.2
	s := newSampler(len(logits))
	rng := rand.New(rand.NewPCG(1, 2))
	count := func(o Options) []int {
		c := make([]int, len(logits))
		for i := 0; i < 20000; i++ {
			c[s.sample(logits, o, rng)]++
		}
		return c
	}
	if c := count(Options{Temperature: 0}); c[1] != 20000 {
		t.Errorf("greedy: %v", c)
	}
	c := count(Options{Temperature: 1, TopK: 2})
	if c[0] != 0 || c[3] != 0 || math.Abs(float64(c[1])/20000-4.0/7) > 0.02 {
		t.Errorf("top-k 2: %v, want only tokens 1 and 2 in ratio 4:3", c)
	}
	c = count(Options{Temperature: 1, TopP: 0.75}) // 0.4 + 0.3 reaches 0.7 < 0.75, so add 0.2
	if c[0] != 0 || c[3] == 0 {
		t.Errorf("top-p 0.75: %v, want tokens 1, 2, 3", c)
	}
	c = count(Options{Temperature: 1})
	for j, want := range []float64{0.1, 0.4, 0.3, 0.2} {
		if math.Abs(float64(c[j])/20000-want) > 0.02 {
			t.Errorf("plain sampling: token %d frequency %v, want %v", j, float64(c[j])/20000, want)
		}
	}
}

func TestGenerate(t *testing.T) {
	c := model.Config{Vocab: 20, DModel: 8, Layers: 2, Heads: 2, DFF: 16, MaxSeq: 8, Tie: true, Share: model.ShareNone, Groups: 1}
	m, _ := model.New(c)
	m.Init(1)
	var got []int32
	o := Options{Tokens: 25, Temperature: 1, Seed: 4} // runs past the context: the window restarts
	if err := Generate(m, []int32{1, 2, 3}, o, func(t int32) error { got = append(got, t); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 25 {
		t.Fatalf("generated %d tokens, want 25", len(got))
	}
	var again []int32
	Generate(m, []int32{1, 2, 3}, o, func(t int32) error { again = append(again, t); return nil })
	for i := range got {
		if got[i] != again[i] {
			t.Fatal("same seed gave different tokens")
		}
	}
	// One Generator used for other generations first (a longer prompt, other
	// settings, past the context) gives the same tokens as a fresh one.
	gen := NewGenerator(m)
	for _, warm := range []struct {
		prompt []int32
		o      Options
	}{{[]int32{7, 7, 7, 7, 7, 7}, Options{Tokens: 30, Temperature: 0.7, TopK: 5, Seed: 9}}, {[]int32{2}, Options{Tokens: 3}}} {
		if err := gen.Generate(warm.prompt, warm.o, func(int32) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	var reused []int32
	if err := gen.Generate([]int32{1, 2, 3}, o, func(t int32) error { reused = append(reused, t); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(reused, got) {
		t.Errorf("a reused Generator gave %v, a fresh one %v", reused, got)
	}
	// greedy continuation equals argmax of a full forward pass over the prefix
	var g []int32
	Generate(m, []int32{5, 6}, Options{Tokens: 1}, func(t int32) error { g = append(g, t); return nil })
	m.Forward([]int32{5, 6}, nil, 1, 2)
	lg := m.Logits()[c.Vocab:]
	best := 0
	for j := range lg {
		if lg[j] > lg[best] {
			best = j
		}
	}
	if g[0] != int32(best) {
		t.Errorf("greedy token %d, argmax %d", g[0], best)
	}
	for _, bad := range []struct {
		prompt []int32
		o      Options
		want   string
	}{
		{make([]int32, 9), Options{Tokens: 1}, "longer than the model's context"},
		{nil, Options{Tokens: 1}, "empty"},
		{[]int32{1, 20}, Options{Tokens: 1}, "prompt token 20 (at 1) is outside the vocabulary [0, 20)"},
		{[]int32{1}, Options{Tokens: 1, TopP: 1.5}, "--top-p"},
		{[]int32{1}, Options{Tokens: 1, Temperature: -1}, "--temperature"},
		{[]int32{1}, Options{Tokens: -1}, "--tokens"},
	} {
		err := Generate(m, bad.prompt, bad.o, func(int32) error { return nil })
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("want error %q, got %v", bad.want, err)
		}
	}
}

// stepGenerate is greedy generation as Generate did it before prefill: the
// prompt and the restart windows fed one Step at a time. margin is the
// smallest gap between the top two logits relative to the largest |logit|.
func stepGenerate(t *testing.T, m *model.Model, prompt []int32, tokens int) (out []int32, margin float64) {
	t.Helper()
	ctx := m.Config.MaxSeq
	dec := m.NewDecoder()
	var logits []float32
	var err error
	for _, tok := range prompt {
		if logits, err = dec.Step(tok); err != nil {
			t.Fatal(err)
		}
	}
	history := slices.Clone(prompt)
	margin = math.Inf(1)
	for i := 0; i < tokens; i++ {
		best, second := 0, -1
		for j, v := range logits {
			if v > logits[best] {
				best, second = j, best
			} else if j != best && (second < 0 || v > logits[second]) {
				second = j
			}
		}
		scale := 0.0
		for _, v := range logits {
			scale = max(scale, math.Abs(float64(v)))
		}
		margin = min(margin, float64(logits[best]-logits[second])/scale)
		out = append(out, int32(best))
		history = append(history, int32(best))
		if dec.Pos() == ctx {
			dec.Reset()
			for _, tok := range history[len(history)-ctx/2-1 : len(history)-1] {
				if _, err := dec.Step(tok); err != nil {
					t.Fatal(err)
				}
			}
		}
		if logits, err = dec.Step(int32(best)); err != nil {
			t.Fatal(err)
		}
	}
	return out, margin
}

// TestGeneratePrefillMatchesSteps: on a peaked model (no near ties), greedy
// generation with the prompt and the restart windows prefilled gives the
// tokens a Step-by-Step feed gives, for prompts of one token, a few, and
// more than one prefill chunk (then past the context: a restart), in every
// dtype.
func TestGeneratePrefillMatchesSteps(t *testing.T) {
	gpt2 := model.Config{Vocab: 24, DModel: 64, Layers: 2, Heads: 4, DFF: 128, MaxSeq: model.PrefillChunk + 44, Tie: true, Share: model.ShareNone, Groups: 1}
	llama, _ := gpt2.Family("llama")
	llama.KVHeads, llama.Tie = 2, false
	for name, c := range map[string]model.Config{"gpt2": gpt2, "llama": llama} {
		for _, dt := range []model.DType{model.F32, model.BF16, model.Int8} {
			m, err := model.New(c)
			if err != nil {
				t.Fatal(err)
			}
			m.Init(3)
			// Peaked: logits of a few units. Prefill's logits are within
			// 1e-5 relative of Step's (model's TestPrefillMatchesStep), so
			// a top-2 gap of 1e-4 relative cannot be reordered.
			head := m.Param("wte")
			if !c.Tie {
				head = m.Param("lm_head")
			}
			for i := range head {
				head[i] *= 40
			}
			if err := m.Quantize(dt); err != nil {
				t.Fatal(err)
			}
			g := NewGenerator(m)
			rng := rand.New(rand.NewPCG(4, 5))
			for _, n := range []int{1, 9, model.PrefillChunk + 5} {
				prompt := make([]int32, n)
				for i := range prompt {
					prompt[i] = int32(rng.IntN(c.Vocab))
				}
				tokens := 30
				if n > model.PrefillChunk {
					tokens = c.MaxSeq - n + 20 // past the context: one restart
				}
				want, margin := stepGenerate(t, m, prompt, tokens)
				if margin < 1e-4 {
					t.Fatalf("%s/%s: a top-2 margin of %g is too close a tie for this test", name, dt, margin)
				}
				var got []int32
				if err := g.Generate(prompt, Options{Tokens: tokens}, func(tok int32) error { got = append(got, tok); return nil }); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s/%s, prompt %d: prefilled generation %v, stepped %v", name, dt, n, got, want)
				}
			}
		}
	}
}

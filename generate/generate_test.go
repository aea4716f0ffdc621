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

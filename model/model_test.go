package model

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestParamCountsGPT2(t *testing.T) {
	c := GPT2Small()
	if got := c.UniqueParams(); got != 124_439_808 {
		t.Errorf("GPT-2 small tied unique = %d, want 124439808", got)
	}
	c.Tie = false
	if got := c.UniqueParams(); got != 163_037_184 {
		t.Errorf("GPT-2 small untied unique = %d, want 163037184", got)
	}
	if got := c.AppliedParams(); got != 163_037_184 {
		t.Errorf("GPT-2 small untied applied = %d, want 163037184", got)
	}
}

// hand-derived counts: block = attention (2d + 3d² + 3d + d² + d) + FFN (2d + 2·d·f + f + d).
func TestParamCountsFormulas(t *testing.T) {
	for _, c := range []Config{
		{Vocab: 100, DModel: 16, Layers: 6, Heads: 4, DFF: 40, MaxSeq: 32, Tie: true, Share: ShareNone, Groups: 1},
		{Vocab: 100, DModel: 16, Layers: 6, Heads: 4, DFF: 40, MaxSeq: 32, Tie: false, Share: ShareAll, Groups: 1},
		{Vocab: 100, DModel: 16, Layers: 6, Heads: 4, DFF: 40, MaxSeq: 32, Tie: true, Share: ShareAll, Groups: 2},
		{Vocab: 100, DModel: 16, Layers: 6, Heads: 4, DFF: 40, MaxSeq: 32, Tie: true, Share: ShareAttention, Groups: 3},
		{Vocab: 100, DModel: 16, Layers: 6, Heads: 4, DFF: 40, MaxSeq: 32, Tie: false, Share: ShareFFN, Groups: 2},
		{Vocab: 100, DModel: 16, Layers: 6, Heads: 4, DFF: 40, MaxSeq: 32, Tie: false, Share: ShareNone, Groups: 3},
	} {
		d, f, L := int64(c.DModel), int64(c.DFF), int64(c.Layers)
		attn := 2*d + 3*d*d + 3*d + d*d + d
		ffn := 2*d + d*f + f + f*d + d
		emb := int64(c.Vocab)*d + int64(c.MaxSeq)*d
		head := int64(c.Vocab) * d
		na, nf := L, L
		switch c.Share {
		case ShareAll:
			na, nf = int64(c.Groups), int64(c.Groups)
		case ShareAttention:
			na = int64(c.Groups)
		case ShareFFN:
			nf = int64(c.Groups)
		}
		unique := emb + na*attn + nf*ffn + 2*d
		if !c.Tie {
			unique += head
		}
		applied := emb + L*(attn+ffn) + 2*d + head
		if got := c.UniqueParams(); got != unique {
			t.Errorf("%+v: unique = %d, want %d", c, got, unique)
		}
		if got := c.AppliedParams(); got != applied {
			t.Errorf("%+v: applied = %d, want %d", c, got, applied)
		}
	}
	// --share all with L layers stores one block while applying L.
	c := Config{Vocab: 50, DModel: 8, Layers: 12, Heads: 2, DFF: 32, MaxSeq: 16, Tie: true, Share: ShareAll, Groups: 1}
	l := NewLayout(c)
	blocks := 0
	for _, ti := range l.Tensors {
		if ti.Name == "attn.0.qkv.w" && ti.Uses != 12 {
			t.Errorf("shared qkv uses = %d, want 12", ti.Uses)
		}
		if len(ti.Name) > 5 && ti.Name[:5] == "attn." && ti.Name[len(ti.Name)-5:] == "qkv.w" {
			blocks++
		}
	}
	if blocks != 1 {
		t.Errorf("share all stored %d attention blocks, want 1", blocks)
	}
}

func TestValidate(t *testing.T) {
	base := Config{Vocab: 10, DModel: 8, Layers: 4, Heads: 2, DFF: 16, MaxSeq: 8, Tie: true, Share: ShareAll, Groups: 2}
	if err := base.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := map[string]func(*Config){
		"heads (3) must divide d-model": func(c *Config) { c.Heads = 3 },
		"d-model must be positive":      func(c *Config) { c.DModel = 0 },
		"layers must be positive":       func(c *Config) { c.Layers = -1 },
		"groups (3) must divide layers": func(c *Config) { c.Groups = 3 },
		"unknown sharing mode":          func(c *Config) { c.Share = "some" },
		"vocab must be positive":        func(c *Config) { c.Vocab = 0 },
		"groups (8) cannot exceed":      func(c *Config) { c.Groups = 8 },
	}
	for want, mod := range bad {
		c := base
		mod(&c)
		err := c.Validate()
		if err == nil || !contains(err.Error(), want) {
			t.Errorf("want error containing %q, got %v", want, err)
		}
	}
	c := base
	c.Share, c.Groups = ShareNone, 3 // groups ignored without sharing
	if err := c.Validate(); err != nil {
		t.Errorf("share none with groups 3: %v", err)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// testModel builds a tiny model with O(1) random weights so every path matters.
func testModel(t *testing.T, c Config, seed uint64) *Model {
	t.Helper()
	m, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	for _, ti := range m.Layout.Tensors {
		x := m.Params[ti.Offset : ti.Offset+ti.Size]
		for i := range x {
			switch {
			case strings.HasSuffix(ti.Name, "ln.w") || ti.Name == "lnf.w":
				x[i] = float32(1 + 0.1*rng.NormFloat64())
			case len(ti.Shape) == 1:
				x[i] = float32(0.1 * rng.NormFloat64())
			default:
				x[i] = float32(0.3 * rng.NormFloat64())
			}
		}
	}
	return m
}

func randTokens(rng *rand.Rand, n, v int) []int32 {
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(rng.IntN(v))
	}
	return out
}

func gradConfigs() map[string]Config {
	base := Config{Vocab: 11, DModel: 8, Layers: 4, Heads: 2, DFF: 12, MaxSeq: 6, Tie: true, Share: ShareNone, Groups: 1}
	out := map[string]Config{}
	for _, tie := range []bool{true, false} {
		for _, sh := range []Share{ShareNone, ShareAll, ShareAttention, ShareFFN} {
			for _, g := range []int{1, 2} {
				if sh == ShareNone && g == 2 {
					continue
				}
				c := base
				c.Tie, c.Share, c.Groups = tie, sh, g
				name := string(sh)
				if tie {
					name += "/tied"
				} else {
					name += "/untied"
				}
				name += map[int]string{1: "/g1", 2: "/g2"}[g]
				out[name] = c
			}
		}
	}
	// The Llama family's choices, tied and untied, shared and not.
	fam := func(family string, edit func(*Config)) Config {
		c, err := base.Family(family)
		if err != nil {
			panic(err)
		}
		c.Heads = 4
		edit(&c)
		return c
	}
	out["llama/gqa/tied"] = fam("llama", func(c *Config) { c.KVHeads = 2 })
	out["llama/mqa/llama3/hd4/untied/share-all-g2"] = fam("llama", func(c *Config) {
		c.KVHeads, c.DHead, c.Tie, c.Share, c.Groups, c.RopeTheta = 1, 4, false, ShareAll, 2, 500000
		c.RopeScaling = &RopeScaling{Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OrigContext: 8}
	})
	out["qwen2/qkv-bias/share-attention"] = fam("qwen2", func(c *Config) { c.KVHeads, c.Share, c.Groups = 2, ShareAttention, 2 })
	out["gemma/mqa/share-ffn"] = fam("gemma", func(c *Config) { c.KVHeads, c.Share, c.Groups = 1, ShareFFN, 1 })
	out["rms/learned/geglu-erf/all-bias"] = fam("gpt2", func(c *Config) { c.Norm, c.MLP, c.Activation = RMSNormKind, GeGLU, GELUErf })
	// Sliding windows shorter than the sequence (T = 5, context 6).
	out["mistral/window2/gqa/tied"] = fam("mistral", func(c *Config) { c.KVHeads, c.SlidingWindow = 2, 2 })
	out["gemma/window3/every2/untied/share-attention"] = fam("gemma", func(c *Config) {
		c.SlidingWindow, c.SlidingEvery, c.Tie, c.Share, c.Groups = 3, 2, false, ShareAttention, 2
	})
	out["gemma/softcaps/query-scalar/window2/every2/tied"] = fam("gemma", func(c *Config) {
		c.SlidingWindow, c.SlidingEvery, c.AttnSoftcap, c.FinalSoftcap, c.QueryScalar, c.PostNorms = 2, 2, 1.5, 2, 3, true
	})
	return out
}

// TestGradientFiniteDifference checks sampled entries of every parameter
// tensor against central differences of the loss.
func TestGradientFiniteDifference(t *testing.T) {
	for name, c := range gradConfigs() {
		t.Run(name, func(t *testing.T) {
			m := testModel(t, c, 7)
			rng := rand.New(rand.NewPCG(3, 3))
			b, T := 2, 5
			tok, tgt := randTokens(rng, b*T, c.Vocab), randTokens(rng, b*T, c.Vocab)
			if _, err := m.Forward(tok, tgt, b, T); err != nil {
				t.Fatal(err)
			}
			m.ZeroGrad()
			if err := m.Backward(); err != nil {
				t.Fatal(err)
			}
			grads := append([]float32(nil), m.Grads...)
			loss := func() float64 {
				l, err := m.Forward(tok, tgt, b, T)
				if err != nil {
					t.Fatal(err)
				}
				return float64(l)
			}
			const h = 1e-2
			for _, ti := range m.Layout.Tensors {
				gmax := 0.0
				for _, g := range grads[ti.Offset : ti.Offset+ti.Size] {
					gmax = math.Max(gmax, math.Abs(float64(g)))
				}
				for s := 0; s < 4; s++ {
					i := ti.Offset + rng.IntN(ti.Size)
					old := m.Params[i]
					m.Params[i] = old + h
					lp := loss()
					m.Params[i] = old - h
					lm := loss()
					m.Params[i] = old
					fd := (lp - lm) / (2 * h)
					an := float64(grads[i])
					// float32 loss rounding (~3e-7 of ~3) over 2h, plus O(h²) truncation.
					tol := 2e-3 + 0.03*math.Abs(an) + 0.01*gmax
					if math.Abs(fd-an) > tol {
						t.Errorf("%s[%d]: analytic %.6g, finite difference %.6g", ti.Name, i-ti.Offset, an, fd)
					}
				}
			}
		})
	}
}

// TestTiedGradientIsSumOfUses checks that the tied embedding's gradient is
// the lookup's gradient plus the output projection's, each computed alone
// (by an untied model whose output matrix is a copy of the embedding).
func TestTiedGradientIsSumOfUses(t *testing.T) {
	c := Config{Vocab: 13, DModel: 8, Layers: 2, Heads: 2, DFF: 16, MaxSeq: 8, Tie: true, Share: ShareNone, Groups: 1}
	tied := testModel(t, c, 11)
	cu := c
	cu.Tie = false
	untied, err := New(cu)
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range tied.Layout.Tensors {
		copy(untied.Param(ti.Name), tied.Param(ti.Name))
	}
	copy(untied.Param("lm_head"), tied.Param("wte"))
	rng := rand.New(rand.NewPCG(5, 5))
	tok, tgt := randTokens(rng, 16, c.Vocab), randTokens(rng, 16, c.Vocab)
	for _, m := range []*Model{tied, untied} {
		if _, err := m.Forward(tok, tgt, 2, 8); err != nil {
			t.Fatal(err)
		}
		m.ZeroGrad()
		if err := m.Backward(); err != nil {
			t.Fatal(err)
		}
	}
	lookup, output, both := untied.Grad("wte"), untied.Grad("lm_head"), tied.Grad("wte")
	var nl, no float64
	for i := range both {
		want := lookup[i] + output[i]
		if d := math.Abs(float64(both[i] - want)); d > 1e-6*(1+math.Abs(float64(want))) {
			t.Fatalf("wte grad[%d] = %g, lookup %g + output %g = %g", i, both[i], lookup[i], output[i], want)
		}
		nl += math.Abs(float64(lookup[i]))
		no += math.Abs(float64(output[i]))
	}
	if nl == 0 || no == 0 {
		t.Fatalf("degenerate test: lookup grad norm %g, output grad norm %g", nl, no)
	}
}

func TestForwardErrors(t *testing.T) {
	c := Config{Vocab: 10, DModel: 8, Layers: 1, Heads: 2, DFF: 16, MaxSeq: 4, Tie: true, Share: ShareNone, Groups: 1}
	m, _ := New(c)
	cases := []struct {
		tok, tgt []int32
		b, t     int
		want     string
	}{
		{[]int32{1, 2, 3, 4, 5}, nil, 1, 5, "exceeds the model's context"},
		{[]int32{1, 2}, nil, 1, 3, "want 1×3"},
		{[]int32{1, 10}, nil, 1, 2, "outside the vocabulary"},
		{[]int32{1, 2}, []int32{-1, 0}, 1, 2, "target[0] = -1"},
		{nil, nil, 0, 2, "must be positive"},
	}
	for _, cs := range cases {
		_, err := m.Forward(cs.tok, cs.tgt, cs.b, cs.t)
		if err == nil || !contains(err.Error(), cs.want) {
			t.Errorf("want error %q, got %v", cs.want, err)
		}
	}
	if err := m.Backward(); err == nil {
		t.Error("backward without forward: want error")
	}
}

// TestDecoderMatchesForward checks that incremental decoding with the KV
// cache gives the same logits as the full forward pass at every position.
func TestDecoderMatchesForward(t *testing.T) {
	for name, c := range gradConfigs() {
		dec := checkDecoderMatchesForward(t, name, c)
		if _, err := dec.Step(0); err == nil {
			t.Fatalf("%s: step past the context: want error", name)
		}
	}
}

// checkDecoderMatchesForward feeds a full context of random tokens through
// the KV-cache decoder and the forward pass and compares every logit; it
// returns the (full) decoder.
func checkDecoderMatchesForward(t *testing.T, name string, c Config) *Decoder {
	t.Helper()
	m := testModel(t, c, 21)
	rng := rand.New(rand.NewPCG(9, 9))
	T := c.MaxSeq
	tok := randTokens(rng, T, c.Vocab)
	if _, err := m.Forward(tok, nil, 1, T); err != nil {
		t.Fatal(err)
	}
	full := append([]float32(nil), m.Logits()...)
	dec := m.NewDecoder()
	for p := 0; p < T; p++ {
		lg, err := dec.Step(tok[p])
		if err != nil {
			t.Fatal(err)
		}
		for j, v := range lg {
			w := full[p*c.Vocab+j]
			if math.Abs(float64(v-w)) > 1e-4*(1+math.Abs(float64(w))) {
				t.Fatalf("%s: pos %d logit %d: decoder %g, forward %g", name, p, j, v, w)
			}
		}
	}
	return dec
}

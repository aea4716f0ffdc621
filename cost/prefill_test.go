package cost

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/tformer/tformer/kernels"
	"github.com/tformer/tformer/model"
)

// prefillGrid is a set of small decoders for the prefill check, each with
// a context of 605 positions (a 600-token prompt after 5 cached ones, over
// two chunks): GPT-2-like tied and untied, ALBERT-style shared layers,
// factorized embeddings, the Llama family with GQA, MQA and a head_dim
// other than d/heads, Qwen2's QKV biases, Gemma's embedding scale and
// offset norms, GeGLU.
func prefillGrid() map[string]model.Config {
	base := model.Config{Vocab: 13, DModel: 16, Layers: 3, Heads: 4, DFF: 24, MaxSeq: 605, Tie: true, Share: model.ShareNone, Groups: 1}
	fam := func(family string, edit func(*model.Config)) model.Config {
		c, err := base.Family(family)
		if err != nil {
			panic(err)
		}
		edit(&c)
		return c
	}
	return map[string]model.Config{
		"gpt2/tied":                    base,
		"gpt2/untied/share-all":        fam("gpt2", func(c *model.Config) { c.Tie, c.Share = false, model.ShareAll }),
		"gpt2/factorized-e8/share-ffn": fam("gpt2", func(c *model.Config) { c.EmbedDim, c.Share, c.Groups, c.Layers = 8, model.ShareFFN, 2, 4 }),
		"gpt2/erf-gelu/share-attn-g2": fam("gpt2", func(c *model.Config) {
			c.Activation, c.Share, c.Groups, c.Layers = model.GELUErf, model.ShareAttention, 2, 4
		}),
		"llama/gqa/hd6/untied":          fam("llama", func(c *model.Config) { c.KVHeads, c.DHead, c.Tie = 2, 6, false }),
		"llama/mqa/share-all":           fam("llama", func(c *model.Config) { c.KVHeads, c.Share = 1, model.ShareAll }),
		"mistral/factorized-e8/gqa":     fam("mistral", func(c *model.Config) { c.KVHeads, c.EmbedDim = 2, 8 }),
		"qwen2/qkv-bias/gqa/share-all2": fam("qwen2", func(c *model.Config) { c.KVHeads, c.Share, c.Groups, c.Layers = 2, model.ShareAll, 2, 4 }),
		"gemma/mqa/hd8":                 fam("gemma", func(c *model.Config) { c.KVHeads, c.DHead = 1, 8 }),
		"gemma/geglu-erf/one-layer":     fam("gemma", func(c *model.Config) { c.Activation, c.Layers = model.GELUErf, 1 }),
		"mistral/window100/gqa":         fam("mistral", func(c *model.Config) { c.KVHeads, c.SlidingWindow = 2, 100 }),
		"mistral/window150/every2/untied": fam("mistral", func(c *model.Config) {
			c.SlidingWindow, c.SlidingEvery, c.Tie, c.Layers = 150, 2, false, 4
		}),
		"gemma/window7/every2/last-local": fam("gemma", func(c *model.Config) { c.SlidingWindow, c.SlidingEvery = 7, 2 }),
		"gemma/softcaps/window100/every2": fam("gemma", func(c *model.Config) {
			c.SlidingWindow, c.SlidingEvery, c.AttnSoftcap, c.FinalSoftcap, c.QueryScalar, c.Layers = 100, 2, 50, 30, 16, 4
			c.PostNorms = true
		}),
	}
}

// checkCounts compares per-component forward FLOPs with an engine counter
// (which must have counted no backward work).
func checkCounts(t *testing.T, name string, want Counts, cnt *kernels.Counter) {
	t.Helper()
	for _, k := range kernels.AllComponents() {
		got := cnt.Get(kernels.Forward, k)
		var w int64
		if int(k) < len(want) && k < kernels.NumComponents {
			w = want[k]
		}
		if got != w || cnt.Get(kernels.Backward, k) != 0 {
			t.Errorf("%s: prefill %s = %d, engine counted %d (backward %d)", name, k, w, got, cnt.Get(kernels.Backward, k))
		}
	}
	for c := Component(kernels.NumComponents); c < NumComponents; c++ {
		if want[c] != 0 {
			t.Errorf("%s: prefill has %s FLOPs", name, c)
		}
	}
	if want.Total() != cnt.Total(kernels.Forward) {
		t.Errorf("%s: total %d, engine counted %d", name, want.Total(), cnt.Total(kernels.Forward))
	}
}

// TestPrefillMatchesEngine feeds prompts of 1, 7, 255, 256, 257 and 600
// tokens to model.Decoder.Prefill, from an empty cache and after 5
// positions fed by Step (or, in every other config, by an earlier
// Prefill), and checks that Spec.Prefill equals the engine's kernel
// counters per component. The lengths straddle the prefill chunk (256)
// and the attention tile (96), so the rows split across chunks and key
// tiles in every way; one config also runs in bf16 and int8 and on one
// and two threads, whose counts must not change.
func TestPrefillMatchesEngine(t *testing.T) {
	if model.PrefillChunk != 256 {
		t.Logf("model.PrefillChunk is %d; the lengths below were chosen around 256", model.PrefillChunk)
	}
	old := kernels.Threads()
	defer kernels.SetThreads(old)
	rng := rand.New(rand.NewPCG(7, 8))
	ci := 0
	for name, c := range prefillGrid() {
		ci++
		m, err := model.New(c)
		if err != nil {
			t.Fatal(err)
		}
		m.Init(1)
		s := ForModel(c)
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		dtypes, threads := []model.DType{model.F32}, []int{1}
		if name == "llama/gqa/hd6/untied" {
			dtypes, threads = []model.DType{model.F32, model.BF16, model.Int8}, []int{1, 2}
		}
		for _, dt := range dtypes {
			if dt != model.F32 {
				if m, err = model.New(c); err != nil {
					t.Fatal(err)
				}
				m.Init(1)
				if err := m.Quantize(dt); err != nil {
					t.Fatal(err)
				}
			}
			dec := m.NewDecoder()
			for _, th := range threads {
				kernels.SetThreads(th)
				for _, pos := range []int{0, 5} {
					for _, n := range []int{1, 7, 255, 256, 257, 600} {
						dec.Reset()
						toks := randTokens(rng, pos+n, c.Vocab)
						byPrefill := ci%2 == 0
						if pos > 0 && byPrefill {
							if _, err := dec.Prefill(toks[:pos]); err != nil {
								t.Fatal(err)
							}
						}
						for i := 0; i < pos && !byPrefill; i++ {
							if _, err := dec.Step(toks[i]); err != nil {
								t.Fatal(err)
							}
						}
						cnt := &kernels.Counter{}
						m.Flops = cnt
						if _, err := dec.Prefill(toks[pos:]); err != nil {
							t.Fatal(err)
						}
						m.Flops = nil
						if dec.Pos() != pos+n {
							t.Fatalf("%s: position %d after prefill, want %d", name, dec.Pos(), pos+n)
						}
						checkCounts(t, fmt.Sprintf("%s %s %d threads pos %d n %d", name, dt, th, pos, n), s.Prefill(pos, n), cnt)
					}
				}
			}
		}
	}
}

// TestPrefillAgainstForward checks Spec.Prefill against the other cost
// functions, independently of the engine: a one-token prompt is
// DecodeStep but for the fused attention of the layers before the last
// (softmax: the fused kernel's 5 per pair plus dh per row and rescale,
// against decode's 6 per key); from an empty cache the whole forward pass
// (no loss) does exactly the last layer's attention output, FFN and later
// norms, the final norm and the head for n − 1 more rows, and the full
// fused attention in the last layer instead of one decode row; and a
// prompt cut into two Prefill calls does the attention of one call (each
// row's count depends on its position, not on the cut). Dense, GQA and
// sliding-window (Mistral, window 100) presets.
func TestPrefillAgainstForward(t *testing.T) {
	g, _ := Preset("gpt2")
	l, _ := Preset("llama-3.2-1b")
	w, _ := Preset("mistral-7b")
	w.Config.SlidingWindow = 100
	for _, s := range []Spec{g, l, w} {
		c := s.Config
		L, H, dh := int64(c.Layers), int64(c.Heads), int64(c.HeadDim())
		keys := func(l, pos int) int64 { // keys row pos sees in layer l
			if s.windowed(l) {
				return int64(min(pos+1, s.Config.SlidingWindow))
			}
			return int64(pos + 1)
		}
		pk := s.perKey()
		lastAttn := func(pos, n int) Counts { // the last layer's decode row
			var o Counts
			for _, k := range []kernels.Component{kernels.Scores, kernels.Softmax, kernels.AV} {
				o[k] = keys(c.Layers-1, pos+n-1) * pk[k]
			}
			return o
		}
		for _, pos := range []int{0, 3, 95, 96, 300} {
			got, want := s.Prefill(pos, 1), s.DecodeStep(pos)
			var P, R int64
			for l := 0; l < c.Layers-1; l++ {
				nk := keys(l, pos)
				P += nk
				R += (nk+kernels.AttentionTile-1)/kernels.AttentionTile - 1
			}
			want[kernels.Softmax] = H*(P*kernels.FlopsAttnSoftmaxFwd+(L-1+R)*dh) + lastAttn(pos, 1)[kernels.Softmax]
			if got != want {
				t.Errorf("%s: prefill of one token at %d = %v, want %v", s.Name, pos, got, want)
			}
		}
		lf, _ := s.layerTerms()
		for _, n := range []int{1, 95, 97, 513, 2048} {
			N := int64(n)
			fwd := s.FLOPs(n, 1, true).Forward
			fwd[kernels.Loss] = 0
			pre := s.Prefill(0, n)
			P, R := s.prefillAttn(c.Layers-1, 0, n)
			la := lastAttn(0, n)
			var want Counts
			for _, k := range []kernels.Component{kernels.AttnOut, kernels.FFNGate, kernels.FFNUp, kernels.GELU, kernels.GLU, kernels.FFNDown, kernels.LayerNorm} {
				want[k] = (N - 1) * lf[k].Lin // the norms: the last layer's after its first, and the final one
			}
			for _, k := range []kernels.Component{kernels.Scores, kernels.Softmax, kernels.AV} {
				want[k] = lf[k].Pair*P + lf[k].Lin*N + lf[k].Resc*R - la[k]
			}
			want[kernels.Logits] = (N - 1) * fwd[kernels.Logits] / N
			for i := range want {
				if fwd[i]-pre[i] != want[i] {
					t.Errorf("%s n %d: %s forward − prefill = %d, want %d", s.Name, n, Component(i), fwd[i]-pre[i], want[i])
				}
			}
			for _, cut := range []int{1, 96, n / 2, n - 1} {
				if cut <= 0 || cut >= n {
					continue
				}
				a, b := s.Prefill(0, cut), s.Prefill(cut, n-cut)
				// The first call's last-row work (its last layer's decode
				// attention, FFN, final norm, head) is its own; its
				// attention over the other layers, and every layer's QKV,
				// add up to one call's.
				la1 := lastAttn(0, cut)
				for _, k := range []kernels.Component{kernels.Scores, kernels.Softmax, kernels.AV, kernels.QKV, kernels.Rope, kernels.Embedding} {
					if got := a[k] - la1[k] + b[k]; got != pre[k] {
						t.Errorf("%s n %d cut %d: %s %d in two calls (less the first's last row), %d in one", s.Name, n, cut, k, got, pre[k])
					}
				}
			}
		}
	}
	if got := g.Prefill(0, 0); got != (Counts{}) {
		t.Errorf("empty prompt: %v", got)
	}
}

package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tformer/tformer/kernels"
)

// TestWindowSoftcapThreadsBitwise: a model with sliding windows on
// alternate layers, soft-capped scores and logits and a query scalar gives
// bitwise the same loss, logits, gradients and prefill logits on one and
// two threads (the sequence is long enough to span several key tiles and
// to be split across threads).
func TestWindowSoftcapThreadsBitwise(t *testing.T) {
	c, _ := Config{Vocab: 50, DModel: 32, Layers: 4, Heads: 4, DFF: 48, MaxSeq: 260, Tie: true, Share: ShareAttention, Groups: 2}.Family("gemma")
	c.KVHeads, c.SlidingWindow, c.SlidingEvery, c.AttnSoftcap, c.FinalSoftcap, c.QueryScalar, c.PostNorms = 2, 100, 2, 5, 3, 6, true
	old := kernels.Threads()
	defer kernels.SetThreads(old)
	rng := rand.New(rand.NewPCG(4, 4))
	const b, T = 2, 250
	tok, tgt := randTokens(rng, b*T, c.Vocab), randTokens(rng, b*T, c.Vocab)
	var loss0 float32
	var logits0, grads0, pre0 []float32
	for _, th := range []int{1, 2} {
		kernels.SetThreads(th)
		m := prefillModel(t, c, 17)
		loss, err := m.Forward(tok, tgt, b, T)
		if err != nil {
			t.Fatal(err)
		}
		logits := append([]float32(nil), m.Logits()...)
		m.ZeroGrad()
		if err := m.Backward(); err != nil {
			t.Fatal(err)
		}
		pre, err := m.NewDecoder().Prefill(tok[:T])
		if err != nil {
			t.Fatal(err)
		}
		if th == 1 {
			loss0, logits0, grads0, pre0 = loss, logits, append([]float32(nil), m.Grads...), append([]float32(nil), pre...)
			continue
		}
		what := fmt.Sprintf("%d threads", th)
		if math.Float32bits(loss) != math.Float32bits(loss0) {
			t.Errorf("%s: loss %v, one thread %v", what, loss, loss0)
		}
		for _, x := range []struct {
			name      string
			got, want []float32
		}{{"logits", logits, logits0}, {"grads", m.Grads, grads0}, {"prefill", pre, pre0}} {
			for i := range x.want {
				if math.Float32bits(x.got[i]) != math.Float32bits(x.want[i]) {
					t.Fatalf("%s: %s[%d] = %v, one thread %v", what, x.name, i, x.got[i], x.want[i])
				}
			}
		}
	}
}

// TestFamilyGemma2: the gemma2 family is Gemma's choices plus post-norms,
// both soft-caps and every other layer windowed from layer 0, keeping the
// window size; naming another family afterwards undoes them.
func TestFamilyGemma2(t *testing.T) {
	base := Config{Vocab: 50, DModel: 32, Layers: 4, Heads: 4, DFF: 48, MaxSeq: 64, Tie: true, Share: ShareNone, Groups: 1, SlidingWindow: 8}
	c, err := base.Family("gemma2")
	if err != nil {
		t.Fatal(err)
	}
	g, _ := base.Family("gemma")
	if !c.PostNorms || c.AttnSoftcap != 50 || c.FinalSoftcap != 30 || c.SlidingEvery != 2 || c.SlidingWindow != 8 ||
		c.Norm != g.Norm || !c.NormOffset || c.MLP != GeGLU || !c.EmbedScale || c.Bias != BiasNone {
		t.Fatalf("gemma2 family: %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for l, want := range []int{8, 0, 8, 0} {
		if got := c.Window(l); got != want {
			t.Errorf("layer %d window %d, want %d", l, got, want)
		}
	}
	back, _ := c.Family("gemma")
	if back.PostNorms || back.AttnSoftcap != 0 || back.FinalSoftcap != 0 || back.SlidingEvery != 0 {
		t.Errorf("gemma after gemma2 keeps Gemma 2's choices: %+v", back)
	}
	if _, err := c.Family("gemma3"); err == nil || !strings.Contains(err.Error(), "gemma or gemma2") {
		t.Errorf("unknown family: %v", err)
	}
}

package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tformer/tformer/model"
)

func slidingModel(t *testing.T) (*model.Model, []int32) {
	t.Helper()
	m, err := model.New(model.Config{Vocab: 32, DModel: 16, Layers: 2, Heads: 2, DFF: 32, MaxSeq: 8, Tie: true, Share: model.ShareNone, Groups: 1})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(3)
	r := rand.New(rand.NewPCG(1, 2))
	toks := make([]int32, 43)
	for i := range toks {
		toks[i] = int32(r.IntN(32))
	}
	return m, toks
}

// With no stride the sliding evaluation is the non-overlapping one that
// Evaluate and training's validation score.
func TestSlidingStrideZeroIsEvaluate(t *testing.T) {
	m, toks := slidingModel(t)
	want, err := Evaluate(m, toks, 8, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := EvaluateSliding(m, toks, SlidingOptions{Seq: 8, Batch: 3})
	if err != nil {
		t.Fatal(err)
	}
	if got.Tokens != want.Tokens || math.Abs(got.Loss-want.Loss) > 1e-12 || got.Windows != 5 {
		t.Fatalf("got %+v, want %+v over 5 windows", got, want)
	}
}

// Each target is scored once, from the window the Hugging Face strided
// evaluation assigns it: the first window whose end reaches it (a final
// window ends at the last token). The reference recomputes each target's
// loss one token at a time with the KV-cache decoder from that window's
// start, an independent code path from the batched forward.
func TestSlidingMatchesDecoder(t *testing.T) {
	m, toks := slidingModel(t)
	const seq = 8
	n := len(toks)
	for _, stride := range []int{1, 3, 5, 8} {
		var done []int
		got, err := EvaluateSliding(m, toks, SlidingOptions{Seq: seq, Batch: 4, Stride: stride,
			Progress: func(d, tot int) { done = append(done, d, tot) }})
		if err != nil {
			t.Fatal(err)
		}
		if got.Tokens != n-1 {
			t.Errorf("stride %d: scored %d targets, want %d", stride, got.Tokens, n-1)
		}
		if len(done) == 0 || done[len(done)-2] != done[len(done)-1] || done[len(done)-1] != got.Windows {
			t.Errorf("stride %d: progress %v, windows %d", stride, done, got.Windows)
		}
		var sum float64
		dec := m.NewDecoder()
		for tg := 1; tg < n; tg++ {
			b := 0
			if tg > seq {
				b = (tg - seq + stride - 1) / stride * stride
				if b+seq > n-1 {
					b = n - 1 - seq
				}
			}
			dec.Reset()
			var logits []float32
			for _, x := range toks[b:tg] {
				if logits, err = dec.Step(x); err != nil {
					t.Fatal(err)
				}
			}
			mx := math.Inf(-1)
			for _, z := range logits {
				mx = math.Max(mx, float64(z))
			}
			var z float64
			for _, v := range logits {
				z += math.Exp(float64(v) - mx)
			}
			sum += mx + math.Log(z) - float64(logits[toks[tg]])
		}
		want := sum / float64(n-1)
		if math.Abs(got.Loss-want) > 1e-5*want {
			t.Errorf("stride %d: loss %.7f, decoder reference %.7f", stride, got.Loss, want)
		}
		if math.Abs(got.Bits-got.Loss/math.Ln2) > 1e-12 {
			t.Errorf("bits %v for loss %v", got.Bits, got.Loss)
		}
	}
}

func TestSlidingBadArguments(t *testing.T) {
	m, toks := slidingModel(t)
	for _, o := range []SlidingOptions{{Seq: 9, Batch: 1}, {Seq: 8, Batch: 0}, {Seq: 8, Batch: 1, Stride: 9}, {Seq: 8, Batch: 1, Stride: -1}} {
		if _, err := EvaluateSliding(m, toks, o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	if _, err := EvaluateSliding(m, toks[:8], SlidingOptions{Seq: 8, Batch: 1, Stride: 4}); err == nil {
		t.Error("8 tokens for a window of 8: no error")
	}
}

func TestHeldOutIsSplitsValidation(t *testing.T) {
	toks := make([]int32, 1234)
	for i := range toks {
		toks[i] = int32(i)
	}
	ds, err := Split(toks, 16)
	if err != nil {
		t.Fatal(err)
	}
	if h := HeldOut(toks); len(h) != len(ds.Val) || h[0] != ds.Val[0] {
		t.Fatalf("HeldOut starts at %d (%d tokens), Split's validation at %d (%d)", h[0], len(h), ds.Val[0], len(ds.Val))
	}
}

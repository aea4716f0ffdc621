package model

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestSeq2SeqDecoderMatchesForward: decoding one token at a time with the
// self-attention cache over an encoded source gives, at every step, the
// logits of the teacher-forced forward pass — run on a batch whose other
// pair is longer, so the source is padded there.
func TestSeq2SeqDecoderMatchesForward(t *testing.T) {
	for name, c := range edConfigs() {
		t.Run(name, func(t *testing.T) {
			m := testModel(t, c, 21)
			rng := rand.New(rand.NewPCG(4, 4))
			b, ts, tt := 2, 5, c.MaxSeq
			x := Seq2SeqBatch{B: b, SrcT: ts, TgtT: tt, Src: randTokens(rng, b*ts, c.Vocab), SrcLens: []int32{5, 3}, Tgt: randTokens(rng, b*tt, c.Vocab)}
			if _, err := m.ForwardSeq2Seq(x); err != nil {
				t.Fatal(err)
			}
			want := append([]float32(nil), m.Logits()...)
			v := c.Vocab
			for bi := 0; bi < b; bi++ {
				src, err := m.EncodeSource(x.Src[bi*ts : bi*ts+int(x.SrcLens[bi])])
				if err != nil {
					t.Fatal(err)
				}
				dec, err := m.NewSeq2SeqDecoder(src)
				if err != nil {
					t.Fatal(err)
				}
				for i := 0; i < tt; i++ {
					got, err := dec.Step(x.Tgt[bi*tt+i])
					if err != nil {
						t.Fatal(err)
					}
					r := bi*tt + i
					compare(t, "step logits", got, want[r*v:(r+1)*v])
				}
				if _, err := dec.Step(1); err == nil || !strings.Contains(err.Error(), "context of 7 tokens is full") {
					t.Errorf("step past the context: %v", err)
				}
			}
		})
	}
}

// peaky gives a test model larger weights, so that its distributions are
// far from uniform and searches make real choices.
func peaky(t *testing.T, c Config, seed uint64) *Model {
	m := testModel(t, c, seed)
	for _, ti := range m.Layout.Tensors {
		if len(ti.Shape) == 2 {
			for i := range m.Param(ti.Name) {
				m.Param(ti.Name)[i] *= 3
			}
		}
	}
	return m
}

// TestBeamOneIsGreedy: beam search with a beam of 1 returns greedy
// decoding's tokens, log probability and score exactly, with and without a
// length penalty, whether the end id or the length limit stops it.
func TestBeamOneIsGreedy(t *testing.T) {
	finished := 0
	for name, c := range edConfigs() {
		m := peaky(t, c, 8)
		rng := rand.New(rand.NewPCG(6, 6))
		for trial := 0; trial < 6; trial++ {
			src := randTokens(rng, 1+rng.IntN(c.MaxSeq), c.Vocab)
			o := GenerateOptions{BOS: 0, EOS: int32(trial % c.Vocab), MaxLen: 1 + rng.IntN(c.MaxSeq), Beam: 1, LengthPenalty: float64(trial%3) * 0.6}
			g, err := m.Greedy(src, o)
			if err != nil {
				t.Fatal(err)
			}
			bs, err := m.BeamSearch(src, o)
			if err != nil {
				t.Fatal(err)
			}
			if len(bs) != 1 || !equalIDs(bs[0].Tokens, g.Tokens) || bs[0].LogProb != g.LogProb || bs[0].Score != g.Score || bs[0].Finished != g.Finished {
				t.Errorf("%s trial %d: greedy %+v, beam 1 %+v", name, trial, g, bs)
			}
			if g.Finished {
				finished++
			}
		}
	}
	if finished == 0 {
		t.Error("no greedy decode ended at the end id: the test never covers it")
	}
}

func equalIDs(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestBeamSearchScores: every hypothesis a beam of 3 returns has the log
// probability that the teacher-forced forward pass gives its tokens (and
// its end id when finished), the score LogProb / length^α, and the list is
// best first; a wider beam finds a best score no worse than greedy's here.
func TestBeamSearchScores(t *testing.T) {
	c := edBase()
	c.PostLN, c.Vocab = true, 6
	m := peaky(t, c, 2)
	rng := rand.New(rand.NewPCG(8, 8))
	for trial := 0; trial < 5; trial++ {
		src := randTokens(rng, 2+rng.IntN(4), c.Vocab)
		o := GenerateOptions{BOS: 5, EOS: 4, MaxLen: 6, Beam: 3, LengthPenalty: 1}
		hs, err := m.BeamSearch(src, o)
		if err != nil {
			t.Fatal(err)
		}
		if len(hs) < 1 || len(hs) > o.Beam {
			t.Fatalf("%d hypotheses", len(hs))
		}
		for i, h := range hs {
			if i > 0 && h.Score > hs[i-1].Score {
				t.Errorf("hypotheses not best first: %g after %g", h.Score, hs[i-1].Score)
			}
			tgt := append([]int32{o.BOS}, h.Tokens...)
			targets := append(append([]int32(nil), h.Tokens...), o.EOS)
			n := len(h.Tokens)
			if h.Finished {
				n++
			} else {
				tgt, targets = tgt[:n], targets[:n]
			}
			if _, err := m.ForwardSeq2Seq(Seq2SeqBatch{B: 1, SrcT: len(src), TgtT: n, Src: src, Tgt: tgt, Targets: targets}); err != nil {
				t.Fatal(err)
			}
			var lp float64
			for r, id := range targets {
				row := make([]float64, c.Vocab)
				logSoftmax(row, m.Logits()[r*c.Vocab:(r+1)*c.Vocab])
				lp += row[id]
			}
			if math.Abs(lp-h.LogProb) > 1e-4*(1+math.Abs(lp)) {
				t.Errorf("hypothesis %v: log prob %g, forward pass %g", h.Tokens, h.LogProb, lp)
			}
			if want := h.LogProb / float64(n); math.Abs(h.Score-want) > 1e-12 {
				t.Errorf("score %g, want %g", h.Score, want)
			}
		}
		g, err := m.Greedy(src, o)
		if err != nil {
			t.Fatal(err)
		}
		if hs[0].Score < g.Score-1e-9 {
			t.Errorf("beam 3 best %g below greedy %g", hs[0].Score, g.Score)
		}
	}
}

func TestGenerateErrors(t *testing.T) {
	c := edBase()
	m := testModel(t, c, 1)
	ok := GenerateOptions{BOS: 0, EOS: 1, MaxLen: 3, Beam: 2}
	for _, tc := range []struct {
		src  []int32
		o    GenerateOptions
		want string
	}{
		{nil, ok, "source is empty"},
		{make([]int32, 8), ok, "source length 8 exceeds the encoder's context of 7"},
		{[]int32{3, 11}, ok, "source[1] = 11"},
		{[]int32{1}, GenerateOptions{BOS: 0, EOS: 1, MaxLen: 0, Beam: 1}, "max length 0"},
		{[]int32{1}, GenerateOptions{BOS: 0, EOS: 1, MaxLen: 8, Beam: 1}, "max length 8"},
		{[]int32{1}, GenerateOptions{BOS: 11, EOS: 1, MaxLen: 2, Beam: 1}, "start/end id 11"},
		{[]int32{1}, GenerateOptions{BOS: 0, EOS: 1, MaxLen: 2, Beam: 0}, "beam 0"},
		{[]int32{1}, GenerateOptions{BOS: 0, EOS: 1, MaxLen: 2, Beam: 1, LengthPenalty: math.NaN()}, "length penalty"},
	} {
		if _, err := m.BeamSearch(tc.src, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("BeamSearch(%v, %+v): %v, want %q", tc.src, tc.o, err, tc.want)
		}
	}
	if _, err := m.Greedy(nil, ok); err == nil {
		t.Error("Greedy on an empty source succeeded")
	}
	other := testModel(t, c, 2)
	s, _ := other.EncodeSource([]int32{1, 2})
	if _, err := m.NewSeq2SeqDecoder(s); err == nil {
		t.Error("a decoder over another model's source")
	}
	d, _ := New(Tiny())
	if _, err := d.EncodeSource([]int32{1}); err == nil {
		t.Error("EncodeSource on a decoder succeeded")
	}
	dec, _ := m.NewSeq2SeqDecoder(func() *Source { s, _ := m.EncodeSource([]int32{1}); return s }())
	if _, err := dec.Step(-1); err == nil {
		t.Error("Step(-1) succeeded")
	}
}

func TestTopK(t *testing.T) {
	x := []float64{1, 5, 3, 5, -1, 3, 7}
	for _, tc := range []struct {
		k    int
		want []int
	}{{1, []int{6}}, {3, []int{6, 1, 3}}, {5, []int{6, 1, 3, 2, 5}}, {10, []int{6, 1, 3, 2, 5, 0, 4}}} {
		got := topK(nil, x, tc.k)
		if len(got) != len(tc.want) {
			t.Fatalf("topK(%d) = %v, want %v", tc.k, got, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Fatalf("topK(%d) = %v, want %v", tc.k, got, tc.want)
			}
		}
	}
}

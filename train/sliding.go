package train

import (
	"fmt"
	"math"

	"github.com/tformer/tformer/model"
)

// SlidingOptions configure EvaluateSliding.
type SlidingOptions struct {
	Seq   int // window length in tokens (at most the model's context)
	Batch int // windows per forward pass
	// Stride is the step between window starts. 0 means Seq and the old
	// non-overlapping evaluation: consecutive windows, a last partial one
	// dropped, exactly what Evaluate (and training's validation) scores.
	// With 0 < Stride <= Seq, each window scores only the tokens the
	// previous one did not (its last Stride targets; the first window
	// scores all of its Seq), so every token but the first few is predicted
	// from at least Seq-Stride tokens of context, and a final window ending
	// at the last token scores whatever is left: every token after the
	// first is scored exactly once.
	Stride int
	// Progress, when not nil, is called after each forward pass with the
	// windows done and their total.
	Progress func(done, total int)
}

// SlidingResult is what EvaluateSliding measured.
type SlidingResult struct {
	Loss       float64 `json:"loss"`       // mean next-token cross-entropy, nats per token
	Bits       float64 `json:"bits"`       // the same in bits per token (Loss / ln 2)
	Perplexity float64 `json:"perplexity"` // exp(Loss)
	// Tokens is the number of targets scored: they are always the
	// contiguous run tokens[1 : 1+Tokens].
	Tokens  int     `json:"tokens"`
	Windows int     `json:"windows"` // forward windows run
	Sum     float64 `json:"-"`       // total loss in nats (Loss · Tokens)
}

// window is one evaluation window: inputs tokens[start:start+seq], of whose
// targets the positions from `from` on are scored.
type window struct{ start, from int }

// slidingWindows lists the windows of a sliding evaluation of n tokens.
func slidingWindows(n, seq, stride int) []window {
	if n < seq+1 {
		return nil
	}
	if stride == 0 {
		ws := make([]window, (n-1)/seq)
		for i := range ws {
			ws[i] = window{i * seq, 0}
		}
		return ws
	}
	var ws []window
	end := 0 // targets 1..end are scored
	b := 0
	for ; b+seq <= n-1; b += stride {
		ws = append(ws, window{b, end - b})
		end = b + seq
	}
	if end < n-1 {
		b = n - 1 - seq
		ws = append(ws, window{b, end - b})
	}
	return ws
}

// EvaluateSliding scores m, a decoder, on tokens with windows of o.Seq
// tokens stepping by o.Stride (see SlidingOptions), as the Hugging Face
// perplexity guide's strided evaluation does.
func EvaluateSliding(m *model.Model, tokens []int32, o SlidingOptions) (SlidingResult, error) {
	seq, batch, stride := o.Seq, o.Batch, o.Stride
	switch {
	case m.Config.IsEncoder():
		return SlidingResult{}, fmt.Errorf("evaluate: next-token evaluation needs a decoder; this model is an encoder")
	case seq <= 0 || batch <= 0:
		return SlidingResult{}, fmt.Errorf("evaluate: seq and batch must be positive")
	case seq > m.Config.MaxSeq:
		return SlidingResult{}, fmt.Errorf("evaluate: seq %d exceeds the model's context of %d", seq, m.Config.MaxSeq)
	case stride < 0 || stride > seq:
		return SlidingResult{}, fmt.Errorf("evaluate: stride must be in [1, seq %d] (or 0 for non-overlapping windows), got %d", seq, stride)
	}
	ws := slidingWindows(len(tokens), seq, stride)
	if len(ws) == 0 {
		return SlidingResult{}, fmt.Errorf("evaluate: %d tokens is too short for one window of %d (need %d)", len(tokens), seq, seq+1)
	}
	bb := min(batch, len(ws)) // windows per forward pass; a short last batch is padded (see evaluator)
	in, tg := make([]int32, bb*seq), make([]int32, bb*seq)
	var sum float64
	n := 0
	for s := 0; s < len(ws); s += bb {
		b := min(bb, len(ws)-s)
		for r := 0; r < bb; r++ {
			o := ws[s+min(r, b-1)].start
			copy(in[r*seq:(r+1)*seq], tokens[o:o+seq])
			copy(tg[r*seq:(r+1)*seq], tokens[o+1:o+seq+1])
		}
		if _, err := m.Forward(in, tg, bb, seq); err != nil {
			return SlidingResult{}, err
		}
		ls := m.Losses()
		for r := 0; r < b; r++ {
			for _, l := range ls[r*seq+ws[s+r].from : (r+1)*seq] {
				sum += float64(l)
				n++
			}
		}
		if o.Progress != nil {
			o.Progress(s+b, len(ws))
		}
	}
	l := sum / float64(n)
	return SlidingResult{Loss: l, Bits: l / math.Ln2, Perplexity: math.Exp(l), Tokens: n, Windows: len(ws), Sum: sum}, nil
}

// HeldOut returns the validation split Split cuts from tokens: their last
// ValFraction, which a model trained on tokens never saw.
func HeldOut(tokens []int32) []int32 {
	return tokens[len(tokens)-int(float64(len(tokens))*ValFraction):]
}

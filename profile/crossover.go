package profile

import (
	"fmt"
	"math"
	"slices"

	"github.com/tformer/tformer/cost"
	"github.com/tformer/tformer/kernels"
)

// Crossover compares multi-head attention with the FFN across the profiled
// lengths, in measured time and in FLOPs. MHA is the rows of QKV, the
// attention core and the output projection (with rotary embeddings when the
// model has them); FFN the rows of the FFN's matmuls and activation.
type Crossover struct {
	// TimeRatio and FLOPRatio are MHA / FFN per profiled n (in PerSeq
	// order): measured time, and the analytical FLOPs of the same passes.
	TimeRatio []float64 `json:"time_mha_over_ffn"`
	FLOPRatio []float64 `json:"flops_mha_over_ffn"`
	// Time is the n at which the measured MHA time equals the FFN's,
	// interpolated (log n against log ratio) between the two profiled
	// lengths around it; nil when the ratio does not cross 1 in the sweep.
	// TimeBelow is set when MHA already takes longer at the shortest n.
	Time      *float64 `json:"time_mha_equals_ffn"`
	TimeBelow bool     `json:"time_mha_exceeds_ffn_at_shortest,omitempty"`
	// FLOPs is cost's exact MHA = FFN crossover of the profiled passes
	// (causal for decoders; forward + backward when the profile trains).
	FLOPs *float64 `json:"flops_mha_equals_ffn"`
}

var (
	mhaParts = []kernels.Component{kernels.QKV, kernels.Rope, kernels.Scores, kernels.Softmax, kernels.AV, kernels.AttnOut}
	ffnParts = []kernels.Component{kernels.FFNGate, kernels.FFNUp, kernels.GELU, kernels.GLU, kernels.FFNDown}
)

// inParts reports whether every component of a row is one of parts.
func inParts(row Row, parts []kernels.Component) bool {
	if len(row.Parts) == 0 {
		return false
	}
	for _, p := range row.Parts {
		if !slices.ContainsFunc(parts, func(k kernels.Component) bool { return k.String() == p }) {
			return false
		}
	}
	return true
}

// crossover computes r's Crossover (nil for an empty report).
func (r *Report) crossover() *Crossover {
	if len(r.PerSeq) == 0 {
		return nil
	}
	x := &Crossover{}
	for _, s := range r.PerSeq {
		var mt, ft, mf, ff float64
		for _, row := range s.Rows {
			switch {
			case inParts(row, mhaParts):
				mt, mf = mt+row.Seconds, mf+row.FLOPShare
			case inParts(row, ffnParts):
				ft, ff = ft+row.Seconds, ff+row.FLOPShare
			}
		}
		x.TimeRatio = append(x.TimeRatio, ratio(mt, ft))
		x.FLOPRatio = append(x.FLOPRatio, ratio(mf, ff))
	}
	x.Time, x.TimeBelow = crossing(r.PerSeq, x.TimeRatio)
	c := cost.ForModel(r.Model).Crossovers(!r.Model.IsEncoder(), r.Train)
	x.FLOPs = c.MHAEqualsFFN
	return x
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return math.Inf(1)
	}
	return a / b
}

// crossing returns where ratios (one per profiled n, in increasing n)
// first rise through 1, interpolating log ratio linearly in log n, and
// whether it is already at or above 1 at the shortest n.
func crossing(seqs []Seq, ratios []float64) (*float64, bool) {
	if len(ratios) == 0 {
		return nil, false
	}
	if ratios[0] >= 1 {
		return nil, true
	}
	for i := 1; i < len(ratios); i++ {
		a, b := ratios[i-1], ratios[i]
		if a < 1 && b >= 1 && a > 0 && !math.IsInf(b, 1) {
			la, lb := math.Log(float64(seqs[i-1].Seq)), math.Log(float64(seqs[i].Seq))
			t := -math.Log(a) / (math.Log(b) - math.Log(a))
			n := math.Exp(la + t*(lb-la))
			return &n, false
		}
	}
	return nil, false
}

// describe says where the two crossovers are, in whole tokens.
func (x *Crossover) describe(r *Report) string {
	lo, hi := r.PerSeq[0].Seq, r.PerSeq[len(r.PerSeq)-1].Seq
	var tm string
	switch {
	case x.Time != nil:
		tm = fmt.Sprintf("measured time: MHA = FFN at n ≈ %.0f (interpolated within the sweep)", math.Round(*x.Time))
	case x.TimeBelow:
		tm = fmt.Sprintf("measured time: MHA already takes longer than the FFN at n = %d", lo)
	default:
		tm = fmt.Sprintf("measured time: MHA stays below the FFN up to n = %d", hi)
	}
	pass := "forward"
	if r.Train {
		pass = "forward + backward"
	}
	conv := "causal"
	if r.Model.IsEncoder() {
		conv = "bidirectional"
	}
	fl := "FLOPs: no MHA = FFN crossover"
	if x.FLOPs != nil {
		fl = fmt.Sprintf("FLOPs (cost, exact, %s %s): MHA = FFN at n ≈ %.0f", conv, pass, math.Round(*x.FLOPs))
	}
	return "  " + tm + "; " + fl
}

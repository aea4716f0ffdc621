package cost

import (
	"bytes"
	"strings"
	"testing"
)

// Series that lie on each other (av on scores; ffn_down on ffn_up, a bias
// add apart) are drawn dashed over them and say so in the legend; the
// crossovers are named in the legend with their convention; a sweep with no
// crossover in range says where they are.
func TestPlotNamesCoincidentSeriesAndCrossovers(t *testing.T) {
	s, _ := Preset("gpt2")
	r, err := NewReport(s, Options{Seqs: []int{128, 1024, 8192}, Causal: true})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.Plot(&buf, "svg"); err != nil {
		t.Fatal(err)
	}
	svg := buf.String()
	for _, want := range []string{"av (dashed, = scores)", "ffn_down (dashed, ≈ ffn_up, ±0.033%)", "crossovers:",
		"MHA = FFN, causal fwd: n ≈ 3022", "matmul-only MHA = FFN, bidir. fwd: n = 1536"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the chart lacks %q", want)
		}
	}
	r, err = NewReport(s, Options{Seqs: []int{64, 128}, Causal: true})
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := r.Plot(&buf, "svg"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "no MHA = FFN or QKᵀ+AV = FFN crossover within n = 64..128") || !strings.Contains(buf.String(), "causal fwd, they are at MHA = FFN: n ≈ 3022") {
		t.Error("a chart without crossovers in range does not say where they are")
	}
	// With --train the chart is of the training step, and its crossovers
	// are the training ones, labelled so.
	r, err = NewReport(s, Options{Seqs: []int{128, 1024, 8192}, Causal: true, Train: true})
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := r.Plot(&buf, "svg"); err != nil {
		t.Fatal(err)
	}
	want := "MHA = FFN, causal fwd+bwd: " + crossText(r.Crossover.Train.MHAEqualsFFN)
	if !strings.Contains(buf.String(), want) || !strings.Contains(buf.String(), "training step (forward + backward)") {
		t.Errorf("the training chart lacks %q", want)
	}
}

package profile

import (
	"bytes"
	"strings"
	"testing"
)

// ffn_down's analytical FLOP share equals ffn_up's: its dashed line is
// drawn with its dashes in the other's gaps (a dash offset), so that it is
// not hidden under it.
func TestPlotCoincidentSharesStayVisible(t *testing.T) {
	r, err := Run(tiny(), []int{2, 4}, 1, 0, 1, true)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := r.Plot(&b, "svg"); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), "stroke-dashoffset"); n != 1 {
		t.Errorf("%d lines drawn with a dash offset, want 1 (ffn_down's FLOP share over ffn_up's)", n)
	}
}

// The share chart marks the crossovers that fall within the sweep and
// names them in the legend.
func TestPlotMarksCrossovers(t *testing.T) {
	r, err := Run(tiny(), []int{2, 4}, 1, 0, 1, true)
	if err != nil {
		t.Fatal(err)
	}
	at, flops := 3.0, 2.5
	r.Crossover.Time, r.Crossover.FLOPs = &at, &flops
	var b bytes.Buffer
	if err := r.Plot(&b, "svg"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"MHA = FFN in measured time: n ≈ 3", "MHA = FFN in FLOPs (cost, exact): n ≈ 3"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the chart lacks %q", want)
		}
	}
	far := 100.0
	r.Crossover.Time, r.Crossover.FLOPs = &far, nil
	b.Reset()
	if err := r.Plot(&b, "svg"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "MHA = FFN in") {
		t.Error("a crossover outside the sweep is marked")
	}
}

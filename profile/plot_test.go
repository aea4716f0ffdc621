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

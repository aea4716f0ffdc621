package profile

import (
	"math"
	"testing"
)

func TestCrossing(t *testing.T) {
	seqs := []Seq{{Seq: 256}, {Seq: 512}, {Seq: 1024}, {Seq: 2048}}
	// log ratio linear in log n: 0.5 at 512, 2 at 2048 -> 1 at 1024.
	n, below := crossing(seqs, []float64{0.25, 0.5, 0.999999, 2})
	if n == nil || below || math.Abs(*n-1024) > 0.01 {
		t.Errorf("crossing = %v %v, want ≈1024", n, below)
	}
	n, _ = crossing(seqs, []float64{0.25, 0.5, 1.0 / math.Sqrt2, math.Sqrt2})
	if n == nil || math.Abs(*n-math.Sqrt(1024*2048)) > 0.01 {
		t.Errorf("crossing between 1024 and 2048 = %v, want their geometric mean", n)
	}
	if n, below := crossing(seqs, []float64{1.2, 0.5, 0.7, 2}); n != nil || !below {
		t.Errorf("ratio above 1 at the shortest n: %v %v", n, below)
	}
	if n, below := crossing(seqs, []float64{0.2, 0.3, 0.4, 0.5}); n != nil || below {
		t.Errorf("no crossing: %v %v", n, below)
	}
}

// The report's crossover compares the MHA and FFN rows: its FLOP ratio is
// that of cost's counts, and its FLOP crossover cost's exact one.
func TestReportCrossover(t *testing.T) {
	r, err := Run(tiny(), []int{2, 4, 8}, 1, 0, 1, true)
	if err != nil {
		t.Fatal(err)
	}
	x := r.Crossover
	if x == nil || len(x.TimeRatio) != 3 || len(x.FLOPRatio) != 3 {
		t.Fatalf("crossover %+v", x)
	}
	for i := 1; i < 3; i++ {
		if !(x.FLOPRatio[i] > x.FLOPRatio[i-1]) {
			t.Errorf("FLOP ratio %v does not grow with n", x.FLOPRatio)
		}
	}
	if x.FLOPs == nil || *x.FLOPs <= 0 {
		t.Errorf("no FLOP crossover: %v", x.FLOPs)
	}
}

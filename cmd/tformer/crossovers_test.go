package main

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/tformer/tformer/cost"
)

// The README's story of the three crossovers quotes the numbers cost
// computes for transformer-base: the matmul-only ones, the engine's causal
// and bidirectional forward ones, and the training step's.
func TestREADMECrossoverStory(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	s, err := cost.Preset("transformer-base-decoder")
	if err != nil {
		t.Fatal(err)
	}
	whole := func(x *float64) string {
		if x == nil {
			t.Fatal("no crossover")
		}
		if *x == math.Trunc(*x) {
			return fmt.Sprintf("n = %.0f", *x)
		}
		return fmt.Sprintf("n ≈ %.0f", math.Round(*x))
	}
	mm := s.MatmulCrossovers()
	causal, bidir, train := s.Crossovers(true, false), s.Crossovers(false, false), s.Crossovers(true, true)
	for _, want := range []string{
		"MHA = FFN at **" + whole(mm.MHAEqualsFFN) + "**", "QKᵀ + AV = FFN at **" + whole(mm.CoreEqualsFFN) + "**",
		"MHA = FFN at **" + whole(causal.MHAEqualsFFN) + "**", "QKᵀ + AV = FFN at **" + whole(causal.CoreEqualsFFN) + "**",
		fmt.Sprintf("Bidirectional (an encoder) they are %.0f and %.0f", math.Round(*bidir.MHAEqualsFFN), math.Round(*bidir.CoreEqualsFFN)),
		"**" + whole(train.MHAEqualsFFN) + "** and **" + whole(train.CoreEqualsFFN) + "**",
	} {
		if !strings.Contains(readme, want) {
			t.Errorf("README.md lacks %q", want)
		}
	}
}

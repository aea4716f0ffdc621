package gpt2arch

import (
	"strings"
	"testing"

	"github.com/tformer/tformer/model"
)

func TestCheck(t *testing.T) {
	c := model.Config{Vocab: 11, DModel: 8, Layers: 2, Heads: 2, DFF: 32, MaxSeq: 4, Tie: true, Share: model.ShareNone, Groups: 1}
	for _, cfg := range []model.Config{c, {Vocab: 11, DModel: 8, Layers: 4, Heads: 2, DFF: 20, MaxSeq: 4, Tie: false, Share: model.ShareAll, Groups: 2}} {
		m, err := model.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := Check(m); err != nil {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
	// A model whose parameters are not GPT-2's for its config.
	m, _ := model.New(c)
	untied := c
	untied.Tie = false
	m.Layout = model.NewLayout(untied)
	if err := Check(m); err == nil || !strings.Contains(err.Error(), "lm_head [11x8]") {
		t.Errorf("extra lm_head: %v", err)
	}
	m.Config = untied
	m.Layout = model.NewLayout(c)
	if err := Check(m); err == nil || !strings.Contains(err.Error(), "lacks GPT-2's lm_head") {
		t.Errorf("missing lm_head: %v", err)
	}
}

// TestCheckNumerics: GPT-2's formats cannot record another GELU or eps, so
// a model using them is refused rather than written with a silent change.
func TestCheckNumerics(t *testing.T) {
	base := model.Config{Vocab: 11, DModel: 8, Layers: 1, Heads: 2, DFF: 32, MaxSeq: 4, Tie: true, Share: model.ShareNone, Groups: 1}
	erf, eps := base, base
	erf.Activation = model.GELUErf
	eps.LayerNormEps = 1e-12
	for _, c := range []model.Config{erf, eps} {
		m, err := model.New(c)
		if err != nil {
			t.Fatal(err)
		}
		if err := Check(m); err == nil || !strings.Contains(err.Error(), "tanh GELU and eps 1e-5") {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

// Package gpt2arch checks that a tformer model has exactly GPT-2's
// parameters, the precondition for writing it in another program's GPT-2
// format (Hugging Face, llm.c).
package gpt2arch

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tformer/tformer/model"
)

// Check returns an error if m's parameters are not those of a GPT-2
// decoder of the same shape, tying and sharing: wte, wpe, the attention and
// FFN blocks, lnf and, when untied, lm_head, with GPT-2's shapes. Models
// with anything else (an encoder's tables, a factorized embedding's
// projection, an output head) have no place in GPT-2's formats.
func Check(m *model.Model) error {
	c := m.Config
	if cc := c.Canonical(); cc.Activation != "" || cc.LayerNormEps != 0 {
		return fmt.Errorf("this model uses %s and LayerNorm eps %g; GPT-2's formats fix the tanh GELU and eps 1e-5", c.Activation, c.LayerNormEps)
	}
	if c.SlidingWindow != 0 || c.AttnSoftcap != 0 || c.FinalSoftcap != 0 || c.QueryScalar != 0 {
		return fmt.Errorf("this model uses a sliding window (%d), soft-capping (%g, %g) or a query scalar (%g); GPT-2's formats have full attention and plain logits", c.SlidingWindow, c.AttnSoftcap, c.FinalSoftcap, c.QueryScalar)
	}
	plain := model.Config{Vocab: c.Vocab, DModel: c.DModel, Layers: c.Layers, Heads: c.Heads, DFF: c.DFF,
		MaxSeq: c.MaxSeq, Tie: c.Tie, Share: c.Share, Groups: c.Groups}
	want := model.NewLayout(plain)
	var extra, missing []string
	for _, t := range m.Layout.Tensors {
		w, ok := want.Lookup(t.Name)
		if !ok || !slices.Equal(w.Shape, t.Shape) {
			extra = append(extra, fmt.Sprintf("%s [%s]", t.Name, model.ShapeString(t.Shape)))
		}
	}
	for _, t := range want.Tensors {
		if _, ok := m.Layout.Lookup(t.Name); !ok {
			missing = append(missing, t.Name)
		}
	}
	if len(extra) == 0 && len(missing) == 0 {
		return nil
	}
	msg := "this model is not a GPT-2-style decoder"
	if len(extra) > 0 {
		msg += fmt.Sprintf("; it has parameters GPT-2 has no place for: %s", strings.Join(extra, ", "))
	}
	if len(missing) > 0 {
		msg += fmt.Sprintf("; it lacks GPT-2's %s", strings.Join(missing, ", "))
	}
	return fmt.Errorf("%s", msg)
}

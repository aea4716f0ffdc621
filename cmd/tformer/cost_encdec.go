package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/tformer/tformer/cost"
)

// costEncDecRun prints an encoder–decoder preset's parameters, per-component
// forward FLOPs at each (source, target) length pair and memory.
func costEncDecRun(w io.Writer, preset, src, tgt string) error {
	if preset == "" {
		return errors.New("--src-seq/--tgt-seq need --preset, one of " + strings.Join(cost.EncDecPresets(), ", "))
	}
	s, err := cost.EncDecPreset(preset)
	if err != nil {
		return fmt.Errorf("--preset: %w", err)
	}
	ns, err := parseLens(src, "--src-seq")
	if err != nil {
		return err
	}
	nt, err := parseLens(tgt, "--tgt-seq")
	if err != nil {
		return err
	}
	for _, a := range ns {
		for _, b := range nt {
			if _, err := s.FLOPs(a, b); err != nil {
				return fmt.Errorf("--src-seq/--tgt-seq: %w", err)
			}
		}
	}
	p := s.Params()
	fmt.Fprintf(w, "%s: encoder-decoder, d %d, %d+%d layers, tie %s\n", s.Name, s.DModel, s.EncLayers, s.DecLayers, s.Tie)
	fmt.Fprintf(w, "params: unique %d, applied %d (embedding %d, positions %d, encoder %d, decoder %d, buffers %d)\n",
		p.Unique(), p.Applied, p.Embedding, p.Positions, p.Encoder, p.Decoder, p.Buffers)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "n_s\tn_t\tenc self-attn\tdec self-attn\tcross-attn\tFFN\tlogits\ttotal fwd\ttrain\tactivations MB\t")
	for _, a := range ns {
		for _, b := range nt {
			f, err := s.FLOPs(a, b)
			if err != nil {
				return fmt.Errorf("--src-seq/--tgt-seq: %w", err)
			}
			m, err := s.Memory(a, b)
			if err != nil {
				return fmt.Errorf("--src-seq/--tgt-seq: %w", err)
			}
			fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.1f\t\n", a, b, f.EncSelf.Total(), f.DecSelf.Total(), f.Cross.Total(),
				f.EncFFN+f.DecFFN, f.Logits, f.Total(), f.Training, float64(m.Activations)/1e6)
		}
	}
	tw.Flush()
	m, _ := s.Memory(ns[0], nt[0])
	fmt.Fprintf(w, "memory: weights %d bytes, training state (weights, grads, AdamW) %d bytes\n", m.Weights, m.TrainState)
	fmt.Fprintf(w, "crossovers: cross-attn scores+AV = decoder FFN at n_s = %.0f; encoder self-attn = FFN at n_s = %.0f\n",
		s.CrossoverCross(), s.CrossoverEncSelf())
	return nil
}

func parseLens(s, flag string) ([]int, error) {
	if s == "" {
		return nil, fmt.Errorf("%s: give a comma-separated list of lengths", flag)
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%s: %q is not a positive length", flag, f)
		}
		out = append(out, n)
	}
	return out, nil
}

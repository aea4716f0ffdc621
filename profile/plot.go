package profile

import (
	"fmt"
	"github.com/tformer/tformer/kernels"
	"image/color"
	"io"
	"math"
	"strconv"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/tformer/tformer/internal/chart"
)

var palette = chart.Palette

// Plot charts the report into w as SVG (format "svg") or PNG ("png"): on
// top, each row's measured share of time (solid) beside its analytical
// share of FLOPs (dashed, same colour) against n; below, each row's
// achieved GFLOP/s against n.
func (r *Report) Plot(w io.Writer, format string) error {
	if len(r.PerSeq) == 0 {
		return fmt.Errorf("plot: no sequence lengths")
	}
	top, err := r.sharePlot()
	if err != nil {
		return err
	}
	bottom, err := r.gflopsPlot()
	if err != nil {
		return err
	}
	width, height := 9*vg.Inch, 11*vg.Inch
	return chart.WriteStacked(w, format, top, bottom, width, height, 0.45)
}

// PlotFile writes the chart to path, SVG or PNG by its extension.
func (r *Report) PlotFile(path string) error { return chart.WriteFile(path, r.Plot) }

// seqAxis puts n on a log axis with a tick at every measured length.
func (r *Report) seqAxis(p *plot.Plot) {
	p.X.Label.Text = "sequence length n"
	var ticks []plot.Tick
	lo, hi := r.PerSeq[0].Seq, r.PerSeq[0].Seq
	for _, s := range r.PerSeq {
		ticks = append(ticks, plot.Tick{Value: float64(s.Seq), Label: strconv.Itoa(s.Seq)})
		lo, hi = min(lo, s.Seq), max(hi, s.Seq)
	}
	if lo > 0 && hi > lo {
		p.X.Scale = plot.LogScale{}
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.Add(plotter.NewGrid())
}

// line adds one series to p; with positive set, points at or below zero
// (which a log axis cannot show) are left out, and so is an empty series.
func (r *Report) line(p *plot.Plot, i int, val func(Seq) float64, dashed, positive bool) (*plotter.Line, error) {
	xys := make(plotter.XYs, 0, len(r.PerSeq))
	for _, s := range r.PerSeq {
		if y := val(s); !positive || y > 0 {
			xys = append(xys, plotter.XY{X: float64(s.Seq), Y: y})
		}
	}
	if len(xys) == 0 {
		return nil, nil
	}
	l, err := plotter.NewLine(xys)
	if err != nil {
		return nil, err
	}
	l.Color = palette[i%len(palette)]
	l.Width = vg.Points(1.6)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		l.Width = vg.Points(1.1)
	}
	p.Add(l)
	if len(xys) == 1 {
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, err
		}
		sc.Color = l.Color
		p.Add(sc)
	}
	return l, nil
}

func (r *Report) sharePlot() (*plot.Plot, error) {
	p := plot.New()
	layers := fmt.Sprintf("%d layers", r.Model.Layers)
	if r.Model.Layers == 1 {
		layers = "1 layer"
	}
	p.Title.Text = fmt.Sprintf("measured share of time (solid) vs analytical share of FLOPs (dashed); d=%d, %s, batch %d",
		r.Model.DModel, layers, r.Batch)
	p.Y.Label.Text = "share of the step (%)"
	p.Y.Tick.Marker = chart.TrimmedTicks{Ticker: plot.DefaultTicks{}}
	r.seqAxis(p)
	top := 0.0
	var shares []plotter.XYs // the dashed FLOP-share lines drawn so far
	for i, row := range r.PerSeq[0].Rows {
		l, err := r.line(p, i, func(s Seq) float64 { return 100 * s.Rows[i].TimeShare }, false, false)
		if err != nil {
			return nil, err
		}
		p.Legend.Add(row.Name, l)
		for _, s := range r.PerSeq {
			top = max(top, 100*s.Rows[i].TimeShare, 100*s.Rows[i].FLOPShare)
		}
		if row.Key == OtherKey {
			continue
		}
		dl, err := r.line(p, i, func(s Seq) float64 { return 100 * s.Rows[i].FLOPShare }, true, false)
		if err != nil || dl == nil {
			return nil, err
		}
		// ffn_down's FLOP share is ffn_up's (the same matmul shape, a bias
		// apart): dashes in the gaps of the other's keep both colours visible.
		for _, d := range shares {
			if _, ok := chart.Coincide(d, dl.XYs); ok {
				dl.DashOffs = dl.Dashes[0]
				break
			}
		}
		shares = append(shares, dl.XYs)
	}
	p.Y.Min, p.Y.Max = 0, max(top*1.08, 1)
	if err := r.markCrossovers(p, 0, p.Y.Max); err != nil {
		return nil, err
	}
	return p, nil
}

// markCrossovers draws, as vertical lines from lo to hi named in the
// legend, where MHA's measured time equals the FFN's and where its FLOPs
// do, when they fall within the profiled lengths.
func (r *Report) markCrossovers(p *plot.Plot, lo, hi float64) error {
	x := r.Crossover
	if x == nil || len(r.PerSeq) == 0 {
		return nil
	}
	first, last := float64(r.PerSeq[0].Seq), float64(r.PerSeq[len(r.PerSeq)-1].Seq)
	for _, c := range []struct {
		name   string
		at     *float64
		color  color.Color
		dashes []vg.Length
	}{
		{"MHA = FFN in measured time", x.Time, color.Black, nil},
		{"MHA = FFN in FLOPs (cost, exact)", x.FLOPs, color.Gray{Y: 140}, []vg.Length{vg.Points(6), vg.Points(3)}},
	} {
		if c.at == nil || *c.at < first || *c.at > last {
			continue
		}
		l, err := plotter.NewLine(plotter.XYs{{X: *c.at, Y: lo}, {X: *c.at, Y: hi}})
		if err != nil {
			return err
		}
		l.Color, l.Dashes, l.Width = c.color, c.dashes, vg.Points(2)
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("%s: n ≈ %.0f", c.name, math.Round(*c.at)), l)
	}
	return nil
}

func (r *Report) gflopsPlot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("achieved GFLOP/s per component, log scale (%d threads)", r.Threads)
	p.Y.Label.Text = "GFLOP/s"
	r.seqAxis(p)
	p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	lo, hi := math.Inf(1), 0.0
	add := func(i int, name string, val func(Seq) float64, dashed bool) error {
		l, err := r.line(p, i, val, dashed, true)
		if err != nil || l == nil {
			return err
		}
		p.Legend.Add(name, l)
		for _, xy := range l.XYs {
			lo, hi = min(lo, xy.Y), max(hi, xy.Y)
		}
		return nil
	}
	for i, row := range r.PerSeq[0].Rows {
		if row.Key == OtherKey {
			continue
		}
		if err := add(i, row.Name, func(s Seq) float64 { return s.Rows[i].GFLOPS }, false); err != nil {
			return nil, err
		}
	}
	if err := add(len(palette)-1, "whole step", func(s Seq) float64 { return s.GFLOPS }, true); err != nil {
		return nil, err
	}
	// The roof: this machine's measured fp32 FMA limit for the threads used.
	peak := kernels.FMAPeakGFLOPS(150*time.Millisecond) * float64(max(r.Threads, 1))
	if peak > 0 && len(r.PerSeq) > 0 && hi > 0 {
		x0, x1 := float64(r.PerSeq[0].Seq), float64(r.PerSeq[len(r.PerSeq)-1].Seq)
		l, err := plotter.NewLine(plotter.XYs{{X: x0, Y: peak}, {X: x1, Y: peak}})
		if err != nil {
			return nil, err
		}
		l.Color, l.Width, l.Dashes = color.RGBA{200, 0, 0, 255}, vg.Points(1.5), []vg.Length{vg.Points(2), vg.Points(2)}
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("FMA limit, %d thread(s): %.0f", max(r.Threads, 1), peak), l)
		hi = max(hi, peak)
	}
	if hi > 0 {
		p.Y.Min, p.Y.Max = lo/1.5, hi*1.5
	}
	return p, nil
}

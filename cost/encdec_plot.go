package cost

import (
	"fmt"
	"image/color"
	"io"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/tformer/tformer/internal/chart"
)

// Plot charts the report into w as SVG ("svg") or PNG ("png"): on top, one
// layer's forward FLOPs at n_s = n_t = n for encoder self-attention,
// decoder self-attention, cross-attention and the FFN on log axes, with
// the exact crossovers marked; below, the parameters by part, unique
// beside applied.
func (r *EncDecReport) Plot(w io.Writer, format string) error {
	top, err := r.layerPlot()
	if err != nil {
		return err
	}
	bottom, err := r.encdecParamsPlot()
	if err != nil {
		return err
	}
	return chart.WriteStacked(w, format, top, bottom, 9*vg.Inch, 9*vg.Inch, 1.0/3)
}

// PlotFile writes the chart to path, SVG or PNG by its extension.
func (r *EncDecReport) PlotFile(path string) error { return chart.WriteFile(path, r.Plot) }

func (r *EncDecReport) layerPlot() (*plot.Plot, error) {
	if len(r.PerLayer) < 2 {
		return nil, fmt.Errorf("plot: give two or more lengths (--seq)")
	}
	m := r.Model
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: forward FLOPs of one layer at n_s = n_t = n (d %d, d_ff %d, %d heads)", m.Name, m.DModel, m.DFF, m.Heads)
	p.X.Label.Text = "source = target length n"
	p.Y.Label.Text = "FLOPs per layer"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.Y.Tick.Marker = siTicks{plot.LogTicks{Prec: -1}}
	var ticks []plot.Tick
	for _, l := range r.PerLayer {
		ticks = append(ticks, plot.Tick{Value: float64(l.Seq), Label: strconv.Itoa(l.Seq)})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.Legend.Top, p.Legend.Left = true, true
	p.Add(plotter.NewGrid())
	lo, hi := float64(r.PerLayer[0].FFN), float64(r.PerLayer[0].FFN)
	for i, s := range []struct {
		name   string
		get    func(EncDecLayerRow) int64
		col    color.Color
		dashes []vg.Length
	}{
		{"encoder self-attention (bidirectional)", func(l EncDecLayerRow) int64 { return l.EncSelf }, palette[0], nil},
		{"decoder self-attention (causal)", func(l EncDecLayerRow) int64 { return l.DecSelf }, palette[1], nil},
		{"cross-attention (n_t x n_s pairs)", func(l EncDecLayerRow) int64 { return l.Cross }, palette[2], []vg.Length{vg.Points(6), vg.Points(4)}},
		{"FFN", func(l EncDecLayerRow) int64 { return l.FFN }, color.Black, nil},
	} {
		xys := make(plotter.XYs, len(r.PerLayer))
		for j, l := range r.PerLayer {
			v := float64(s.get(l))
			xys[j] = plotter.XY{X: float64(l.Seq), Y: v}
			lo, hi = min(lo, v), max(hi, v)
		}
		ln, err := plotter.NewLine(xys)
		if err != nil {
			return nil, err
		}
		ln.Color, ln.Dashes, ln.Width = s.col, s.dashes, vg.Points(1.6)
		if i == 3 {
			ln.Width = vg.Points(3)
		}
		p.Add(ln)
		p.Legend.Add(s.name, ln)
	}
	minX, maxX := float64(r.PerLayer[0].Seq), float64(r.PerLayer[len(r.PerLayer)-1].Seq)
	var labels plotter.XYLabels
	c := r.Crossover
	for i, x := range []struct {
		name string
		at   *float64
	}{
		{"encoder self = cross = FFN", c.EncSelf},
		{"decoder self = FFN", c.DecSelf},
	} {
		if x.at == nil || *x.at < minX || *x.at > maxX {
			continue
		}
		l, err := plotter.NewLine(plotter.XYs{{X: *x.at, Y: lo}, {X: *x.at, Y: hi}})
		if err != nil {
			return nil, err
		}
		l.Color, l.Dashes = color.Gray{Y: 90}, []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(l)
		y := lo
		if i == 1 {
			y = hi / 4 // above the curves, clear of the first label
		}
		labels.XYs = append(labels.XYs, plotter.XY{X: *x.at, Y: y})
		labels.Labels = append(labels.Labels, fmt.Sprintf(" %s at %s", x.name, crossText(x.at)))
	}
	if len(labels.XYs) > 0 {
		lb, err := plotter.NewLabels(labels)
		if err != nil {
			return nil, err
		}
		p.Add(lb)
	}
	return p, nil
}

func (r *EncDecReport) encdecParamsPlot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("parameters: %s unique (stored), %s applied (per use), tie %s", commas(r.Params.Unique), commas(r.Params.Applied), r.Model.Tie)
	p.Y.Label.Text = "parameters"
	p.Y.Tick.Marker = siTicks{plot.DefaultTicks{}}
	var names []string
	var unique, applied plotter.Values
	for _, k := range []string{"embeddings", "positions", "embedding_norms", "encoder", "decoder"} {
		c := r.Params.Components[k]
		if c.Applied == 0 {
			continue
		}
		names = append(names, k)
		unique = append(unique, float64(c.Unique))
		applied = append(applied, float64(c.Applied))
	}
	w := vg.Points(18)
	bu, err := plotter.NewBarChart(unique, w)
	if err != nil {
		return nil, err
	}
	bu.Color, bu.Offset = palette[0], -w/2
	ba, err := plotter.NewBarChart(applied, w)
	if err != nil {
		return nil, err
	}
	ba.Color, ba.Offset = palette[1], w/2
	p.Add(bu, ba)
	p.Legend.Add("unique", bu)
	p.Legend.Add("applied", ba)
	p.Legend.Top = true
	p.NominalX(names...)
	return p, nil
}

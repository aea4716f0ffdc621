package cost

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/tformer/tformer/internal/chart"
)

var palette = chart.Palette[:10] // without black, which marks the MHA total

// Plot charts the report into w as SVG (format "svg") or PNG ("png"): on
// top, forward FLOPs per component and the MHA and FFN totals against n on
// log axes, with the engine's exact crossovers marked (black; the
// matmul-only per-layer ones in grey); below, the parameter
// breakdown, unique beside applied.
func (r *Report) Plot(w io.Writer, format string) error {
	top, err := r.flopsPlot()
	if err != nil {
		return err
	}
	bottom, err := r.paramsPlot()
	if err != nil {
		return err
	}
	width, height := 11*vg.Inch, 10*vg.Inch
	return chart.WriteStacked(w, format, top, bottom, width, height, 1.0/3)
}

// PlotFile writes the chart to path, SVG or PNG by its extension.
func (r *Report) PlotFile(path string) error { return chart.WriteFile(path, r.Plot) }

func (r *Report) flopsPlot() (*plot.Plot, error) {
	if len(r.PerSeq) == 0 {
		return nil, fmt.Errorf("plot: no sequence lengths")
	}
	p := plot.New()
	// With --train the chart is of what --train reports: a training step's
	// forward + backward FLOPs, and the training crossovers.
	pass, counts := "forward", func(e SeqCost) Counts { return e.raw.Forward }
	mhaX, coreX := r.Crossover.MHAEqualsFFN, r.Crossover.CoreEqualsFFN
	conv := r.Conventions.Attention + " fwd" // the engine crossovers' convention, as the legend names it
	if r.opts.Train && r.Crossover.Train != nil {
		pass, counts = "training step (forward + backward)", func(e SeqCost) Counts { return e.raw.Total() }
		mhaX, coreX = r.Crossover.Train.MHAEqualsFFN, r.Crossover.Train.CoreEqualsFFN
		conv = r.Conventions.Attention + " fwd+bwd"
	}
	p.Title.Text = fmt.Sprintf("%s: %s FLOPs per component (batch %d, %s attention)", r.Model.Name, pass, r.opts.Batch, r.Conventions.Attention)
	p.X.Label.Text = "sequence length n"
	p.Y.Label.Text = "FLOPs"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.Y.Tick.Marker = siTicks{plot.LogTicks{Prec: -1}}
	var ticks []plot.Tick // one labelled tick at every n of the sweep
	for _, ps := range r.PerSeq {
		ticks = append(ticks, plot.Tick{Value: float64(ps.Seq), Label: strconv.Itoa(ps.Seq)})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.Add(plotter.NewGrid())
	lo, hi := math.Inf(1), math.Inf(-1)
	type series struct {
		name string
		xys  plotter.XYs
	}
	var drawn []series
	addLine := func(name string, val func(Counts) int64, i int, width vg.Length, col color.Color) error {
		xys := make(plotter.XYs, 0, len(r.PerSeq))
		for _, e := range r.PerSeq {
			v := float64(val(counts(e)))
			if v <= 0 {
				return nil // a log axis cannot show zero: leave the series out
			}
			xys = append(xys, plotter.XY{X: float64(e.Seq), Y: v})
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return err
		}
		l.Color = palette[i%len(palette)]
		l.Dashes = plotutil.Dashes(i / len(palette) * 2)
		if col != nil {
			l.Color, l.Dashes = col, nil
		}
		l.Width = width
		// A series that lies on one drawn before (av on scores, ffn_down
		// on ffn_up: the same matmul shape, a bias add apart) would hide
		// it: it is drawn dashed and wider over it, and its legend entry
		// says which curve it covers and how far apart they are.
		for _, d := range drawn {
			if gap, ok := chart.Coincide(d.xys, xys); ok {
				l.Dashes, l.Width = []vg.Length{vg.Points(7), vg.Points(5)}, width*1.6
				if gap == 0 {
					name = fmt.Sprintf("%s (dashed, = %s)", name, d.name)
				} else {
					name = fmt.Sprintf("%s (dashed, ≈ %s, ±%s)", name, d.name, percent(gap))
				}
				break
			}
		}
		drawn = append(drawn, series{name, xys})
		p.Add(l)
		p.Legend.Add(name, l)
		return nil
	}
	for i, k := range r.parts {
		if err := addLine(k.String(), func(c Counts) int64 { return c[k] }, i, vg.Points(1.2), nil); err != nil {
			return nil, err
		}
	}
	// The totals in black and grey, thick, so that no component shares
	// their colour.
	if err := addLine("MHA (total)", Counts.MHA, 0, vg.Points(3), color.Black); err != nil {
		return nil, err
	}
	if err := addLine("FFN (total)", Counts.FFN, 0, vg.Points(3), color.Gray{Y: 110}); err != nil {
		return nil, err
	}
	minX, maxX := float64(r.PerSeq[0].Seq), float64(r.PerSeq[len(r.PerSeq)-1].Seq)
	for _, e := range r.PerSeq {
		minX, maxX = math.Min(minX, float64(e.Seq)), math.Max(maxX, float64(e.Seq))
	}
	// The crossovers: vertical lines, named in the legend (labels on the
	// chart would sit on the curves and on each other when two are close).
	grey := color.Gray{Y: 150}
	long, short := []vg.Length{vg.Points(8), vg.Points(4)}, []vg.Length{vg.Points(2), vg.Points(3)}
	first := true
	for _, c := range []struct {
		name   string
		x      *float64
		color  color.Color
		dashes []vg.Length
		width  vg.Length
	}{
		// The grey ones first and wide, so that one close to a black one
		// still shows on both sides of it.
		{"matmul-only MHA = FFN, bidir. fwd", r.Crossover.MatmulOnly.MHAEqualsFFN, grey, long, vg.Points(3.5)},
		{"matmul-only QKᵀ+AV = FFN, bidir. fwd", r.Crossover.MatmulOnly.CoreEqualsFFN, grey, short, vg.Points(3.5)},
		{"MHA = FFN, " + conv, mhaX, color.Black, long, vg.Points(1.5)},
		{"QKᵀ+AV = FFN, " + conv, coreX, color.Black, short, vg.Points(1.5)},
	} {
		if c.x == nil || *c.x < minX || *c.x > maxX {
			continue
		}
		l, err := plotter.NewLine(plotter.XYs{{X: *c.x, Y: lo}, {X: *c.x, Y: hi}})
		if err != nil {
			return nil, err
		}
		l.Color, l.Dashes, l.Width = c.color, c.dashes, c.width
		p.Add(l)
		if first {
			p.Legend.Add("crossovers:") // a heading: no thumbnail
			first = false
		}
		p.Legend.Add(fmt.Sprintf("%s: %s", c.name, crossText(c.x)), l)
	}
	if first {
		where := ""
		if mhaX != nil || coreX != nil {
			where = fmt.Sprintf(";\n%s, they are at MHA = FFN: %s, QKᵀ+AV = FFN: %s", conv, crossText(mhaX), crossText(coreX))
		}
		p.Title.Text += fmt.Sprintf("\nno MHA = FFN or QKᵀ+AV = FFN crossover within n = %s..%s%s", strconv.Itoa(int(minX)), strconv.Itoa(int(maxX)), where)
	}
	return p, nil
}

// percent formats a small fraction as a percentage with two significant
// digits (0.0003 -> "0.03%").
func percent(f float64) string {
	return strconv.FormatFloat(100*f, 'g', 2, 64) + "%"
}

func (r *Report) paramsPlot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("parameters: %s unique (stored), %s applied (per use)", commas(r.Params.Unique), commas(r.Params.Applied))
	p.Y.Label.Text = "parameters"
	p.Y.Tick.Marker = siTicks{plot.DefaultTicks{}}
	var names []string
	var unique, applied plotter.Values
	for _, k := range []string{"embeddings", "attention", "ffn", "norms", "head", "pooler"} {
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

// siTicks labels a log axis's ticks with SI prefixes (1T, not 1e+12).
type siTicks struct{ plot.Ticker }

// Ticks returns the wrapped ticker's ticks, relabelled.
func (t siTicks) Ticks(min, max float64) []plot.Tick {
	ts := t.Ticker.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			l := si(ts[i].Value) // 4 significant digits: trim the zeros
			if j := strings.IndexByte(l, '.'); j >= 0 {
				k := len(l)
				for k > 0 && (l[k-1] < '0' || l[k-1] > '9') {
					k--
				}
				num := strings.TrimRight(strings.TrimRight(l[:k], "0"), ".")
				l = num + l[k:]
			}
			ts[i].Label = l
		}
	}
	return ts
}

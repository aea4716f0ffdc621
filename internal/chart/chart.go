// Package chart holds what tformer's plots share: a colour palette,
// legends drawn beside the data rather than over it, and writing one plot or
// two stacked gonum plots to an SVG or PNG file.
package chart

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"strings"

	"github.com/tformer/tformer/internal/atomicfile"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Palette is a set of distinguishable line colours (cycle it, with dashes).
var Palette = []color.Color{
	color.RGBA{31, 119, 180, 255}, color.RGBA{255, 127, 14, 255}, color.RGBA{44, 160, 44, 255},
	color.RGBA{214, 39, 40, 255}, color.RGBA{148, 103, 189, 255}, color.RGBA{140, 86, 75, 255},
	color.RGBA{227, 119, 194, 255}, color.RGBA{127, 127, 127, 255}, color.RGBA{188, 189, 34, 255},
	color.RGBA{23, 190, 207, 255}, color.Black,
}

// WriteStacked draws top above bottom on a width x height canvas, the
// bottom plot taking the fraction bottomFrac of the height, and writes it to
// w as "svg" or "png".
func WriteStacked(w io.Writer, format string, top, bottom *plot.Plot, width, height vg.Length, bottomFrac float64) error {
	canvas, err := newCanvas(format, width, height)
	if err != nil {
		return err
	}
	dc := draw.New(canvas)
	upper, lower := dc, dc
	upper.Min.Y = dc.Min.Y + vg.Length(float64(dc.Size().Y)*bottomFrac)
	lower.Max.Y = upper.Min.Y
	DrawBeside(draw.Crop(upper, 0, -vg.Millimeter*3, vg.Millimeter*3, -vg.Millimeter*3), top)
	DrawBeside(draw.Crop(lower, 0, -vg.Millimeter*3, vg.Millimeter*3, 0), bottom)
	_, err = canvas.WriteTo(w)
	return err
}

// WriteOne draws p alone on a width x height canvas, its legend beside the
// data, and writes it to w as "svg" or "png".
func WriteOne(w io.Writer, format string, p *plot.Plot, width, height vg.Length) error {
	canvas, err := newCanvas(format, width, height)
	if err != nil {
		return err
	}
	dc := draw.New(canvas)
	DrawBeside(draw.Crop(dc, 0, -vg.Millimeter*3, vg.Millimeter*3, -vg.Millimeter*3), p)
	_, err = canvas.WriteTo(w)
	return err
}

func newCanvas(format string, width, height vg.Length) (vg.CanvasWriterTo, error) {
	switch format {
	case "svg":
		return vgsvg.New(width, height), nil
	case "png":
		return vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(110))}, nil
	}
	return nil, fmt.Errorf("plot: unknown image format %q (want svg or png)", format)
}

// LegendGap is the space between the data area and a legend beside it.
const LegendGap = 4 * vg.Millimeter

// DrawBeside draws p into c with its legend in a column at the right of
// the plot, top-aligned with the data area under the title, so that no
// entry covers a curve (gonum draws legends inside the data area). The plot
// keeps its legend.
func DrawBeside(c draw.Canvas, p *plot.Plot) {
	plotArea, side, ok := besideLayout(c, p)
	if !ok {
		p.Draw(c)
		return
	}
	lg, title := p.Legend, p.Title.Text
	p.Legend = plot.NewLegend()
	// The title spans the whole width (centred over the narrower plot
	// area, a long one would be clipped at the left).
	if title != "" {
		p.Title.Text = ""
		sty := p.Title.TextStyle
		sty.XAlign, sty.YAlign = draw.XCenter, draw.YTop
		c.FillText(sty, vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: c.Max.Y}, title)
	}
	defer func() { p.Legend, p.Title.Text = lg, title }()
	p.Draw(plotArea)
	lg.Top, lg.Left = true, true
	lg.Draw(side)
}

// besideLayout splits c into the plot's area (below the title, which is
// drawn across the whole width) and the legend's column at its right (ok
// false: the legend is empty).
func besideLayout(c draw.Canvas, p *plot.Plot) (plotArea, side draw.Canvas, ok bool) {
	width := p.Legend.Rectangle(c).Size().X
	if width == 0 {
		return c, c, false
	}
	top := c
	if p.Title.Text != "" {
		top.Max.Y -= p.Title.TextStyle.Height(p.Title.Text) + p.Title.Padding + 2*vg.Millimeter
	}
	plotArea = draw.Crop(top, 0, -(width + LegendGap), 0, 0)
	side = top
	side.Min.X = plotArea.Max.X + LegendGap
	return plotArea, side, true
}

// WriteFile lets render write the chart, in the format the extension names
// (.svg or .png), to path atomically: a failed render leaves no partial file.
func WriteFile(path string, render func(w io.Writer, format string) error) error {
	format := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	if format != "svg" && format != "png" {
		return fmt.Errorf("plot %s: the file must end in .svg or .png", path)
	}
	if err := atomicfile.Write(path, 0o644, func(w io.Writer) error { return render(w, format) }); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return nil
}

// Coincide reports whether two series lie on each other at the scale of a
// chart — the same x values, every y within 1% — and their largest
// relative gap. Callers draw the second so that both stay visible.
func Coincide(a, b plotter.XYs) (float64, bool) {
	if len(a) != len(b) || len(a) == 0 {
		return 0, false
	}
	gap := 0.0
	for i := range a {
		if a[i].X != b[i].X {
			return 0, false
		}
		if m := math.Max(math.Abs(a[i].Y), math.Abs(b[i].Y)); m > 0 {
			gap = math.Max(gap, math.Abs(a[i].Y-b[i].Y)/m)
		}
	}
	return gap, gap < 0.01
}

// TrimmedTicks labels the wrapped ticker's ticks without trailing zeros
// ("25", not "25.00").
type TrimmedTicks struct{ plot.Ticker }

// Ticks returns the wrapped ticker's ticks, relabelled.
func (t TrimmedTicks) Ticks(min, max float64) []plot.Tick {
	ts := t.Ticker.Ticks(min, max)
	for i := range ts {
		if l := ts[i].Label; strings.Contains(l, ".") && !strings.ContainsAny(l, "eE") {
			ts[i].Label = strings.TrimRight(strings.TrimRight(l, "0"), ".")
		}
	}
	return ts
}

package chart

import (
	"bytes"
	"strings"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

func testPlot(t *testing.T) *plot.Plot {
	p := plot.New()
	p.Title.Text = "a title"
	for i, name := range []string{"a long legend entry that would cover the curves", "b", "c"} {
		l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: float64(i)}, {X: 10, Y: float64(10 + i)}})
		if err != nil {
			t.Fatal(err)
		}
		p.Add(l)
		p.Legend.Add(name, l)
	}
	return p
}

// The legend sits in a column right of the data area, wide enough for its
// longest entry, below the title; the plot keeps its legend.
func TestDrawBesideKeepsTheLegendOffTheData(t *testing.T) {
	p := testPlot(t)
	c := draw.New(vgsvg.New(6*vg.Inch, 4*vg.Inch))
	area, side, ok := besideLayout(c, p)
	if !ok {
		t.Fatal("no legend column for a legend with entries")
	}
	data := p.DataCanvas(area)
	if side.Min.X < data.Max.X+LegendGap {
		t.Errorf("legend column starts at x %v, inside the data area (right edge %v)", side.Min.X, data.Max.X)
	}
	if w := p.Legend.Rectangle(c).Size().X; side.Max.X-side.Min.X < w-1e-6 {
		t.Errorf("legend column %v wide for a legend of %v", side.Max.X-side.Min.X, w)
	}
	if side.Max.Y >= c.Max.Y {
		t.Error("the legend column overlaps the title")
	}
	var buf bytes.Buffer
	if err := WriteOne(&buf, "svg", p, 6*vg.Inch, 4*vg.Inch); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "a long legend entry") {
		t.Error("the legend was not drawn")
	}
	if _, _, ok := besideLayout(c, plot.New()); ok {
		t.Error("a column for an empty legend")
	}
}

func TestCoincide(t *testing.T) {
	a := plotter.XYs{{X: 1, Y: 100}, {X: 2, Y: 200}}
	for _, c := range []struct {
		b   plotter.XYs
		ok  bool
		gap float64
	}{
		{plotter.XYs{{X: 1, Y: 100}, {X: 2, Y: 200}}, true, 0},
		{plotter.XYs{{X: 1, Y: 100.5}, {X: 2, Y: 200}}, true, 0.5 / 100.5},
		{plotter.XYs{{X: 1, Y: 102}, {X: 2, Y: 200}}, false, 2.0 / 102},
		{plotter.XYs{{X: 1, Y: 100}, {X: 3, Y: 200}}, false, 0},
		{plotter.XYs{{X: 1, Y: 100}}, false, 0},
	} {
		gap, ok := Coincide(a, c.b)
		if ok != c.ok || (c.gap != 0 && (gap-c.gap)*(gap-c.gap) > 1e-18) {
			t.Errorf("Coincide(%v) = %v %v, want %v %v", c.b, gap, ok, c.gap, c.ok)
		}
	}
}

func TestTrimmedTicks(t *testing.T) {
	var got []string
	for _, tk := range (TrimmedTicks{Ticker: plot.DefaultTicks{}}).Ticks(0, 50) {
		if tk.Label != "" {
			got = append(got, tk.Label)
		}
	}
	if strings.Join(got, " ") != "0 25 50" {
		t.Errorf("labels %q, want 0 25 50", got)
	}
	for _, tk := range (TrimmedTicks{Ticker: plot.DefaultTicks{}}).Ticks(0, 0.5) {
		if strings.HasSuffix(tk.Label, "0") && tk.Label != "0" {
			t.Errorf("label %q keeps a trailing zero", tk.Label)
		}
	}
}

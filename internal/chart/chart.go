// Package chart holds what tformer's plots share: a colour palette and
// writing two stacked gonum plots to an SVG or PNG file.
package chart

import (
	"fmt"
	"image/color"
	"io"
	"path/filepath"
	"strings"

	"github.com/tformer/tformer/internal/atomicfile"
	"gonum.org/v1/plot"
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
	var canvas vg.CanvasWriterTo
	switch format {
	case "svg":
		canvas = vgsvg.New(width, height)
	case "png":
		canvas = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(110))}
	default:
		return fmt.Errorf("plot: unknown image format %q (want svg or png)", format)
	}
	dc := draw.New(canvas)
	upper, lower := dc, dc
	upper.Min.Y = dc.Min.Y + vg.Length(float64(dc.Size().Y)*bottomFrac)
	lower.Max.Y = upper.Min.Y
	top.Draw(draw.Crop(upper, 0, -vg.Millimeter*3, vg.Millimeter*3, -vg.Millimeter*3))
	bottom.Draw(draw.Crop(lower, 0, -vg.Millimeter*3, vg.Millimeter*3, 0))
	_, err := canvas.WriteTo(w)
	return err
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

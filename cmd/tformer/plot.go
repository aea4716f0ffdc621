package main

import (
	"bufio"
	"bytes"
	"encoding/json"

	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/tformer/tformer/internal/chart"
)

// plotOptions are the flags of `tformer plot`.
type plotOptions struct {
	Files  []string
	Labels []string
	Out    string
	Title  string
}

// newPlotCmd returns `tformer plot`; runF, when not nil, replaces plotRun.
func newPlotCmd(runF func(*plotOptions) error) *cobra.Command {
	o := &plotOptions{}
	cmd := &cobra.Command{
		Use:   "plot METRICS.jsonl...",
		Short: "Chart training and validation loss from metrics files, several runs on one chart",
		Long: `Chart the loss curves of one or more training runs from the metrics files
` + "`tformer train --metrics FILE`" + ` writes: one JSON object per logged step with the keys
"step", "loss", "val_loss" (null when not evaluated), "lr", "grad_norm",
"tokens_per_s", "gflops" and "mfu". Each run gets one colour: its training loss as
a line, its validation loss as a dashed line with points. Runs are labelled by
their file name, or by --label (one per file, in order), so that tie vs untie or
the share modes can be compared at a glance.`,
		Example: `  tformer plot tie.jsonl untie.jsonl --out loss.png
  tformer plot a.jsonl b.jsonl --label "share none,share all" --out loss.svg`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Files = args
			if runF != nil {
				return runF(o)
			}
			return plotRun(o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fs := cmd.Flags()
	fs.StringSliceVar(&o.Labels, "label", nil, "comma-separated run labels, one per file, so a label cannot hold a comma (default: the file names)")
	fs.StringVar(&o.Out, "out", "loss.png", "chart to write (.png or .svg)")
	fs.StringVar(&o.Title, "title", "Loss", "chart title")
	return cmd
}

// metricsRow is one line of a metrics file; only step, loss and val_loss
// are plotted.
type metricsRow struct {
	Step    *int     `json:"step"`
	Loss    *float64 `json:"loss"`
	ValLoss *float64 `json:"val_loss"`
}

// lossRun is the loss curves of one metrics file.
type lossRun struct {
	label      string
	train, val plotter.XYs
	restarts   int // times the steps went back (a resume from an earlier checkpoint)
}

// cut returns the points of xys before step x.
func cut(xys plotter.XYs, x float64) plotter.XYs {
	for i, p := range xys {
		if p.X >= x {
			return xys[:i]
		}
	}
	return xys
}

// readMetrics reads a metrics JSONL file.
func readMetrics(path string) (lossRun, error) {
	f, err := os.Open(path)
	if err != nil {
		return lossRun{}, err
	}
	defer f.Close()
	var r lossRun
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var m metricsRow
		if err := json.Unmarshal(line, &m); err != nil {
			return lossRun{}, fmt.Errorf("%s:%d: not a JSON object: %v", path, n, err)
		}
		if m.Step == nil || m.Loss == nil {
			return lossRun{}, fmt.Errorf("%s:%d: a metrics line needs \"step\" and \"loss\"", path, n)
		}
		if math.IsNaN(*m.Loss) || math.IsInf(*m.Loss, 0) || m.ValLoss != nil && (math.IsNaN(*m.ValLoss) || math.IsInf(*m.ValLoss, 0)) {
			return lossRun{}, fmt.Errorf("%s:%d: the loss is not finite", path, n)
		}
		x := float64(*m.Step)
		if n := len(r.train); n > 0 && x <= r.train[n-1].X {
			// A run resumed from an earlier checkpoint (after a crash)
			// appends steps the file already has: the later records are
			// the run's history from there on.
			r.train = cut(r.train, x)
			r.val = cut(r.val, x)
			r.restarts++
		}
		r.train = append(r.train, plotter.XY{X: x, Y: *m.Loss})
		if m.ValLoss != nil {
			r.val = append(r.val, plotter.XY{X: float64(*m.Step), Y: *m.ValLoss})
		}
	}
	if err := sc.Err(); err != nil {
		return lossRun{}, fmt.Errorf("%s: %w", path, err)
	}
	if len(r.train) == 0 {
		return lossRun{}, fmt.Errorf("%s has no metrics lines", path)
	}
	return r, nil
}

// plotRun charts the runs of o.Files into o.Out and says where it wrote
// (notes about the files go to stderr).
func plotRun(o *plotOptions, stdout, stderr io.Writer) error {
	if len(o.Labels) > 0 && len(o.Labels) != len(o.Files) {
		return fmt.Errorf("--label gives %d labels for %d files", len(o.Labels), len(o.Files))
	}
	if len(o.Files) > len(chart.Palette) {
		return fmt.Errorf("at most %d runs fit on one chart, got %d", len(chart.Palette), len(o.Files))
	}
	p := plot.New()
	p.Title.Text = o.Title
	p.X.Label.Text = "step"
	p.Y.Label.Text = "loss (nats/token)"
	p.Add(plotter.NewGrid())
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, path := range o.Files {
		r, err := readMetrics(path)
		if err != nil {
			return err
		}
		r.label = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		if len(o.Labels) > 0 {
			r.label = o.Labels[i]
		}
		if r.restarts > 0 {
			fmt.Fprintf(stderr, "note: %s: the steps go back %d time(s) (a resume from an earlier checkpoint); the later records replace the earlier ones from there on\n", path, r.restarts)
		}
		for _, xys := range []plotter.XYs{r.train, r.val} {
			for _, xy := range xys {
				lo, hi = math.Min(lo, xy.Y), math.Max(hi, xy.Y)
			}
		}
		c := chart.Palette[i]
		l, err := plotter.NewLine(r.train)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		l.Color, l.Width = c, vg.Points(1.2)
		p.Add(l)
		p.Legend.Add(r.label+" train", l)
		if len(r.val) > 0 {
			vl, vp, err := plotter.NewLinePoints(r.val)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			vl.Color, vl.Width, vl.Dashes = c, vg.Points(1.5), []vg.Length{vg.Points(5), vg.Points(3)}
			vp.Color, vp.Shape, vp.Radius = c, draw.CircleGlyph{}, vg.Points(2.5)
			p.Add(vl, vp)
			p.Legend.Add(r.label+" validation", vl, vp)
		}
	}
	p.X.Max += 0.02 * (p.X.Max - p.X.Min) // the last points clear of the frame
	if pad := 0.03 * (hi - lo); pad > 0 {
		p.Y.Min, p.Y.Max = lo-pad, hi+pad // the first and lowest points clear of it too
	}
	// The legend beside the chart: over it, it hides the start of the curves.
	err := chart.WriteFile(o.Out, func(w io.Writer, format string) error {
		return chart.WriteOne(w, format, p, 9*vg.Inch, 5*vg.Inch)
	})
	if err != nil {
		return err
	}
	abs, aerr := filepath.Abs(o.Out)
	if aerr != nil {
		abs = o.Out
	}
	fmt.Fprintf(stdout, "wrote %s (%d run(s))\n", abs, len(o.Files))
	return nil
}

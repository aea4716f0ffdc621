package profile

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tformer/tformer/internal/textfmt"
)

// Formats lists the output formats of Report.Write.
func Formats() []string { return []string{"table", "md", "csv", "json"} }

// Write renders the report as "table" (aligned text), "md" (Markdown), "csv"
// (one line per sequence length and row) or "json" (the Report itself).
func (r *Report) Write(w io.Writer, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case "csv":
		return r.writeCSV(w)
	case "table", "md":
		return r.writeTables(w, format == "md")
	}
	return fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats(), ", "))
}

// Describe returns a one-line description of the model and the measurement.
func (r *Report) Describe() string {
	c := r.Model
	pass := "forward only (with the loss)"
	if r.Train {
		pass = "forward + backward"
	}
	return fmt.Sprintf("model d=%d layers=%d heads=%d d_ff=%d vocab=%d context=%d tie=%v share=%s groups=%d; batch %d, %s, median of %d reps after %d warmup, %d threads (%s)",
		c.DModel, c.Layers, c.Heads, c.DFF, c.Vocab, c.MaxSeq, c.Tie, c.Share, c.Groups, r.Batch, pass, r.Reps, r.Warmup, r.Threads, r.GOARCH)
}

// table collects rows of cells and prints them aligned or as Markdown.
type table struct {
	head  []string
	rows  [][]string
	right []bool // per column: right-aligned
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(w io.Writer, md bool) {
	if md {
		fmt.Fprintf(w, "| %s |\n", strings.Join(t.head, " | "))
		seps := make([]string, len(t.head))
		for i := range seps {
			seps[i] = "---"
			if t.right[i] {
				seps[i] = "---:"
			}
		}
		fmt.Fprintf(w, "|%s|\n", strings.Join(seps, "|"))
		for _, r := range t.rows {
			fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
		}
		return
	}
	width := make([]int, len(t.head))
	for _, r := range append([][]string{t.head}, t.rows...) {
		for i, c := range r {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	line := func(r []string) {
		var b strings.Builder
		b.WriteString(" ")
		for i, c := range r {
			pad := strings.Repeat(" ", width[i]-len([]rune(c)))
			b.WriteString(" ")
			if t.right[i] {
				b.WriteString(pad + c)
			} else {
				b.WriteString(c + pad)
			}
			b.WriteString(" ")
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	line(t.head)
	for _, r := range t.rows {
		line(r)
	}
}

func ms(sec float64) string { return strconv.FormatFloat(sec*1e3, 'f', 2, 64) }
func pct(x float64) string  { return strconv.FormatFloat(x*100, 'f', 1, 64) }
func num(x float64) string {
	switch {
	case x == 0:
		return "-"
	case x >= 100:
		return strconv.FormatFloat(x, 'f', 0, 64)
	case x >= 10:
		return strconv.FormatFloat(x, 'f', 1, 64)
	}
	return strconv.FormatFloat(x, 'f', 2, 64)
}

func count(x float64) string {
	switch {
	case x >= 1e6:
		return strconv.FormatFloat(x/1e6, 'f', 2, 64) + "M"
	case x >= 1e3:
		return strconv.FormatFloat(x/1e3, 'f', 1, 64) + "k"
	}
	return strconv.FormatFloat(x, 'f', 0, 64)
}

func (r *Report) writeTables(w io.Writer, md bool) error {
	heading := func(s string) {
		if md {
			fmt.Fprintf(w, "\n### %s\n\n", s)
		} else {
			fmt.Fprintf(w, "\n%s\n", s)
		}
	}
	if md {
		fmt.Fprintf(w, "**tformer profile**: %s\n", r.Describe())
	} else {
		fmt.Fprintf(w, "tformer profile: %s\n", r.Describe())
	}
	for _, s := range r.PerSeq {
		timing := fmt.Sprintf("forward %s ms", ms(s.ForwardSeconds))
		if r.Train {
			timing = fmt.Sprintf("step %s ms = forward %s + backward %s", ms(s.StepSeconds), ms(s.ForwardSeconds), ms(s.BackwardSeconds))
		}
		heading(fmt.Sprintf("n = %d, batch %d: %s; %s tokens/s; %s GFLOP/s overall; memory ≈ %s",
			s.Seq, s.Batch, timing, count(s.TokensPerSecond), num(s.GFLOPS), textfmt.Bytes(s.MemoryBytes, 1)))
		t := &table{head: []string{"component", "fwd ms"}, right: []bool{false, true}}
		if r.Train {
			t.head = append(t.head, "bwd ms")
			t.right = append(t.right, true)
		}
		t.head = append(t.head, "GFLOP/s", "time %", "FLOP %", "time/FLOP")
		t.right = append(t.right, true, true, true, true)
		var tf, tb, ts, fs float64
		for _, row := range s.Rows {
			cells := []string{row.Name, ms(row.Forward.Seconds)}
			if r.Train {
				cells = append(cells, ms(row.Backward.Seconds))
				tb += row.Backward.Seconds
			}
			ratio := "-"
			if row.FLOPShare > 0 {
				ratio = strconv.FormatFloat(row.Ratio, 'f', 2, 64) + "x"
			}
			cells = append(cells, num(row.GFLOPS), pct(row.TimeShare), pct(row.FLOPShare), ratio)
			t.add(cells...)
			tf += row.Forward.Seconds
			ts += row.TimeShare
			fs += row.FLOPShare
		}
		cells := []string{"total", ms(tf)}
		if r.Train {
			cells = append(cells, ms(tb))
		}
		t.add(append(cells, num(s.GFLOPS), pct(ts), pct(fs), "")...)
		t.write(w, md)
	}
	if len(r.PerSeq) > 1 {
		heading("Measured time share vs analytical FLOP share (time % / FLOP %) across n")
		t := &table{head: []string{"component"}, right: []bool{false}}
		for _, s := range r.PerSeq {
			t.head = append(t.head, fmt.Sprintf("n=%d", s.Seq))
			t.right = append(t.right, true)
		}
		for i, row := range r.PerSeq[0].Rows {
			cells := []string{row.Name}
			for _, s := range r.PerSeq {
				x := s.Rows[i]
				cells = append(cells, pct(x.TimeShare)+" / "+pct(x.FLOPShare))
			}
			t.add(cells...)
		}
		for _, f := range []struct {
			name string
			v    func(Seq) string
		}{
			{"step ms", func(s Seq) string { return ms(s.StepSeconds) }},
			{"tokens/s", func(s Seq) string { return count(s.TokensPerSecond) }},
			{"GFLOP/s overall", func(s Seq) string { return num(s.GFLOPS) }},
		} {
			cells := []string{f.name}
			for _, s := range r.PerSeq {
				cells = append(cells, f.v(s))
			}
			t.add(cells...)
		}
		t.write(w, md)
	}
	if x := r.Crossover; x != nil {
		heading("MHA against FFN (MHA: qkv, attention core, attn_out; FFN: ffn_up, activation, ffn_down)")
		t := &table{head: []string{"MHA / FFN"}, right: []bool{false}}
		for _, s := range r.PerSeq {
			t.head = append(t.head, fmt.Sprintf("n=%d", s.Seq))
			t.right = append(t.right, true)
		}
		for _, f := range []struct {
			name string
			v    []float64
		}{{"measured time", x.TimeRatio}, {"FLOPs", x.FLOPRatio}} {
			cells := []string{f.name}
			for _, v := range f.v {
				cells = append(cells, strconv.FormatFloat(v, 'f', 3, 64))
			}
			t.add(cells...)
		}
		t.write(w, md)
		fmt.Fprintf(w, "%s\n", x.describe(r))
	}
	heading("Notes")
	for _, n := range r.Notes {
		if md {
			fmt.Fprintf(w, "- %s\n", n)
		} else {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "WARNING: %s\n", warn)
	}
	return nil
}

func (r *Report) writeCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', 6, 64) }
	i := func(x int64) string { return strconv.FormatInt(x, 10) }
	_ = cw.Write([]string{"seq", "batch", "component", "parts", "fwd_seconds", "fwd_flops", "fwd_gflops",
		"bwd_seconds", "bwd_flops", "bwd_gflops", "seconds", "flops", "gflops", "time_share", "flop_share", "time_flop_ratio",
		"step_seconds", "tokens_per_second"})
	for _, s := range r.PerSeq {
		for _, row := range s.Rows {
			bwd := []string{"", "", ""}
			if row.Backward != nil {
				bwd = []string{f(row.Backward.Seconds), i(row.Backward.FLOPs), f(row.Backward.GFLOPS)}
			}
			rec := []string{strconv.Itoa(s.Seq), strconv.Itoa(s.Batch), row.Key, strings.Join(row.Parts, "+"),
				f(row.Forward.Seconds), i(row.Forward.FLOPs), f(row.Forward.GFLOPS)}
			rec = append(rec, bwd...)
			rec = append(rec, f(row.Seconds), i(row.FLOPs), f(row.GFLOPS), f(row.TimeShare), f(row.FLOPShare), f(row.Ratio),
				f(s.StepSeconds), f(s.TokensPerSecond))
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

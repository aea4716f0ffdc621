package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// progress draws a one-line progress bar on a terminal, or prints a plain
// line now and then when stderr is a file or a pipe.
type progress struct {
	w      io.Writer
	tty    bool
	total  int
	start  time.Time
	first  int // step the run (re)started from
	last   time.Time
	tokens int64
	flops  int64
	drawn  bool
}

func newProgress(w io.Writer, total, first int) *progress {
	f, isFile := w.(*os.File)
	return &progress{w: w, tty: isFile && term.IsTerminal(int(f.Fd())), total: total, first: first, start: time.Now()}
}

func fmtDur(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}

// step reports that step (1-based) finished with the given loss, having
// processed tokens tokens with flops FLOPs (as the engine counted them).
func (p *progress) step(step int, loss float32, tokens int, flops int64) {
	p.tokens += int64(tokens)
	p.flops += flops
	el := time.Since(p.start)
	done := step - p.first
	tps := float64(p.tokens) / el.Seconds()
	eta := time.Duration(float64(el) / float64(done) * float64(p.total-step))
	msg := fmt.Sprintf("step %d/%d | loss %.4f | %s tok/s | %.1f GFLOP/s | ETA %s", step, p.total, loss, humanCount(int64(tps)), float64(p.flops)/el.Seconds()/1e9, fmtDur(eta))
	if p.tty {
		const width = 24
		fill := width * step / p.total
		bar := strings.Repeat("=", fill) + strings.Repeat(" ", width-fill)
		fmt.Fprintf(p.w, "\r\033[K[%s] %s", bar, msg)
		p.drawn = true
		return
	}
	if step == p.total || time.Since(p.last) >= 10*time.Second || done == 1 {
		fmt.Fprintln(p.w, msg)
		p.last = time.Now()
	}
}

// println prints a line above the bar.
func (p *progress) println(format string, a ...any) {
	if p.tty && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
	fmt.Fprintf(p.w, format+"\n", a...)
}

// done ends the bar's line.
func (p *progress) done() {
	if p.tty && p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

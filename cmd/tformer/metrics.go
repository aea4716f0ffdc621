package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/tformer/tformer/kernels"
	"github.com/tformer/tformer/train"
)

// metricsRecord is one line of `train --metrics`: the keys are a format
// other commands (tformer plot) read, so they stay exactly these.
type metricsRecord struct {
	Step       int      `json:"step"`
	Loss       float64  `json:"loss"`
	ValLoss    *float64 `json:"val_loss"` // null when the step was not evaluated
	LR         float64  `json:"lr"`
	GradNorm   float64  `json:"grad_norm"`
	TokensPerS float64  `json:"tokens_per_s"`
	GFLOPS     float64  `json:"gflops"` // achieved, from the engine's exact FLOP counts
	MFU        *float64 `json:"mfu"`    // GFLOPS over the measured FMA limit of the cores in use; null when unknown
}

// metricsWriter writes one metricsRecord per step, holding each until the
// trainer's evaluation of that step (if any) has been seen. A nil
// *metricsWriter does nothing.
type metricsWriter struct {
	f       *os.File
	w       *bufio.Writer
	peak    float64 // GFLOP/s limit of the cores in use (0: unknown)
	pending *metricsRecord
	err     error
}

// fmaPeak measures the FMA limit once per process (it takes ~100 ms).
var fmaPeak = func() float64 { return kernels.FMAPeakGFLOPS(100 * time.Millisecond) }

// newMetricsWriter creates path (appending to it when resuming).
func newMetricsWriter(path string, appendTo bool) (*metricsWriter, error) {
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if appendTo {
		flags = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return nil, fmt.Errorf("--metrics: %w", err)
	}
	return &metricsWriter{f: f, w: bufio.NewWriter(f), peak: fmaPeak() * float64(kernels.Threads())}, nil
}

// f32 widens v to the float64 that prints as v's shortest float32 form
// (0.001, not 0.0010000000474974513).
func f32(v float32) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(float64(v), 'g', -1, 32), 64)
	return f
}

func (m *metricsWriter) step(s train.StepInfo) {
	if m == nil {
		return
	}
	m.flush()
	sec := s.Elapsed.Seconds()
	r := &metricsRecord{Step: s.Step, Loss: f32(s.Loss), LR: f32(s.LR), GradNorm: f32(s.GradNorm)}
	if sec > 0 {
		r.TokensPerS = float64(s.Tokens) / sec
		r.GFLOPS = float64(s.Flops) / sec / 1e9
	}
	if m.peak > 0 {
		mfu := r.GFLOPS / m.peak
		r.MFU = &mfu
	}
	m.pending = r
}

func (m *metricsWriter) eval(step int, v float64) {
	if m == nil || m.pending == nil || m.pending.Step != step {
		return
	}
	m.pending.ValLoss = &v
}

// flush writes the pending record.
func (m *metricsWriter) flush() {
	if m.pending == nil || m.err != nil {
		return
	}
	b, err := json.Marshal(m.pending)
	if err == nil {
		b = append(b, '\n')
		_, err = m.w.Write(b)
	}
	if err != nil {
		m.err = fmt.Errorf("--metrics: %w", err)
	}
	m.pending = nil
}

// Close writes what is pending and closes the file; it reports the first
// error. Calling it again does nothing.
func (m *metricsWriter) Close() error {
	if m == nil || m.f == nil {
		return nil
	}
	m.flush()
	if err := m.w.Flush(); err != nil && m.err == nil {
		m.err = fmt.Errorf("--metrics: %w", err)
	}
	if err := m.f.Close(); err != nil && m.err == nil {
		m.err = fmt.Errorf("--metrics: %w", err)
	}
	m.f = nil
	return m.err
}

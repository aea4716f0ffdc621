package profile

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tformer/tformer/cost"
	"github.com/tformer/tformer/kernels"
	"github.com/tformer/tformer/model"
)

func tiny() model.Config {
	return model.Config{Vocab: 11, DModel: 16, Layers: 2, Heads: 2, DFF: 48, MaxSeq: 4, Tie: true, Share: model.ShareNone, Groups: 1}
}

// checkReport checks a report's internal consistency and its FLOPs against
// the cost model.
func checkReport(t *testing.T, r *Report, train bool) {
	t.Helper()
	if len(r.Warnings) != 0 {
		t.Errorf("warnings: %v", r.Warnings)
	}
	spec := cost.ForModel(r.Model)
	for _, s := range r.PerSeq {
		if !s.FLOPsMatch {
			t.Errorf("n=%d: counted FLOPs differ from the cost model", s.Seq)
		}
		if s.StepSeconds <= 0 || s.ForwardSeconds <= 0 || s.TokensPerSecond <= 0 || s.GFLOPS <= 0 {
			t.Errorf("n=%d: step %v fwd %v tok/s %v GFLOP/s %v", s.Seq, s.StepSeconds, s.ForwardSeconds, s.TokensPerSecond, s.GFLOPS)
		}
		if train != (s.BackwardSeconds > 0) {
			t.Errorf("n=%d: train=%v but backward %v s", s.Seq, train, s.BackwardSeconds)
		}
		an := spec.FLOPs(s.Seq, s.Batch, !r.Model.IsEncoder())
		want := an.Forward.Total()
		if train {
			want += an.Backward.Total()
		}
		if s.FLOPs != want {
			t.Errorf("n=%d: FLOPs %d, cost says %d", s.Seq, s.FLOPs, want)
		}
		var timeSum, flopSum float64
		var flops int64
		seen := map[string]bool{}
		for _, row := range s.Rows {
			seen[row.Key] = true
			timeSum += row.TimeShare
			flopSum += row.FLOPShare
			flops += row.FLOPs
			if train != (row.Backward != nil) {
				t.Errorf("n=%d %s: train=%v, backward %v", s.Seq, row.Key, train, row.Backward)
			}
			if row.Key == OtherKey {
				if row.FLOPs != 0 || row.FLOPShare != 0 {
					t.Errorf("n=%d: other has FLOPs", s.Seq)
				}
				continue
			}
			if row.Seconds <= 0 || row.Forward.Seconds <= 0 || row.GFLOPS <= 0 {
				t.Errorf("n=%d %s: seconds %v, forward %v, GFLOP/s %v", s.Seq, row.Key, row.Seconds, row.Forward.Seconds, row.GFLOPS)
			}
			// The row's counted FLOPs are the cost model's for its parts.
			var fw, bw int64
			for _, p := range row.Parts {
				for _, k := range kernels.Components() {
					if k.String() == p {
						fw += an.Forward[k]
						bw += an.Backward[k]
					}
				}
			}
			if row.Forward.FLOPs != fw || (train && row.Backward.FLOPs != bw) {
				t.Errorf("n=%d %s: FLOPs %d/%v, cost says %d/%d", s.Seq, row.Key, row.Forward.FLOPs, row.Backward, fw, bw)
			}
			if math.Abs(row.Ratio*row.FLOPShare-row.TimeShare) > 1e-12 {
				t.Errorf("n=%d %s: ratio %v != %v / %v", s.Seq, row.Key, row.Ratio, row.TimeShare, row.FLOPShare)
			}
		}
		if math.Abs(timeSum-1) > 1e-9 || math.Abs(flopSum-1) > 1e-9 {
			t.Errorf("n=%d: time shares sum to %v, FLOP shares to %v", s.Seq, timeSum, flopSum)
		}
		if flops != s.FLOPs {
			t.Errorf("n=%d: rows' FLOPs sum to %d, want %d", s.Seq, flops, s.FLOPs)
		}
		for _, k := range []string{"embedding", "qkv", "attention_core", "attn_out", "ffn_up", "gelu", "ffn_down", "layernorm", "logits", "loss", OtherKey} {
			if !seen[k] {
				t.Errorf("n=%d: no %s row", s.Seq, k)
			}
		}
		for _, k := range []string{"scores", "softmax", "av"} {
			if seen[k] {
				t.Errorf("n=%d: %s has a row of its own; it belongs to the fused attention core", s.Seq, k)
			}
		}
	}
}

func TestRunTrain(t *testing.T) {
	cfg := tiny()
	r, err := Run(cfg, []int{3, 8}, 2, 1, 3, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.PerSeq) != 2 || r.PerSeq[0].Seq != 3 || r.PerSeq[1].Seq != 8 {
		t.Fatalf("per_seq %+v", r.PerSeq)
	}
	if r.Model.MaxSeq != 8 {
		t.Errorf("context %d, want it raised to the longest seq 8", r.Model.MaxSeq)
	}
	if r.Reps != 3 || r.Warmup != 1 || r.Batch != 2 || !r.Train || r.Threads < 1 {
		t.Errorf("report header %+v", r)
	}
	checkReport(t, r, true)
}

func TestRunForwardOnlyShared(t *testing.T) {
	cfg := tiny()
	cfg.Layers, cfg.Share, cfg.Groups, cfg.Tie, cfg.MaxSeq = 4, model.ShareAll, 2, false, 16
	r, err := RunOptions(cfg, Options{Seqs: []int{5}, Batch: 1, Reps: 2})
	if err != nil {
		t.Fatal(err)
	}
	if r.Model.MaxSeq != 16 {
		t.Errorf("context %d changed", r.Model.MaxSeq)
	}
	checkReport(t, r, false)
}

func TestRunDefaultsAndProgress(t *testing.T) {
	var calls []int
	r, err := RunOptions(tiny(), Options{Seqs: []int{2, 4}, Train: true,
		Progress: func(i, total, seq int, mem int64) {
			if total != 2 || mem <= 0 {
				t.Errorf("progress(%d, %d, %d, %d)", i, total, seq, mem)
			}
			calls = append(calls, seq)
		}})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 || calls[0] != 2 || calls[1] != 4 {
		t.Errorf("progress called with %v", calls)
	}
	if r.Batch != 1 || r.Reps != 1 || r.Warmup != 0 {
		t.Errorf("defaults: batch %d reps %d warmup %d", r.Batch, r.Reps, r.Warmup)
	}
}

func TestRunRefuses(t *testing.T) {
	big := tiny()
	for _, c := range []struct {
		name string
		cfg  model.Config
		o    Options
		want string
	}{
		{"memory", big, Options{Seqs: []int{4, 4096}, Batch: 8, MaxMem: 1 << 20}, "n=4096 at batch 8 needs about"},
		{"seq", big, Options{Seqs: []int{0}}, "sequence length must be positive"},
		{"batch", big, Options{Seqs: []int{4}, Batch: -1}, "must be positive"},
		{"reps", big, Options{Seqs: []int{4}, Reps: -2}, "must be positive"},
		{"config", model.Config{Vocab: 5, DModel: 10, Layers: 1, Heads: 3, DFF: 4, MaxSeq: 4, Groups: 1}, Options{Seqs: []int{4}}, "heads (3) must divide"},
	} {
		_, err := RunOptions(c.cfg, c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line containing %q", c.name, err, c.want)
		}
	}
}

func TestEstimateMatchesCost(t *testing.T) {
	c := tiny()
	c.MaxSeq = 32
	m := cost.Spec{Arch: cost.Decoder, Config: c}.Memory(32, 3)
	if got := Estimate(c, 32, 3); got != m.Total-m.AdamW || m.AttentionLSE != int64(c.Layers*3*c.Heads*32*4) {
		t.Errorf("estimate %d, cost memory %+v", got, m)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []time.Duration
		want time.Duration
	}{{nil, 0}, {[]time.Duration{5}, 5}, {[]time.Duration{9, 1, 5}, 5}, {[]time.Duration{9, 1, 5, 3}, 4}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestWriteAndPlot(t *testing.T) {
	r, err := Run(tiny(), []int{2, 4, 8}, 1, 0, 1, true)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := r.Write(&b, "json"); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || len(back.PerSeq) != 3 || back.PerSeq[2].Rows[2].Key != "attention_core" {
		t.Fatalf("json round trip: %v\n%s", err, b.String())
	}

	b.Reset()
	if err := r.Write(&b, "csv"); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(recs) != 1+3*len(r.PerSeq[0].Rows) {
		t.Fatalf("csv: %v, %d records", err, len(recs))
	}

	for _, f := range []string{"table", "md"} {
		b.Reset()
		if err := r.Write(&b, f); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, want := range []string{"attention core (fused)", "time/FLOP", "n = 8, batch 1", "across n", "fused loop"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s output lacks %q:\n%s", f, want, out)
			}
		}
		if f == "md" && !strings.Contains(out, "|---|") {
			t.Errorf("md output has no table:\n%s", out)
		}
	}
	if err := r.Write(&b, "xml"); err == nil || !strings.Contains(err.Error(), `unknown format "xml"`) {
		t.Errorf("xml: %v", err)
	}

	for _, f := range []string{"svg", "png"} {
		b.Reset()
		if err := r.Plot(&b, f); err != nil {
			t.Fatal(err)
		}
		if f == "svg" && !strings.Contains(b.String(), "<svg") || f == "png" && !bytes.HasPrefix(b.Bytes(), []byte("\x89PNG")) {
			t.Errorf("%s plot is not %s", f, f)
		}
	}
	if err := r.Plot(&b, "gif"); err == nil {
		t.Error("gif plot: no error")
	}
}

// TestEncoderProfile: the masked-LM encoder (factorized, shared) profiles
// with its counted FLOPs equal to the cost model's.
func TestEncoderProfile(t *testing.T) {
	c := model.Config{Arch: model.ArchEncoder, Vocab: 12, DModel: 16, Layers: 2, Heads: 2, DFF: 48, MaxSeq: 16, Tie: true, Share: model.ShareAll, Groups: 1, EmbedDim: 8}
	r, err := Run(c, []int{8, 16}, 2, 0, 1, true)
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, r, true)
}

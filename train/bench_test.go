package train

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tformer/tformer/model"
)

// BenchmarkGPT2Step times the phases of one GPT-2 small training step as
// `tformer bench --only train` runs it (B 4, T 64, random tokens, AdamW with
// the gradient clipped to norm 1), reporting each phase's mean milliseconds
// per step beside ns/op for the whole step: zero-ms (ZeroGrad), fwd-ms
// (Forward with the loss), bwd-ms (Backward), norm-ms (the gradient norm)
// and adamw-ms (the update with the clip folded in). With -cpuprofile it
// shows where the step's time goes inside each phase. It needs about 3 GB.
//
//	go test -run '^$' -bench GPT2Step -benchtime 5x -cpuprofile cpu.out ./train/
func BenchmarkGPT2Step(b *testing.B) {
	c := model.GPT2Small()
	m, err := model.New(c)
	if err != nil {
		b.Fatal(err)
	}
	m.Init(1)
	const B, T = 4, 64
	rng := rand.New(rand.NewPCG(5, 6))
	toks, tgts := make([]int32, B*T), make([]int32, B*T)
	for i := range toks {
		toks[i], tgts[i] = int32(rng.IntN(c.Vocab)), int32(rng.IntN(c.Vocab))
	}
	opt := NewAdamW(m, 0.9, 0.95, 1e-8, 0.1)
	var phase [5]time.Duration
	step := func(i int, timed bool) {
		t0 := time.Now()
		m.ZeroGrad()
		t1 := time.Now()
		if _, err := m.Forward(toks, tgts, B, T); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		if err := m.Backward(); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		norm := opt.GradNorm(m.Grads)
		t4 := time.Now()
		opt.step(m.Params, m.Grads, 3e-4, i, clipScale(norm, 1))
		t5 := time.Now()
		if timed {
			for j, d := range []time.Duration{t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), t4.Sub(t3), t5.Sub(t4)} {
				phase[j] += d
			}
		}
	}
	step(1, false) // warm up: first-touch page faults, worker start-up
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step(i+2, true)
	}
	for j, name := range []string{"zero-ms", "fwd-ms", "bwd-ms", "norm-ms", "adamw-ms"} {
		b.ReportMetric(float64(phase[j])/1e6/float64(b.N), name)
	}
}

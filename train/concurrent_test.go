package train

import (
	"sync"
	"testing"

	"github.com/tformer/tformer/kernels"
	"github.com/tformer/tformer/model"
)

// parallelTrainer is a trainer on c big enough that every kernel of the
// step takes its parallel path on two threads (and AdamW its threaded one).
func parallelTrainer(t *testing.T, c model.Config) *Trainer {
	t.Helper()
	o := DefaultOptions()
	o.Steps, o.Batch, o.Seq, o.Warmup, o.EvalWindows = 1000, 4, 32, 2, 6 // 6 windows: the last batch is padded
	return testTrainer(t, c, 5, 6000, o)
}

// parallelConfig is a decoder for parallelTrainer.
func parallelConfig() model.Config {
	return model.Config{Vocab: 256, DModel: 64, Layers: 2, Heads: 4, DFF: 256, MaxSeq: 32, Tie: true, Share: model.ShareNone, Groups: 1}
}

// TestConcurrentTrainers: trainers running at once in several goroutines
// share the kernels' workers and job pools (a kernel finding the workers busy
// runs on its caller), and each still takes exactly the steps it takes
// alone. Under -race this is the check that the parallel sections hand their
// jobs between goroutines safely.
func TestConcurrentTrainers(t *testing.T) {
	old := kernels.Threads()
	kernels.SetThreads(2)
	defer kernels.SetThreads(old)
	steps := 4
	if testing.Short() {
		steps = 2 // the race detector makes each step about ten times slower
	}
	run := func(enc bool) []float32 {
		c := parallelConfig()
		if enc {
			c.Vocab, c.Arch = 257, model.ArchEncoder
		}
		tr := parallelTrainer(t, c)
		var out []float32
		for i := 0; i < steps; i++ {
			s, err := tr.TrainStep()
			if err != nil {
				t.Error(err)
				return nil
			}
			out = append(out, s.Loss)
		}
		v, err := tr.Validate()
		if err != nil {
			t.Error(err)
		}
		return append(out, float32(v))
	}
	want := [2][]float32{run(false), run(true)}
	const goroutines = 4
	got := make([][]float32, goroutines)
	var wg sync.WaitGroup
	for g := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[g] = run(g%2 == 1)
		}()
	}
	wg.Wait()
	for g, losses := range got {
		w := want[g%2]
		if len(losses) != len(w) {
			t.Fatalf("goroutine %d: %d losses, want %d", g, len(losses), len(w))
		}
		for i := range w {
			if losses[i] != w[i] {
				t.Errorf("goroutine %d: loss %d is %v concurrently, %v alone", g, i, losses[i], w[i])
			}
		}
	}
}

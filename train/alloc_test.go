//go:build !race

// The race detector makes sync.Pool drop values at random and instruments
// allocations, so allocation counts mean nothing under it.

package train

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/tformer/tformer/kernels"
	"github.com/tformer/tformer/model"
)

// pendingAllocs names functions, owned outside this change, that still
// allocate during a training step. The step tests tolerate (and log, as a
// skip) allocations made inside them, and only those; remove an entry as
// soon as its function is allocation-free, so that the test holds it to
// zero too.
var pendingAllocs = []string{
	// optim.go: the per-segment closure, a WaitGroup and a goroutine per
	// thread on every step (kernels.RunFunc would do it without).
	"github.com/tformer/tformer/train.(*AdamW).Step",
}

// Every allocation of this test binary is profiled, so that allocSites can
// attribute each one: the rate has to be set before the allocations it
// should see (each thread samples on a countdown set under the old rate).
func init() { runtime.MemProfileRate = 1 }

// checkNoAllocs runs fn once to warm up, then requires that it allocates
// nothing on average (testing.AllocsPerRun), except inside pendingAllocs.
func checkNoAllocs(t *testing.T, what string, fn func()) {
	t.Helper()
	old := kernels.Threads()
	kernels.SetThreads(2) // the parallel paths, whatever the machine
	defer kernels.SetThreads(old)
	fn()
	const runs = 10
	n := testing.AllocsPerRun(runs, fn)
	if n == 0 {
		return
	}
	pending, mine := allocSites(runs, fn)
	if len(mine) > 0 {
		if len(mine) > 20 {
			mine = append(mine[:20], fmt.Sprintf("  ... and %d more", len(mine)-20))
		}
		t.Errorf("%s: %v allocations per call; these sites allocate at least once per call:\n%s", what, n, strings.Join(mine, "\n"))
		return
	}
	t.Skipf("%s: %v allocations per call, all inside code listed in pendingAllocs:\n%s", what, n, strings.Join(pending, "\n"))
}

// allocSites runs fn runs times with every allocation profiled, and lists
// the allocating call sites that average at least one allocation per run,
// split into those inside pendingAllocs and the rest. Each is described by
// its innermost frames outside the runtime.
func allocSites(runs int, fn func()) (pending, mine []string) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // as testing.AllocsPerRun
	before := profileCounts()
	for i := 0; i < runs; i++ {
		fn()
	}
	after := profileCounts()
	for stk, a := range after {
		per := (a - before[stk]) / int64(runs)
		if per < 1 {
			continue
		}
		desc, isPending := describeStack(stk[:])
		if desc == "" {
			continue
		}
		line := fmt.Sprintf("  %d per call at %s", per, desc)
		if isPending {
			pending = append(pending, line)
		} else {
			mine = append(mine, line)
		}
	}
	sort.Strings(pending)
	sort.Strings(mine)
	return pending, mine
}

// profileCounts returns the allocation counts of the memory profile by
// stack.
func profileCounts() map[[32]uintptr]int64 {
	runtime.GC()
	runtime.GC() // the profile lags a cycle behind
	n, _ := runtime.MemProfile(nil, true)
	recs := make([]runtime.MemProfileRecord, n+100)
	n, _ = runtime.MemProfile(recs, true)
	out := make(map[[32]uintptr]int64, n)
	for _, r := range recs[:n] {
		out[r.Stack0] += r.AllocObjects
	}
	return out
}

// describeStack returns the first few non-runtime frames of an allocation's
// stack, and whether any frame is inside a pendingAllocs function.
func describeStack(stk []uintptr) (string, bool) {
	for i, pc := range stk {
		if pc == 0 {
			stk = stk[:i]
			break
		}
	}
	frames := runtime.CallersFrames(stk)
	var parts []string
	isPending := false
	for {
		f, more := frames.Next()
		if f.Function == "github.com/tformer/tformer/train.profileCounts" {
			return "", false // the profiling's own bookkeeping
		}
		for _, p := range pendingAllocs {
			if f.Function == p || strings.HasPrefix(f.Function, p+".") {
				isPending = true
			}
		}
		if !strings.HasPrefix(f.Function, "runtime.") && len(parts) < 3 {
			parts = append(parts, fmt.Sprintf("%s (%s:%d)", f.Function, f.File, f.Line))
		}
		if !more {
			break
		}
	}
	return strings.Join(parts, " <- "), isPending
}

// checkStepAndValidate checks TrainStep and Validate with checkNoAllocs.
func checkStepAndValidate(t *testing.T, tr *Trainer) {
	t.Run("TrainStep", func(t *testing.T) {
		checkNoAllocs(t, "TrainStep", func() {
			if _, err := tr.TrainStep(); err != nil {
				t.Fatal(err)
			}
		})
	})
	t.Run("Validate", func(t *testing.T) {
		checkNoAllocs(t, "Validate", func() {
			if _, err := tr.Validate(); err != nil {
				t.Fatal(err)
			}
		})
	})
}

// TestTrainStepNoAllocs: a decoder's training step, as Run takes it (batch
// draw, forward, backward, gradient clipping, AdamW), allocates nothing once
// it has run once, and neither does a validation after the first.
func TestTrainStepNoAllocs(t *testing.T) {
	tr := parallelTrainer(t, parallelConfig())
	checkStepAndValidate(t, tr)
}

// TestMaskedLMStepNoAllocs: the same for an encoder's masked-LM step, with a
// factorized embedding.
func TestMaskedLMStepNoAllocs(t *testing.T) {
	c := parallelConfig()
	c.Vocab, c.Arch, c.EmbedDim = 257, model.ArchEncoder, 32
	tr := parallelTrainer(t, c)
	checkStepAndValidate(t, tr)
}

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

// Every allocation of this test binary is profiled, so that allocSites can
// attribute each one: the rate has to be set before the allocations it
// should see (each thread samples on a countdown set under the old rate).
func init() { runtime.MemProfileRate = 1 }

// checkNoAllocs runs fn once to warm up, then requires that it allocates
// nothing on average (testing.AllocsPerRun). On failure it lists the call
// sites that allocate.
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
	sites := allocSites(runs, fn)
	if len(sites) > 20 {
		sites = append(sites[:20], fmt.Sprintf("  ... and %d more", len(sites)-20))
	}
	t.Errorf("%s: %v allocations per call; these sites allocate at least once per call:\n%s", what, n, strings.Join(sites, "\n"))
}

// allocSites runs fn runs times with every allocation profiled and lists
// the allocating call sites that average at least one allocation per run,
// each described by its innermost frames outside the runtime.
func allocSites(runs int, fn func()) []string {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // as testing.AllocsPerRun
	before := profileCounts()
	for i := 0; i < runs; i++ {
		fn()
	}
	after := profileCounts()
	var sites []string
	for stk, a := range after {
		per := (a - before[stk]) / int64(runs)
		if desc := describeStack(stk[:]); per >= 1 && desc != "" {
			sites = append(sites, fmt.Sprintf("  %d per call at %s", per, desc))
		}
	}
	sort.Strings(sites)
	return sites
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
// stack ("" for the profiling's own bookkeeping).
func describeStack(stk []uintptr) string {
	for i, pc := range stk {
		if pc == 0 {
			stk = stk[:i]
			break
		}
	}
	frames := runtime.CallersFrames(stk)
	var parts []string
	for {
		f, more := frames.Next()
		if f.Function == "github.com/tformer/tformer/train.profileCounts" {
			return ""
		}
		if !strings.HasPrefix(f.Function, "runtime.") && len(parts) < 3 {
			parts = append(parts, fmt.Sprintf("%s (%s:%d)", f.Function, f.File, f.Line))
		}
		if !more {
			break
		}
	}
	return strings.Join(parts, " <- ")
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

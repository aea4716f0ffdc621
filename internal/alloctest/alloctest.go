// Package alloctest counts allocations per call the way the model and
// generate tests need on a shared machine.
package alloctest

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// WarmAllocsPerRun is testing.AllocsPerRun after warming fn up the way it
// is measured, with the garbage collector off while it counts. The first
// calls allocate the buffers a model or generator keeps; the kernels' scratch
// lives in sync.Pools, which a collection empties (and the runtime forces
// one every two minutes, so on a loaded machine one can fall inside the
// count at any time) and a GOMAXPROCS change drops, so the warm-up runs on
// one processor as AllocsPerRun does and no collection runs until the count
// is done. What is left are one-off allocations (a worker's first pooled
// scratch) that average out below one over the runs; an allocation in
// every call does not.
func WarmAllocsPerRun(runs int, fn func()) float64 {
	fn()
	runtime.GC()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	fn()
	fn()
	return testing.AllocsPerRun(runs, fn)
}

package kernels

import (
	"runtime"
	"time"
)

// FMAPeakGFLOPS measures this goroutine's core's fp32 FMA limit: it runs an
// assembly loop of independent vector FMAs (on amd64, 12 YMM accumulators
// with 24 VFMADD231PS a round, enough to keep both FMA pipes of current
// cores busy) for about d and returns the best GFLOP/s over short timed
// runs, counting an FMA as 2 FLOPs per lane. It returns 0 where no such
// loop exists (other architectures, the purego build tag, or a CPU without
// AVX2 and FMA).
func FMAPeakGFLOPS(d time.Duration) float64 {
	if !fmaPeakAvailable() {
		return 0
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// Calibrate a run of about a millisecond.
	n := 1 << 10
	for {
		t0 := time.Now()
		fmaPeakLoop(n)
		if time.Since(t0) > 500*time.Microsecond || n >= 1<<30 {
			break
		}
		n *= 2
	}
	best := 0.0
	deadline := time.Now().Add(d)
	for first := true; first || time.Now().Before(deadline); first = false {
		t0 := time.Now()
		flops := fmaPeakLoop(n)
		if s := time.Since(t0).Seconds(); s > 0 {
			best = max(best, flops/s/1e9)
		}
	}
	return best
}

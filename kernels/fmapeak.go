package kernels

import (
	"runtime"
	"time"
)

// FMAPeak is one measured single-core fp32 FMA limit.
type FMAPeak struct {
	ISA    string  `json:"isa"`    // instruction set of the loop: "avx512f" (ZMM) or "avx2+fma" (YMM)
	Bits   int     `json:"bits"`   // vector width of the FMAs
	GFLOPS float64 `json:"gflops"` // best rate, counting an FMA as 2 FLOPs per lane
}

// fmaLoop is an assembly loop of independent vector FMAs: run does n
// iterations and returns the FLOPs done.
type fmaLoop struct {
	isa  string
	bits int
	run  func(n int) float64
}

// FMAPeakGFLOPS measures this goroutine's core's fp32 FMA limit with the
// widest FMA the CPU has (see FMAPeakISA): an assembly loop of 24
// independent vector FMAs on 12 accumulators a round, enough to keep both
// FMA pipes of current cores busy, run for about d; it returns the best
// GFLOP/s over short timed runs, counting an FMA as 2 FLOPs per lane. It
// returns 0 where no such loop exists (other architectures, the purego
// build tag, or a CPU without AVX2 and FMA).
func FMAPeakGFLOPS(d time.Duration) float64 {
	loops := fmaLoops()
	if len(loops) == 0 {
		return 0
	}
	return measureFMA(loops[0], d)
}

// FMAPeakISA names the instructions FMAPeakGFLOPS uses: "avx512f" where
// the CPU and OS support AVX-512F, "avx2+fma" where they support AVX2 and
// FMA, "" where no loop exists.
func FMAPeakISA() string {
	if loops := fmaLoops(); len(loops) > 0 {
		return loops[0].isa
	}
	return ""
}

// FMAPeaks measures the FMA limit of every vector width the CPU runs,
// widest first, each for about d (nil where no loop exists).
func FMAPeaks(d time.Duration) []FMAPeak {
	var out []FMAPeak
	for _, l := range fmaLoops() {
		out = append(out, FMAPeak{ISA: l.isa, Bits: l.bits, GFLOPS: measureFMA(l, d)})
	}
	return out
}

func measureFMA(l fmaLoop, d time.Duration) float64 {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// Calibrate a run of about a millisecond.
	n := 1 << 10
	for {
		t0 := time.Now()
		l.run(n)
		if time.Since(t0) > 500*time.Microsecond || n >= 1<<30 {
			break
		}
		n *= 2
	}
	best := 0.0
	deadline := time.Now().Add(d)
	for first := true; first || time.Now().Before(deadline); first = false {
		t0 := time.Now()
		flops := l.run(n)
		if s := time.Since(t0).Seconds(); s > 0 {
			best = max(best, flops/s/1e9)
		}
	}
	return best
}

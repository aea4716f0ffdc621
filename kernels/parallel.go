package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
)

var threads atomic.Int32

func init() { threads.Store(int32(runtime.GOMAXPROCS(0))) }

// SetThreads sets how many goroutines a kernel may split its work across;
// n < 1 means runtime.GOMAXPROCS(0). Results do not depend on it: work is
// split by output rows, and each output element is computed by one goroutine
// in a fixed order.
func SetThreads(n int) {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	threads.Store(int32(n))
}

// Threads returns the current thread count set by SetThreads.
func Threads() int { return int(threads.Load()) }

// minParallelWork is the number of multiply-adds below which a call stays on
// the calling goroutine: starting goroutines costs microseconds.
const minParallelWork = 1 << 15

// parallelFor calls fn over [0, n) split into contiguous chunks, one per
// thread, when work (an estimate of the inner operations) is large enough.
func parallelFor(n int, work int64, fn func(lo, hi int)) {
	t := Threads()
	if t > n {
		t = n
	}
	if t <= 1 || work < minParallelWork {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + t - 1) / t
	for lo := chunk; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(lo, hi)
	}
	fn(0, min(chunk, n))
	wg.Wait()
}

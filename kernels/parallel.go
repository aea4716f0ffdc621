package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

var threads atomic.Int32

func init() { threads.Store(int32(runtime.GOMAXPROCS(0))) }

// SetThreads sets how many goroutines a kernel may split its work across;
// n < 1 means runtime.GOMAXPROCS(0). Results do not depend on it: work is
// split by output rows or columns, and each output element is computed by
// one goroutine in a fixed order.
func SetThreads(n int) {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	threads.Store(int32(n))
}

// Threads returns the current thread count set by SetThreads.
func Threads() int { return int(threads.Load()) }

// minParallelWork is the number of multiply-adds below which a call stays on
// the calling goroutine: waking a worker and waiting for it costs about a
// microsecond or more.
const minParallelWork = 1 << 15

// A RangeJob is work over an index range, run by ParallelFor: Range(lo, hi)
// handles indices [lo, hi). Calls on disjoint ranges run concurrently.
//
// A job is usually a pointer to a small struct holding one kernel call's
// arguments, taken from a JobPool so that it lives on the heap without
// being allocated per call (see RunPooled).
type RangeJob interface{ Range(lo, hi int) }

// ParallelFor calls job.Range over [0, n) split into contiguous chunks, one
// per thread (see SetThreads), when work (an estimate of the inner
// operations) is large enough; otherwise, or when the workers are busy, it
// calls job.Range(0, n) on the calling goroutine. The chunks run on the
// calling goroutine and the persistent workers, and ParallelFor returns when
// all are done. It allocates nothing itself; the job escapes to the heap
// (the workers read it), so pass a pointer that is already there, such as
// one from a JobPool, rather than a capturing closure or a fresh value.
func ParallelFor(n int, work int64, job RangeJob) {
	t := Threads()
	if t > n {
		t = n
	}
	if t <= 1 || work < minParallelWork {
		job.Range(0, n)
		return
	}
	if !workers.mu.TryLock() {
		// The workers are busy (a concurrent caller, or a kernel called
		// from inside a parallel section): run here.
		job.Range(0, n)
		return
	}
	r := &workers.ranges
	r.job, r.n, r.chunk = job, n, (n+t-1)/t
	units := (n + r.chunk - 1) / r.chunk
	workers.runLocked(r, units, min(t, units))
	r.job = nil
	workers.mu.Unlock()
}

// A JobPool is a free list of one call site's job values (the arguments of
// a parallel kernel call), so that a call reuses a heap value instead of
// allocating one. The zero value is ready to use; declare one package-level
// JobPool per job type.
type JobPool[J any] struct{ p sync.Pool }

// Get returns a zeroed job value, reused when one is free.
func (p *JobPool[J]) Get() *J {
	if v, ok := p.p.Get().(*J); ok {
		return v
	}
	return new(J)
}

// Put zeroes j (dropping its references to the caller's slices) and returns
// it to the pool.
func (p *JobPool[J]) Put(j *J) {
	var zero J
	*j = zero
	p.p.Put(j)
}

// RunPooled runs args as a ParallelFor job over [0, n): it copies args into
// a value from pool, runs it, and puts the value back. With one pool per job
// type it allocates nothing once the pool is warm:
//
//	type scaleJob struct{ x []float32; a float32 }
//	func (j *scaleJob) Range(lo, hi int) { for i := lo; i < hi; i++ { j.x[i] *= j.a } }
//	var scaleJobs kernels.JobPool[scaleJob]
//	kernels.RunPooled(&scaleJobs, len(x), int64(len(x)), scaleJob{x: x, a: 2})
func RunPooled[J any, P interface {
	*J
	RangeJob
}](pool *JobPool[J], n int, work int64, args J) {
	j := pool.Get()
	*j = args
	ParallelFor(n, work, P(j))
	pool.Put(j)
}

// A FuncJob is a RangeJob made of a call's arguments and a function that
// takes them: Range(lo, hi) calls Fn(&Args, lo, hi). Fn must capture no
// variables (read everything from its *A), or it is allocated at every call.
type FuncJob[A any] struct {
	Args A
	Fn   func(a *A, lo, hi int)
}

func (j *FuncJob[A]) Range(lo, hi int) { j.Fn(&j.Args, lo, hi) }

// RunFunc runs fn over [0, n) as a ParallelFor job with arguments args,
// through a FuncJob from pool (one package-level pool per argument type).
// It turns a closure into an allocation-free call with the closure's body
// unchanged: the non-capturing fn first unpacks its arguments under the
// names the body uses.
//
//	type scaleArgs struct{ x []float32; a float32 }
//	var scaleJobs kernels.JobPool[kernels.FuncJob[scaleArgs]]
//	kernels.RunFunc(&scaleJobs, len(x), int64(len(x)), scaleArgs{x, 2}, func(p *scaleArgs, lo, hi int) {
//		x, a := p.x, p.a
//		for i := lo; i < hi; i++ { x[i] *= a }
//	})
func RunFunc[A any](pool *JobPool[FuncJob[A]], n int, work int64, args A, fn func(a *A, lo, hi int)) {
	j := pool.Get()
	j.Args, j.Fn = args, fn
	ParallelFor(n, work, j)
	pool.Put(j)
}

// A unitRunner is a job for the workers: runUnit(i) for every unit i, in
// any order and on any goroutine, each exactly once.
type unitRunner interface{ runUnit(i int) }

// rangeRunner adapts a ParallelFor job to units of chunk indices.
type rangeRunner struct {
	job      RangeJob
	n, chunk int
}

func (r *rangeRunner) runUnit(i int) {
	lo := i * r.chunk
	r.job.Range(lo, min(lo+r.chunk, r.n))
}

// workerPool is a set of goroutines started once and reused by every
// parallel kernel call: a call publishes a job, assigns it to the workers it
// enlists (waking those that are parked), runs units itself, and waits
// until each enlisted worker has reported. Units are handed out through an
// atomic counter, so a worker that is slow to wake (or descheduled on a
// busy machine) just takes fewer.
//
// A worker that has finished a job spins for a short while (yielding the
// processor) watching for its next assignment before it parks on its
// channel, so the back-to-back calls of a training step cost about a
// microsecond each to fork and join, and an idle process costs nothing.
type workerPool struct {
	mu     sync.Mutex  // held by the one call that owns the workers
	ranges rangeRunner // ParallelFor's job, reused under mu
	gemm   gemmTask    // gemm's job, reused under mu
	pre    []float32   // gemm's shared packing buffer, under mu

	// The current job, written under mu before it is assigned.
	job     unitRunner
	units   int
	next    atomic.Int64
	seq     uint64        // job number, under mu
	done    chan struct{} // one token per enlisted worker when it is done
	workers []*worker
}

type worker struct {
	assigned atomic.Uint64 // number of the last job given to this worker
	parked   atomic.Bool
	wake     chan struct{}
}

var workers = workerPool{done: make(chan struct{}, 64)}

// workerSpin is how long an idle worker keeps watching for a new job before
// it parks.
const workerSpin = 50 * time.Microsecond

// runLocked runs a job on the caller and t-1 workers; the caller holds mu.
func (p *workerPool) runLocked(r unitRunner, n, t int) {
	for len(p.workers) < t-1 {
		w := &worker{wake: make(chan struct{}, 1)}
		p.workers = append(p.workers, w)
		go p.loop(w)
	}
	if cap(p.done) < t-1 {
		p.done = make(chan struct{}, t-1)
	}
	p.job, p.units = r, n
	p.next.Store(0)
	p.seq++
	for _, w := range p.workers[:t-1] {
		w.assigned.Store(p.seq)
		if w.parked.CompareAndSwap(true, false) {
			w.wake <- struct{}{}
		}
	}
	p.work(r, n)
	for i := 0; i < t-1; i++ {
		<-p.done
	}
	p.job = nil
}

// work runs units of the current job until none are left.
func (p *workerPool) work(r unitRunner, n int) {
	for {
		i := int(p.next.Add(1) - 1)
		if i >= n {
			return
		}
		r.runUnit(i)
	}
}

func (p *workerPool) loop(w *worker) {
	var seen uint64
	for {
		// Wait for an assignment newer than seen: spin briefly, then park.
		s := w.assigned.Load()
		if s == seen {
			deadline := time.Now().Add(workerSpin)
			for s == seen && time.Now().Before(deadline) {
				runtime.Gosched()
				s = w.assigned.Load()
			}
		}
		if s == seen {
			w.parked.Store(true)
			if s = w.assigned.Load(); s == seen || !w.parked.CompareAndSwap(true, false) {
				// Parked, or a caller saw us parked and is sending a
				// wake-up, which must be consumed.
				<-w.wake
				s = w.assigned.Load()
			}
		}
		if s == seen {
			continue
		}
		seen = s
		// The job was written before it was assigned, and the caller
		// cannot publish another until this worker reports done.
		p.work(p.job, p.units)
		p.done <- struct{}{}
	}
}

// zeroArgs are Zero's arguments for its parallel chunks.
type zeroArgs struct{ x []float32 }

var zeroJobs JobPool[FuncJob[zeroArgs]]

// zeroChunk is the number of floats each unit of Zero clears.
const zeroChunk = 1 << 16

// Zero sets every element of x to zero, split across the kernel threads in
// chunks of 64K floats when x is large (a model's gradient slab: one
// thread's stores do not reach the memory bandwidth of two).
func Zero(x []float32) {
	n := (len(x) + zeroChunk - 1) / zeroChunk
	RunFunc(&zeroJobs, n, int64(len(x))/8, zeroArgs{x}, func(a *zeroArgs, lo, hi int) {
		clear(a.x[lo*zeroChunk : min(hi*zeroChunk, len(a.x))])
	})
}

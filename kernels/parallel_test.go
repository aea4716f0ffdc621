package kernels

import (
	"fmt"
	"sync"
	"testing"
)

// parallelFor calls fn over [0, n) like ParallelFor, for tests that want a
// closure. The closure escapes, so each call allocates: kernels use
// RunPooled or RunFunc instead.
func parallelFor(n int, work int64, fn func(lo, hi int)) { ParallelFor(n, work, rangeFunc(fn)) }

// rangeFunc adapts a function to RangeJob.
type rangeFunc func(lo, hi int)

func (f rangeFunc) Range(lo, hi int) { f(lo, hi) }

// countJob counts the visits of each index, and checks every range.
type countJob struct {
	t    *testing.T
	seen []int32
}

func (j *countJob) Range(lo, hi int) {
	if lo < 0 || hi > len(j.seen) || lo > hi {
		j.t.Errorf("bad range [%d,%d) of %d", lo, hi, len(j.seen))
		return
	}
	for i := lo; i < hi; i++ {
		j.seen[i]++ // ranges are disjoint, so no race
	}
}

var countJobs JobPool[countJob]

type countArgs struct{ seen []int32 }

var countFuncJobs JobPool[FuncJob[countArgs]]

// checkOnce reports indices not visited exactly once.
func checkOnce(t *testing.T, what string, seen []int32) {
	t.Helper()
	for i, s := range seen {
		if s != 1 {
			t.Errorf("%s: index %d visited %d times", what, i, s)
			return
		}
	}
}

// TestParallelForJobs: ParallelFor, RunPooled and RunFunc visit each index
// exactly once for awkward n and thread counts, parallel or not.
func TestParallelForJobs(t *testing.T) {
	for _, th := range []int{1, 2, 3, 7} {
		withThreads(t, th)
		for _, n := range []int{0, 1, 2, 3, 5, 16, 17, 100} {
			for _, work := range []int64{0, minParallelWork} {
				name := fmt.Sprintf("threads %d n %d work %d", th, n, work)
				seen := make([]int32, n)
				ParallelFor(n, work, &countJob{t, seen})
				checkOnce(t, "ParallelFor "+name, seen)

				seen = make([]int32, n)
				RunPooled(&countJobs, n, work, countJob{t, seen})
				checkOnce(t, "RunPooled "+name, seen)

				seen = make([]int32, n)
				RunFunc(&countFuncJobs, n, work, countArgs{seen}, func(a *countArgs, lo, hi int) {
					for i := lo; i < hi; i++ {
						a.seen[i]++
					}
				})
				checkOnce(t, "RunFunc "+name, seen)
			}
		}
	}
}

// TestJobPoolZeroes: a job comes back from the pool zeroed, so it keeps no
// caller's slices alive and leaks no arguments into the next call.
func TestJobPoolZeroes(t *testing.T) {
	var p JobPool[countJob]
	for i := 0; i < 10; i++ {
		j := p.Get()
		if j.t != nil || j.seen != nil {
			t.Fatalf("Get returned a used job %+v", *j)
		}
		j.t, j.seen = t, make([]int32, 3)
		p.Put(j)
	}
}

// TestParallelNestedAndConcurrent: jobs started from inside a job, and from
// several goroutines at once, run on the caller when the workers are busy
// and still cover every index once. Run under -race, it also checks that
// the pooled job values are handed between goroutines safely.
func TestParallelNestedAndConcurrent(t *testing.T) {
	withThreads(t, 3)
	const outer = 6
	inner := make([][]int32, outer)
	for i := range inner {
		inner[i] = make([]int32, 40)
	}
	RunFunc(&nestJobs, outer, minParallelWork, nestArgs{inner}, func(a *nestArgs, lo, hi int) {
		for i := lo; i < hi; i++ {
			RunPooled(&countJobs, len(a.inner[i]), minParallelWork, countJob{nil, a.inner[i]})
		}
	})
	for i, s := range inner {
		checkOnce(t, fmt.Sprintf("nested %d", i), s)
	}

	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := 0; it < 50; it++ {
				seen := make([]int32, 30+it)
				RunPooled(&countJobs, len(seen), minParallelWork, countJob{nil, seen})
				for i, s := range seen {
					if s != 1 {
						t.Errorf("concurrent caller: index %d visited %d times", i, s)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

type nestArgs struct{ inner [][]int32 }

var nestJobs JobPool[FuncJob[nestArgs]]

// kernelCase is one call of a kernel with a parallel section, on inputs
// large enough to split on two threads; reset restores its outputs (some
// accumulate) and outs lists them.
type kernelCase struct {
	name  string
	run   func()
	reset func()
	outs  [][]float32
}

// parallelKernels returns a case for every kernel with a parallel section,
// on fresh buffers.
func parallelKernels() []kernelCase {
	const n, d, v = 64, 96, 600
	r := newRNG(1)
	x, w, bias := randVec(r, n*d, 1), randVec(r, d, 1), randVec(r, d, 1)
	out, dx, g := make([]float32, n*d), make([]float32, n*d), randVec(r, n*d, 1)
	mean, rstd := make([]float32, n), make([]float32, n)
	logits, probs, losses := randVec(r, n*v, 1), make([]float32, n*v), make([]float32, n)
	targets := make([]int32, n)
	for i := range targets {
		targets[i] = int32(i * 7 % v)
	}
	wm, dw := randVec(r, v*d, 1), make([]float32, v*d)
	cnt := new(Counter)
	zero := func(bufs ...[]float32) func() {
		return func() {
			for _, b := range bufs {
				clear(b)
			}
		}
	}
	return []kernelCase{
		{"LayerNormForward", func() { LayerNormForward(cnt, out, mean, rstd, x, w, bias, n, d) }, zero(out, mean, rstd), [][]float32{out, mean, rstd}},
		{"GELUForward", func() { GELUForward(cnt, out, x) }, zero(out), [][]float32{out}},
		{"GELUBackward", func() { GELUBackward(cnt, dx, x, g) }, zero(dx), [][]float32{dx}},
		{"GELUErfForwardFor", func() { GELUErfForwardFor(cnt, GELU, out, x) }, zero(out), [][]float32{out}},
		{"GELUErfBackwardFor", func() { GELUErfBackwardFor(cnt, GELU, dx, x, g) }, zero(dx), [][]float32{dx}},
		{"CrossEntropyForward", func() { CrossEntropyForward(cnt, probs, losses, logits, targets, n, v) }, zero(probs, losses), [][]float32{probs, losses}},
		{"CrossEntropyBackward", func() { CrossEntropyBackward(cnt, dw[:n*v], logits, targets, 0.5, n, v) }, zero(dw), [][]float32{dw}},
		{"LinearForward", func() { LinearForward(cnt, QKV, probs, x, wm, nil, nil, n, d, v) }, zero(probs), [][]float32{probs}},
		{"LinearBackward", func() { LinearBackward(cnt, QKV, dx, dw, nil, logits, x, wm, n, d, v) }, zero(dx, dw), [][]float32{dx, dw}},
		{"LinearForward/1row", func() { LinearForward(cnt, QKV, probs[:v], x[:d], wm, nil, nil, 1, d, v) }, zero(probs), [][]float32{probs[:v]}},
	}
}

// TestKernelsParallelMatchSerial: every kernel with a parallel section gives
// bitwise the serial result on two threads, also when several goroutines
// call it at once (so that some calls find the workers busy), with and
// without assembly. Under -race it checks the sections' job hand-off.
func TestKernelsParallelMatchSerial(t *testing.T) {
	for _, asm := range []bool{true, false} {
		if asm && bestArch == nil {
			continue
		}
		withAssembly(t, asm)
		for i := range parallelKernels() {
			const callers = 3
			var cases [callers]kernelCase
			for c := range cases {
				cases[c] = parallelKernels()[i]
			}
			k := cases[0]
			withThreads(t, 1)
			k.reset()
			k.run()
			var want [][]float32
			for _, o := range k.outs {
				want = append(want, clone32(o))
			}
			withThreads(t, 2)
			var wg sync.WaitGroup
			for c := range cases {
				cases[c].reset()
				wg.Add(1)
				go func() {
					defer wg.Done()
					cases[c].run()
				}()
			}
			wg.Wait()
			for c, kc := range cases {
				for j, o := range kc.outs {
					checkExact(t, fmt.Sprintf("%s (assembly %v, caller %d) output %d", k.name, asm, c, j), o, want[j])
				}
			}
		}
	}
}

// TestKernelsNoAllocs: in steady state the kernels with parallel sections
// allocate nothing, on one thread or two, in their parallel and serial
// forms, through the assembly GEMM and the pure-Go products.
func TestKernelsNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop values, so counts mean nothing")
	}
	kernels := parallelKernels()
	for _, asm := range []bool{true, false} {
		if asm && bestArch == nil {
			continue
		}
		withAssembly(t, asm)
		for _, th := range []int{1, 2} {
			withThreads(t, th)
			for _, k := range kernels {
				k.run() // warm the pools
				if a := testing.AllocsPerRun(20, k.run); a != 0 {
					t.Errorf("%s (assembly %v, threads %d): %v allocations per call", k.name, asm, th, a)
				}
			}
		}
	}
}

// BenchmarkParallelFor is the cost of one RunPooled section that does no
// work, on the persistent workers (2 threads), called back to back.
func BenchmarkParallelFor(b *testing.B) {
	withThreads(b, 2)
	seen := make([]int32, 2)
	for b.Loop() {
		RunPooled(&countJobs, 2, minParallelWork, countJob{nil, seen})
	}
}

// TestZero checks that Zero clears exactly its slice, on one thread and
// split across several, for lengths around its chunk size.
func TestZero(t *testing.T) {
	for _, th := range []int{1, 2, 3} {
		withThreads(t, th)
		for _, n := range []int{0, 1, 17, zeroChunk - 1, zeroChunk, zeroChunk + 1, 3*zeroChunk + 5} {
			buf := filled(n+2, 7)
			Zero(buf[1 : n+1])
			want := make([]float32, n+2)
			want[0], want[n+1] = 7, 7
			checkExact(t, fmt.Sprintf("threads %d n %d", th, n), buf, want)
		}
	}
}

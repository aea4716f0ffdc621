package kernels

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"
)

// Tests of the assembly GEMM path against the pure-Go kernels, of the
// dispatch switch, the vector helpers and the worker pool.

// needAsm skips a test when this CPU (or build) has no assembly kernels.
func needAsm(t *testing.T) *gemmArch {
	t.Helper()
	if bestArch == nil {
		t.Skip("no assembly kernels on this CPU or build")
	}
	return bestArch
}

// eachArch runs body as a subtest for every assembly kernel set this CPU
// supports (AVX-512F and AVX2 on a CPU with both), with that set in use, and
// skips when there is none.
func eachArch(t *testing.T, body func(t *testing.T, ar *gemmArch)) {
	t.Helper()
	needAsm(t)
	for _, c := range archCandidates() {
		if !c.supported() {
			continue
		}
		t.Run(c.arch.name, func(t *testing.T) {
			withArch(t, c.arch)
			body(t, c.arch)
		})
		for _, ar := range c.alt {
			if ar.blocking == c.arch.blocking {
				continue // the one in use, tested above
			}
			t.Run(ar.name+"/"+ar.blocking, func(t *testing.T) {
				withArch(t, ar)
				body(t, ar)
			})
		}
	}
}

// withArch puts kernel set ar in use for the rest of the test.
func withArch(t *testing.T, ar *gemmArch) {
	t.Helper()
	was := useArch.Swap(ar)
	t.Cleanup(func() { useArch.Store(was) })
}

// withAssembly sets SetAssembly(on) for the rest of the test.
func withAssembly(t *testing.T, on bool) {
	t.Helper()
	was := SetAssembly(on)
	t.Cleanup(func() { SetAssembly(was) })
}

// withParallelMin lowers the GEMM parallel threshold for the rest of the test.
func withParallelMin(t *testing.T, v int64) {
	t.Helper()
	old := gemmParallelMin
	gemmParallelMin = v
	t.Cleanup(func() { gemmParallelMin = old })
}

// runGo runs the pure-Go kernel of the form.
func runGo(kd mmKind, c, a, b []float32, m, n, k int, acc bool) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		if kd == kindNT && !acc {
			clear(c[:m*n])
		}
		return
	}
	switch kd {
	case kindNT:
		matMulNTGo(c, a, b, m, n, k, acc)
	case kindNN:
		matMulNNGo(c, a, b, m, n, k)
	case kindTN:
		matMulTNGo(c, a, b, m, n, k)
	}
}

// runArch runs the blocked GEMM with kernel set ar (possibly with shrunken
// blocks), through the same entry checks as the exported functions.
func runArch(ar *gemmArch, kd mmKind, c, a, b []float32, m, n, k int, acc bool) {
	if m == 0 || n == 0 || k == 0 {
		runGo(kd, c, a, b, m, n, k, acc)
		return
	}
	switch kd {
	case kindNT:
		gemm(ar, formNT, c, a, b, m, n, k, acc)
	case kindNN:
		gemm(ar, formNN, c, a, b, m, n, k, true)
	case kindTN:
		gemm(ar, formTN, c, a, b, m, n, k, true)
	}
}

// smallBlocks returns a copy of ar with tiny cache blocks, so that small
// shapes cross every k-, row- and column-block boundary.
func smallBlocks(ar *gemmArch) *gemmArch {
	s := *ar
	s.kc = 16
	s.mc = 2 * ar.mr
	s.nc = 2 * ar.nr
	return &s
}

// gemmCase is one product to check: a form, a shape, accumulate or not.
type gemmCase struct {
	kind    mmKind
	m, n, k int
	acc     bool
}

func (c gemmCase) String() string {
	s := c.kind.String() + "/" + shapeName(c.m, c.n, c.k)
	if c.acc {
		s += "/acc"
	}
	return s
}

// gemmCases: awkward sizes (1, primes, tile sizes ± 1, odd k) in all three
// forms, accumulating and not, plus larger shapes that cross the real
// blocks.
func gemmCases() []gemmCase {
	dims := []int{1, 5, 7, 13, 31, 33, 65}
	ks := []int{1, 3, 8, 17, 64, 129}
	var cs []gemmCase
	i := 0
	for _, m := range dims {
		for _, n := range dims {
			for _, k := range ks {
				kd := mmKind(i % 3)
				cs = append(cs, gemmCase{kd, m, n, k, i%2 == 0})
				i++
			}
		}
	}
	for _, kd := range []mmKind{kindNT, kindNN, kindTN} {
		for _, acc := range []bool{false, true} {
			cs = append(cs,
				gemmCase{kd, 300, 200, 513, acc},
				gemmCase{kd, 6, 16, 256, acc},
				gemmCase{kd, 145, 1041, 33, acc},
				gemmCase{kd, 2, 700, 300, acc},
				gemmCase{kd, 700, 3, 300, acc},
			)
		}
	}
	return cs
}

// gemmInputs returns random operands for c and a starting c (NaN when NT
// overwrites, so any element left unwritten shows).
func gemmInputs(seed uint64, gc gemmCase) (a, b, c0 []float32) {
	r := newRNG(seed)
	la, lb := gc.kind.lens(gc.m, gc.n, gc.k)
	a, b = randVec(r, la, 1), randVec(r, lb, 1)
	switch {
	case gc.acc:
		c0 = randVec(r, gc.m*gc.n, 3)
	case gc.kind == kindNT:
		c0 = filled(gc.m*gc.n, nan32())
	default:
		c0 = make([]float32, gc.m*gc.n)
	}
	return a, b, c0
}

// gemmRef holds the references for one case: the pure-Go kernel's result
// and a float64 one with per-element tolerances.
type gemmRef struct {
	goRes     []float32
	want, tol []float64
}

func newGEMMRef(gc gemmCase, a, b, c0 []float32) gemmRef {
	goRes := clone32(c0)
	runGo(gc.kind, goRes, a, b, gc.m, gc.n, gc.k, gc.acc)
	var start []float32
	if gc.acc || gc.kind != kindNT {
		start = c0
	}
	want, mag := refMatMul(gc.kind, start, a, b, gc.m, gc.n, gc.k)
	for i := range mag {
		mag[i] = mmTol(gc.k, mag[i])
	}
	return gemmRef{goRes, want, mag}
}

// check compares an assembly result with both references. Both it and the
// pure-Go result are within tol of the exact value, so they are within
// 2·tol of each other.
func (r gemmRef) check(t *testing.T, name string, got []float32) {
	t.Helper()
	checkTol(t, name+"/vs float64", got, r.want, func(i int) float64 { return r.tol[i] })
	checkTol(t, name+"/vs pure Go", got, to64(r.goRes), func(i int) float64 { return 2 * r.tol[i] })
}

func TestGEMMAsmAgainstGo(t *testing.T) { eachArch(t, testGEMMAsmAgainstGo) }

func testGEMMAsmAgainstGo(t *testing.T, ar *gemmArch) {
	small := smallBlocks(ar)
	for i, gc := range gemmCases() {
		if (testing.Short() || raceEnabled) && i%4 != 0 {
			continue
		}
		a, b, c0 := gemmInputs(uint64(i), gc)
		aIn, bIn := clone32(a), clone32(b)
		ref := newGEMMRef(gc, a, b, c0)
		big := gc.m*gc.n*gc.k > 1<<20
		if big && raceEnabled {
			continue
		}
		for _, blocks := range []*gemmArch{ar, small} {
			if blocks == small && big {
				continue // tiny blocks are for small shapes
			}
			got := clone32(c0)
			runArch(blocks, gc.kind, got, a, b, gc.m, gc.n, gc.k, gc.acc)
			name := gc.String()
			if blocks == small {
				name += "/small blocks"
			}
			ref.check(t, name, got)
			checkExact(t, name+"/a unchanged", a, aIn)
			checkExact(t, name+"/b unchanged", b, bIn)
		}
	}
}

// TestGEMMExportedUsesAsm checks that the exported functions take the
// assembly path on this CPU (results differ from pure Go in rounding only)
// and the pure-Go path after SetAssembly(false) (results identical to it).
func TestGEMMExportedUsesAsm(t *testing.T) {
	needAsm(t)
	gc := gemmCase{kindNN, 37, 41, 300, true}
	a, b, c0 := gemmInputs(9, gc)
	goRes := clone32(c0)
	runGo(gc.kind, goRes, a, b, gc.m, gc.n, gc.k, gc.acc)
	asmRes := clone32(c0)
	runArch(bestArch, gc.kind, asmRes, a, b, gc.m, gc.n, gc.k, gc.acc)

	got := clone32(c0)
	runMatMul(gc.kind, got, a, b, gc.m, gc.n, gc.k, gc.acc)
	checkExact(t, "default = assembly", got, asmRes)

	withAssembly(t, false)
	if Accel() != "go" {
		t.Fatalf("Accel() = %q after SetAssembly(false)", Accel())
	}
	got = clone32(c0)
	runMatMul(gc.kind, got, a, b, gc.m, gc.n, gc.k, gc.acc)
	checkExact(t, "SetAssembly(false) = pure Go", got, goRes)
	if SetAssembly(true) || Accel() != bestArch.name {
		t.Fatalf("SetAssembly(true): Accel() = %q, want %q", Accel(), bestArch.name)
	}
}

// TestMatMulPureGo runs the package's matmul and linear-layer tests again
// with the assembly kernels switched off, so the fallback stays tested on
// CPUs that have them.
func TestMatMulPureGo(t *testing.T) {
	needAsm(t)
	withAssembly(t, false)
	if !raceEnabled { // slow under the race detector; "threads" covers the goroutines
		t.Run("reference", TestMatMulAgainstReference)
	}
	t.Run("known", TestMatMulKnownValues)
	t.Run("zero", TestMatMulZeroDims)
	t.Run("threads", TestMatMulThreadsBitwise)
	t.Run("linear", TestLinearForward)
}

// TestGEMMThreadsBitwise: the parallel assembly path gives bitwise the same
// result for any thread count, with the threshold lowered so that small
// shapes are split too, with real and tiny cache blocks.
func TestGEMMThreadsBitwise(t *testing.T) { eachArch(t, testGEMMThreadsBitwise) }

func testGEMMThreadsBitwise(t *testing.T, ar *gemmArch) {
	withParallelMin(t, 0)
	cases := []gemmCase{
		{kindNT, 65, 33, 65, false}, {kindNN, 33, 65, 31, true}, {kindTN, 3, 70, 200, true},
		{kindNT, 300, 200, 513, true}, {kindNN, 200, 300, 300, true}, {kindTN, 1100, 40, 20, true},
		{kindNT, 7, 2100, 20, false},
	}
	small := smallBlocks(ar)
	for _, blocks := range []*gemmArch{ar, small} {
		for i, gc := range cases {
			big := gc.m*gc.n*gc.k > 1<<20
			if big && (blocks == small || raceEnabled || testing.Short()) {
				continue
			}
			a, b, c0 := gemmInputs(uint64(100+i), gc)
			var first []float32
			for _, th := range []int{1, 2, 3, 7} {
				withThreads(t, th)
				c := clone32(c0)
				runArch(blocks, gc.kind, c, a, b, gc.m, gc.n, gc.k, gc.acc)
				if first == nil {
					first = c
					newGEMMRef(gc, a, b, c0).check(t, gc.String(), c)
					continue
				}
				checkExact(t, fmt.Sprintf("%v/threads=%d", gc, th), c, first)
			}
		}
	}
}

// TestGEMMPositionIndependent: an element of C does not depend on the rows
// and columns around it — computing a sub-block of C alone gives bitwise the
// same values as computing the whole of C. (So splitting work by rows or
// columns, or calling with one row at a time, cannot change results.)
func TestGEMMPositionIndependent(t *testing.T) { eachArch(t, testGEMMPositionIndependent) }

func testGEMMPositionIndependent(t *testing.T, ar *gemmArch) {
	for _, kd := range []mmKind{kindNT, kindNN, kindTN} {
		m, n, k := 40, 50, 300
		gc := gemmCase{kd, m, n, k, true}
		a, b, c0 := gemmInputs(7, gc)
		full := clone32(c0)
		runArch(ar, kd, full, a, b, m, n, k, true)
		// Rows 5..17, columns 9..30 as a product of their own.
		i0, i1, j0, j1 := 5, 17, 9, 30
		sm, sn := i1-i0, j1-j0
		sa := make([]float32, sm*k)
		sb := make([]float32, sn*k)
		sc := make([]float32, sm*sn)
		for i := 0; i < sm; i++ {
			for p := 0; p < k; p++ {
				if kd == kindTN {
					sa[p*sm+i] = a[p*m+i0+i]
				} else {
					sa[i*k+p] = a[(i0+i)*k+p]
				}
			}
			copy(sc[i*sn:(i+1)*sn], c0[(i0+i)*n+j0:(i0+i)*n+j1])
		}
		for j := 0; j < sn; j++ {
			for p := 0; p < k; p++ {
				if kd == kindNT {
					sb[j*k+p] = b[(j0+j)*k+p]
				} else {
					sb[p*sn+j] = b[p*n+j0+j]
				}
			}
		}
		runArch(ar, kd, sc, sa, sb, sm, sn, k, true)
		for i := 0; i < sm; i++ {
			checkExact(t, fmt.Sprintf("%v/row %d", kd, i0+i), sc[i*sn:(i+1)*sn], full[(i0+i)*n+j0:(i0+i)*n+j1])
		}
	}
}

// TestGEMMNoAllocs: in steady state a product allocates nothing, serial or
// parallel.
func TestGEMMNoAllocs(t *testing.T) {
	needAsm(t)
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop buffers")
	}
	for _, th := range []int{1, 2} {
		withThreads(t, th)
		for _, gc := range []gemmCase{{kindNT, 64, 300, 200, false}, {kindNN, 150, 40, 300, true}, {kindTN, 200, 64, 50, true}} {
			a, b, c := gemmInputs(1, gc)
			runMatMul(gc.kind, c, a, b, gc.m, gc.n, gc.k, gc.acc)
			allocs := testing.AllocsPerRun(20, func() {
				runMatMul(gc.kind, c, a, b, gc.m, gc.n, gc.k, gc.acc)
			})
			if allocs != 0 {
				t.Errorf("%v threads=%d: %.1f allocations per call", gc, th, allocs)
			}
		}
	}
}

// TestPackAsm checks the assembly panel packers against packTGo and
// packCopy, including
// a destination exactly as long as the panel (no room for the spill).
func TestPackAsm(t *testing.T) { eachArch(t, testPackAsm) }

func testPackAsm(t *testing.T, ar *gemmArch) {
	r := newRNG(5)
	for _, tc := range []struct {
		pack func(dst, src []float32, off, ld, kc int)
		w    int
		copy bool // source layout: w contiguous values per p (else rows along p)
	}{{ar.packAT, ar.mr, false}, {ar.packBT, ar.nr, false}, {ar.packAC, ar.mr, true}, {ar.packBC, ar.nr, true}} {
		if tc.pack == nil {
			continue
		}
		for _, kc := range []int{1, 7, 8, 9, 16, 23, 64, 256} {
			for _, slack := range []int{0, 8} {
				ld := kc + 5
				want := make([]float32, tc.w*kc)
				var src []float32
				if tc.copy {
					ld = tc.w + 3
					src = randVec(r, kc*ld+3, 1)
					packCopy(want, src, 3, ld, kc, tc.w, tc.w)
				} else {
					src = randVec(r, tc.w*ld+3, 1)
					packTGo(want, src, 3, ld, 0, kc, tc.w, tc.w)
				}
				// dst is followed by guard floats the packer must not touch.
				buf := filled(tc.w*kc+slack+16, nan32())
				dst := buf[: tc.w*kc+slack : tc.w*kc+slack]
				tc.pack(dst, src, 3, ld, kc)
				name := fmt.Sprintf("w=%d kc=%d slack=%d", tc.w, kc, slack)
				checkExact(t, name, dst[:tc.w*kc], want)
				for i, v := range buf[len(dst):] {
					if v == v {
						t.Fatalf("%s: wrote %g at %d past the end of dst", name, v, i)
					}
				}
			}
		}
	}
}

// TestDotAxpyAsm checks the vector helpers against the pure-Go ones for
// lengths around the 8- and 32-wide steps, and that axpy writes nothing
// past len(y).
func TestDotAxpyAsm(t *testing.T) { eachArch(t, testDotAxpyAsm) }

func testDotAxpyAsm(t *testing.T, ar *gemmArch) {
	r := newRNG(6)
	for n := 0; n <= 100; n++ {
		x, y := randVec(r, n+4, 1), randVec(r, n+4, 1)
		var want, mag float64
		for i := 0; i < n; i++ {
			want += float64(x[i]) * float64(y[i])
			mag += math.Abs(float64(x[i]) * float64(y[i]))
		}
		got := ar.dot(x[:n], y)
		if d := math.Abs(float64(got) - want); d > mmTol(n, mag) {
			t.Errorf("dot n=%d: got %g, want %g", n, got, want)
		}
		yc := clone32(y)
		ar.axpy(yc[:n], 0.75, x)
		for i := range yc {
			w := y[i]
			if i < n {
				w = float32(math.FMA(0.75, float64(x[i]), float64(y[i])))
			}
			if yc[i] != w {
				t.Errorf("axpy n=%d: y[%d] = %g, want %g", n, i, yc[i], w)
				break
			}
		}
	}
	// The dispatching helpers follow SetAssembly.
	x, y := randVec(r, 37, 1), randVec(r, 37, 1)
	if dot(x, y) != ar.dot(x, y) {
		t.Error("dot does not use the assembly kernel")
	}
	withAssembly(t, false)
	if dot(x, y) != dotGo(x, y) {
		t.Error("dot does not use dotGo after SetAssembly(false)")
	}
}

func TestFMAPeak(t *testing.T) {
	g := FMAPeakGFLOPS(time.Millisecond)
	loops := fmaLoops()
	if (len(loops) > 0) != (g > 0) {
		t.Fatalf("FMAPeakGFLOPS = %g, loops available: %d", g, len(loops))
	}
	if g < 0 || g > 1e5 || math.IsNaN(g) {
		t.Fatalf("FMAPeakGFLOPS = %g", g)
	}
	peaks := FMAPeaks(time.Millisecond)
	if len(peaks) != len(loops) {
		t.Fatalf("FMAPeaks gave %d figures for %d loops", len(peaks), len(loops))
	}
	for i, p := range peaks {
		if p.GFLOPS <= 0 || p.GFLOPS > 1e5 || (i > 0 && p.Bits >= peaks[i-1].Bits) {
			t.Errorf("FMAPeaks[%d] = %+v (want positive rates, widest first)", i, p)
		}
	}
	if want := ""; len(peaks) > 0 {
		want = peaks[0].ISA
		if FMAPeakISA() != want {
			t.Errorf("FMAPeakISA() = %q, want the widest loop %q", FMAPeakISA(), want)
		}
	} else if FMAPeakISA() != want {
		t.Errorf("FMAPeakISA() = %q without loops", FMAPeakISA())
	}
}

// TestWorkersNestedAndConcurrent: a parallel kernel called from inside a
// parallel section, and from several goroutines at once, neither deadlocks
// nor loses work, and gives the serial result.
func TestWorkersNestedAndConcurrent(t *testing.T) {
	withThreads(t, 3)
	withParallelMin(t, 0)
	gc := gemmCase{kindNN, 30, 40, 50, true}
	a, b, c0 := gemmInputs(3, gc)
	want := clone32(c0)
	runMatMul(gc.kind, want, a, b, gc.m, gc.n, gc.k, true)

	const outer = 6
	outs := make([][]float32, outer)
	parallelFor(outer, minParallelWork, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			outs[i] = clone32(c0)
			runMatMul(gc.kind, outs[i], a, b, gc.m, gc.n, gc.k, true)
		}
	})
	for i, o := range outs {
		checkExact(t, fmt.Sprintf("nested %d", i), o, want)
	}

	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := 0; it < 20; it++ {
				c := clone32(c0)
				runMatMul(gc.kind, c, a, b, gc.m, gc.n, gc.k, true)
				for i := range c {
					if c[i] != want[i] {
						t.Errorf("concurrent caller: element %d differs", i)
						return
					}
				}
				n := 50 + it
				seen := make([]int32, n)
				parallelFor(n, minParallelWork, func(lo, hi int) {
					for i := lo; i < hi; i++ {
						seen[i]++
					}
				})
				for i, s := range seen {
					if s != 1 {
						t.Errorf("concurrent parallelFor: index %d visited %d times", i, s)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

package kernels

import (
	"fmt"
	"math"
	"testing"
)

type mmShape struct{ m, n, k int }

// mmDims are the awkward sizes every matmul form is tried on: 1, powers of
// two +/- 1, odd primes, sizes straddling the 4-wide and 64-wide blocks.
var mmDims = []int{1, 2, 3, 5, 7, 13, 31, 33, 65}

// mmShapes returns every (m, n, k) over mmDims (a deterministic ninth of them
// under -short, which the race detector slows down) plus a few larger shapes.
func mmShapes() []mmShape {
	var s []mmShape
	idx := 0
	for _, m := range mmDims {
		for _, n := range mmDims {
			for _, k := range mmDims {
				if !testing.Short() || idx%9 == 0 || m == 65 && n == 65 && k == 65 {
					s = append(s, mmShape{m, n, k})
				}
				idx++
			}
		}
	}
	if testing.Short() {
		return append(s, mmShape{64, 130, 9}, mmShape{9, 64, 131})
	}
	return append(s, mmShape{128, 96, 200}, mmShape{64, 130, 9}, mmShape{9, 64, 131}, mmShape{100, 1, 300})
}

// mmKind selects one of the three product forms.
type mmKind int

const (
	kindNT mmKind = iota
	kindNN
	kindTN
)

func (k mmKind) String() string { return [...]string{"NT", "NN", "TN"}[k] }

// lens returns len(a), len(b) for the form.
func (kd mmKind) lens(m, n, k int) (int, int) {
	switch kd {
	case kindNT:
		return m * k, n * k
	case kindNN:
		return m * k, k * n
	default:
		return k * m, k * n
	}
}

// refMatMul returns c0 + op(a)·op(b) in float64 (c0 nil means zero) and, per
// element, the sum of the magnitudes of every term added (|c0| included).
func refMatMul(kd mmKind, c0, a, b []float32, m, n, k int) (want, mag []float64) {
	want = make([]float64, m*n)
	mag = make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, sa float64
			if c0 != nil {
				s = float64(c0[i*n+j])
				sa = math.Abs(s)
			}
			for p := 0; p < k; p++ {
				var x, y float64
				switch kd {
				case kindNT:
					x, y = float64(a[i*k+p]), float64(b[j*k+p])
				case kindNN:
					x, y = float64(a[i*k+p]), float64(b[p*n+j])
				case kindTN:
					x, y = float64(a[p*m+i]), float64(b[p*n+j])
				}
				s += x * y
				sa += math.Abs(x * y)
			}
			want[i*n+j], mag[i*n+j] = s, sa
		}
	}
	return want, mag
}

// runMatMul calls the kernel of the form. acc only matters for NT (NN and TN
// always accumulate).
func runMatMul(kd mmKind, c, a, b []float32, m, n, k int, acc bool) {
	switch kd {
	case kindNT:
		MatMulNT(c, a, b, m, n, k, acc)
	case kindNN:
		MatMulNNTo(c, a, b, m, n, k, acc)
	case kindTN:
		MatMulTN(c, a, b, m, n, k)
	}
}

// mmTol is the float32 error bound for a sum of k products plus an initial
// value: max(1e-5, γ_{k+2})·Σ|terms| + 1e-6.
func mmTol(k int, mag float64) float64 {
	return max(1e-5, float64(k+2)*u32/(1-float64(k+2)*u32))*mag + 1e-6
}

func TestMatMulAgainstReference(t *testing.T) {
	r := newRNG(1)
	cases := []struct {
		kind mmKind
		acc  bool // NT, NN: accumulate; TN: start from a non-zero c
	}{
		{kindNT, false}, {kindNT, true},
		{kindNN, false}, {kindNN, true},
		{kindTN, false}, {kindTN, true},
	}
	for _, sh := range mmShapes() {
		m, n, k := sh.m, sh.n, sh.k
		for _, tc := range cases {
			la, lb := tc.kind.lens(m, n, k)
			a := randVec(r, la, 1)
			b := randVec(r, lb, 1)
			var c, c0 []float32
			switch {
			case tc.acc:
				c0 = randVec(r, m*n, 3)
				c = clone32(c0)
			case tc.kind != kindTN:
				c = filled(m*n, nan32()) // must be overwritten
			default:
				c = make([]float32, m*n)
			}
			aIn, bIn := clone32(a), clone32(b)
			runMatMul(tc.kind, c, a, b, m, n, k, tc.acc)
			want, mag := refMatMul(tc.kind, c0, a, b, m, n, k)
			name := tc.kind.String() + "/" + shapeName(m, n, k)
			if tc.acc {
				name += "/acc"
			}
			checkTol(t, name, c, want, func(i int) float64 { return mmTol(k, mag[i]) })
			checkExact(t, name+"/a unchanged", a, aIn)
			checkExact(t, name+"/b unchanged", b, bIn)
		}
	}
}

// TestMatMulKnownValues pins the layout conventions on a hand-computed case.
func TestMatMulKnownValues(t *testing.T) {
	// A = [[1 2 3] [4 5 6]] (2x3), B = [[7 8] [9 10] [11 12]] (3x2).
	// A·B = [[58 64] [139 154]].
	a := []float32{1, 2, 3, 4, 5, 6}
	bNN := []float32{7, 8, 9, 10, 11, 12}
	bNT := []float32{7, 9, 11, 8, 10, 12} // Bᵀ, row-major (2x3)
	aTN := []float32{1, 4, 2, 5, 3, 6}    // Aᵀ, row-major (3x2)
	want := []float32{58, 64, 139, 154}

	c := filled(4, nan32())
	MatMulNT(c, a, bNT, 2, 2, 3, false)
	checkExact(t, "NT", c, want)
	MatMulNT(c, a, bNT, 2, 2, 3, true)
	checkExact(t, "NT acc", c, []float32{116, 128, 278, 308})

	c = []float32{1, 1, 1, 1}
	MatMulNN(c, a, bNN, 2, 2, 3)
	checkExact(t, "NN", c, []float32{59, 65, 140, 155})

	c = []float32{-1, -1, -1, -1}
	MatMulTN(c, aTN, bNN, 2, 2, 3)
	checkExact(t, "TN", c, []float32{57, 63, 138, 153})
}

func TestMatMulZeroDims(t *testing.T) {
	r := newRNG(2)
	for _, kd := range []mmKind{kindNT, kindNN, kindTN} {
		for _, sh := range []mmShape{{0, 5, 3}, {4, 0, 3}, {0, 0, 0}, {4, 5, 0}, {0, 5, 0}, {1, 1, 0}} {
			for _, acc := range []bool{false, true} {
				m, n, k := sh.m, sh.n, sh.k
				la, lb := kd.lens(m, n, k)
				a, b := randVec(r, la, 1), randVec(r, lb, 1)
				c0 := randVec(r, m*n, 1)
				c := clone32(c0)
				runMatMul(kd, c, a, b, m, n, k, acc)
				name := kd.String() + "/" + shapeName(m, n, k)
				if kd != kindTN && !acc {
					// c = op(A)·op(B) with k = 0 is the zero matrix.
					checkExact(t, name+"/overwrite", c, make([]float32, m*n))
				} else {
					checkExact(t, name+"/accumulate", c, c0)
				}
			}
		}
	}
	// Empty operands may be nil.
	MatMulNT(nil, nil, nil, 0, 0, 0, false)
	MatMulNN(nil, nil, nil, 0, 3, 4)
	MatMulTN(nil, nil, nil, 3, 0, 4)
	c := []float32{5, 6}
	MatMulNN(c, nil, nil, 1, 2, 0)
	MatMulTN(c, nil, nil, 1, 2, 0)
	checkExact(t, "k=0 nil operands", c, []float32{5, 6})
}

// TestMatMulNNToSameSums checks that MatMulNNTo overwriting c gives
// exactly what MatMulNN adds to a cleared c, on the assembly and the pure-Go
// paths, from the unpacked few-row shapes to the parallel packed ones.
func TestMatMulNNToSameSums(t *testing.T) {
	r := newRNG(9)
	shapes := []mmShape{{1, 40, 7}, {2, 300, 100}, {3, 70, 200}, {13, 33, 65}, {128, 96, 200}}
	for _, asm := range []bool{true, false} {
		withAssembly(t, asm)
		for _, th := range []int{1, 2} {
			withThreads(t, th)
			for _, sh := range shapes {
				m, n, k := sh.m, sh.n, sh.k
				a, b := randVec(r, m*k, 1), randVec(r, k*n, 1)
				want := make([]float32, m*n)
				MatMulNN(want, a, b, m, n, k)
				got := filled(m*n, nan32())
				MatMulNNTo(got, a, b, m, n, k, false)
				checkExact(t, fmt.Sprintf("asm %v threads %d %s", asm, th, shapeName(m, n, k)), got, want)
			}
		}
	}
}

// TestMatMulThreadsBitwise checks that results do not depend on the thread
// count on shapes large enough to be split across goroutines.
func TestMatMulThreadsBitwise(t *testing.T) {
	r := newRNG(3)
	shapes := []mmShape{{65, 33, 65}, {33, 65, 31}, {3, 70, 200}, {128, 96, 200}, {64, 64, 64}, {2, 300, 100}}
	threads := []int{1, 2, 3, 7}
	if testing.Short() {
		shapes, threads = shapes[:3], threads[:3]
	}
	for _, sh := range shapes {
		m, n, k := sh.m, sh.n, sh.k
		if int64(m)*int64(n)*int64(k) < minParallelWork {
			t.Fatalf("shape %v too small to go parallel", sh)
		}
		for _, kd := range []mmKind{kindNT, kindNN, kindTN} {
			for _, acc := range []bool{false, true} {
				la, lb := kd.lens(m, n, k)
				a, b := randVec(r, la, 1), randVec(r, lb, 1)
				c0 := randVec(r, m*n, 1)
				var results [][]float32
				for _, th := range threads {
					withThreads(t, th)
					c := clone32(c0)
					runMatMul(kd, c, a, b, m, n, k, acc)
					results = append(results, c)
				}
				name := kd.String() + "/" + shapeName(m, n, k)
				for i := 1; i < len(results); i++ {
					checkExact(t, name+"/threads", results[i], results[0])
				}
				var want, mag []float64
				if kd != kindTN && !acc {
					want, mag = refMatMul(kd, nil, a, b, m, n, k)
				} else {
					want, mag = refMatMul(kd, c0, a, b, m, n, k)
				}
				checkTol(t, name, results[0], want, func(i int) float64 { return mmTol(k, mag[i]) })
			}
		}
	}
}

// TestSetThreads checks SetThreads' handling of n < 1.
func TestSetThreads(t *testing.T) {
	withThreads(t, 5)
	if Threads() != 5 {
		t.Fatalf("Threads() = %d after SetThreads(5)", Threads())
	}
	SetThreads(0)
	if Threads() < 1 {
		t.Fatalf("Threads() = %d after SetThreads(0), want GOMAXPROCS", Threads())
	}
	SetThreads(-3)
	if Threads() < 1 {
		t.Fatalf("Threads() = %d after SetThreads(-3), want GOMAXPROCS", Threads())
	}
}

// TestParallelForCoverage checks that parallelFor visits each index exactly
// once for awkward n and thread counts, whether or not it goes parallel.
func TestParallelForCoverage(t *testing.T) {
	for _, th := range []int{1, 2, 3, 4, 7, 16} {
		withThreads(t, th)
		for _, n := range []int{0, 1, 2, 3, 5, 7, 8, 15, 16, 17, 100} {
			for _, work := range []int64{0, minParallelWork} {
				seen := make([]int32, n)
				parallelFor(n, work, func(lo, hi int) {
					if lo < 0 || hi > n || lo > hi {
						t.Errorf("threads %d n %d: bad chunk [%d,%d)", th, n, lo, hi)
						return
					}
					for i := lo; i < hi; i++ {
						seen[i]++ // chunks are disjoint, so no race
					}
				})
				for i, s := range seen {
					if s != 1 {
						t.Errorf("threads %d n %d work %d: index %d visited %d times", th, n, work, i, s)
					}
				}
			}
		}
	}
}

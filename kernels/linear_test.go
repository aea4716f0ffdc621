package kernels

import (
	"math"
	"testing"
)

type linShape struct{ n, in, o int }

var linShapes = []linShape{
	{1, 1, 1}, {3, 5, 7}, {2, 1, 9}, {13, 31, 33}, {4, 65, 3},
	{17, 64, 48}, // large enough to split across goroutines
	{3, 0, 4},    // empty input features: out = bias + res
	{0, 4, 5},    // no rows
}

// refLinearFwd returns inp·wᵀ + bias + res in float64 and, per element, the
// sum of the magnitudes of all terms. bias and res may be nil.
func refLinearFwd(inp, w, bias, res []float32, n, in, o int) (want, mag []float64) {
	want = make([]float64, n*o)
	mag = make([]float64, n*o)
	for r := 0; r < n; r++ {
		for j := 0; j < o; j++ {
			var s, sa float64
			for p := 0; p < in; p++ {
				x := float64(inp[r*in+p]) * float64(w[j*in+p])
				s += x
				sa += math.Abs(x)
			}
			if bias != nil {
				s += float64(bias[j])
				sa += math.Abs(float64(bias[j]))
			}
			if res != nil {
				s += float64(res[r*o+j])
				sa += math.Abs(float64(res[r*o+j]))
			}
			want[r*o+j], mag[r*o+j] = s, sa
		}
	}
	return want, mag
}

func TestLinearForward(t *testing.T) {
	r := newRNG(10)
	for _, sh := range linShapes {
		n, in, o := sh.n, sh.in, sh.o
		for _, withBias := range []bool{false, true} {
			for _, withRes := range []bool{false, true} {
				name := shapeName(n, in, o)
				inp := randVec(r, n*in, 1)
				w := randVec(r, o*in, 0.5)
				var bias, res []float32
				if withBias {
					bias = randVec(r, o, 1)
					name += "/bias"
				}
				if withRes {
					res = randVec(r, n*o, 2)
					name += "/res"
				}
				inp0, w0, bias0, res0 := clone32(inp), clone32(w), clone32(bias), clone32(res)
				out := filled(n*o, nan32()) // must be overwritten
				var cnt Counter
				LinearForward(&cnt, FFNDown, out, inp, w, bias, res, n, in, o)

				want, mag := refLinearFwd(inp, w, bias, res, n, in, o)
				checkTol(t, name, out, want, func(i int) float64 { return mmTol(in+2, mag[i]) })
				checkExact(t, name+"/inp unchanged", inp, inp0)
				checkExact(t, name+"/w unchanged", w, w0)
				checkExact(t, name+"/bias unchanged", bias, bias0)
				checkExact(t, name+"/res unchanged", res, res0)

				flops := 2 * int64(n) * int64(in) * int64(o)
				if withBias {
					flops += int64(n) * int64(o)
				}
				if withRes {
					flops += int64(n) * int64(o) * FlopsResidual
				}
				checkCounts(t, name, &cnt, map[countKey]int64{{Forward, FFNDown}: flops})
			}
		}
	}
}

func TestLinearBackward(t *testing.T) {
	r := newRNG(11)
	for _, sh := range linShapes {
		n, in, o := sh.n, sh.in, sh.o
		for _, withDinp := range []bool{false, true} {
			for _, withDbias := range []bool{false, true} {
				name := shapeName(n, in, o)
				inp := randVec(r, n*in, 1)
				w := randVec(r, o*in, 0.5)
				dout := randVec(r, n*o, 1)
				dw0 := randVec(r, o*in, 1) // gradients accumulate
				dw := clone32(dw0)
				var dinp, dinp0, dbias, dbias0 []float32
				if withDinp {
					dinp0 = randVec(r, n*in, 1)
					dinp = clone32(dinp0)
					name += "/dinp"
				}
				if withDbias {
					dbias0 = randVec(r, o, 1)
					dbias = clone32(dbias0)
					name += "/dbias"
				}
				var cnt Counter
				LinearBackward(&cnt, QKV, dinp, dw, dbias, dout, inp, w, n, in, o)

				// dinp += dout·w: [n×o]·[o×in].
				if withDinp {
					want, mag := refMatMul(kindNN, dinp0, dout, w, n, in, o)
					checkTol(t, name+"/dinp", dinp, want, func(i int) float64 { return mmTol(o, mag[i]) })
				}
				// dw += doutᵀ·inp: [o×n]·[n×in].
				want, mag := refMatMul(kindTN, dw0, dout, inp, o, in, n)
				checkTol(t, name+"/dw", dw, want, func(i int) float64 { return mmTol(n, mag[i]) })
				if withDbias {
					want := make([]float64, o)
					mag := make([]float64, o)
					for j := range want {
						want[j] = float64(dbias0[j])
						mag[j] = math.Abs(want[j])
						for rr := 0; rr < n; rr++ {
							want[j] += float64(dout[rr*o+j])
							mag[j] += math.Abs(float64(dout[rr*o+j]))
						}
					}
					checkTol(t, name+"/dbias", dbias, want, func(i int) float64 { return mmTol(n, mag[i]) })
				}

				flops := 2 * int64(n) * int64(in) * int64(o)
				if withDinp {
					flops *= 2
				}
				if withDbias {
					flops += int64(n) * int64(o)
				}
				checkCounts(t, name, &cnt, map[countKey]int64{{Backward, QKV}: flops})
			}
		}
	}
}

// TestLinearBackwardTo checks that LinearBackwardTo writes dinp (whatever
// it held) with exactly the values LinearBackward adds to a cleared one, and
// accumulates dw and dbias as LinearBackward does.
func TestLinearBackwardTo(t *testing.T) {
	r := newRNG(12)
	for _, sh := range linShapes {
		n, in, o := sh.n, sh.in, sh.o
		name := shapeName(n, in, o)
		inp, w, dout := randVec(r, n*in, 1), randVec(r, o*in, 0.5), randVec(r, n*o, 1)
		dw0, db0 := randVec(r, o*in, 1), randVec(r, o, 1)
		wantX, wantW, wantB := make([]float32, n*in), clone32(dw0), clone32(db0)
		var c1, c2 Counter
		LinearBackward(&c1, FFNUp, wantX, wantW, wantB, dout, inp, w, n, in, o)
		gotX, gotW, gotB := filled(n*in, nan32()), clone32(dw0), clone32(db0)
		LinearBackwardTo(&c2, FFNUp, gotX, gotW, gotB, dout, inp, w, n, in, o)
		checkExact(t, name+"/dinp", gotX, wantX)
		checkExact(t, name+"/dw", gotW, wantW)
		checkExact(t, name+"/dbias", gotB, wantB)
		if c1 != c2 {
			t.Errorf("%s: counts differ", name)
		}
	}
}

// TestLinearBackwardFiniteDiff checks LinearBackward against central
// differences of L = Σ out ⊙ G through a float64 forward.
func TestLinearBackwardFiniteDiff(t *testing.T) {
	r := newRNG(12)
	const n, in, o = 5, 7, 6
	inp := randVec(r, n*in, 1)
	w := randVec(r, o*in, 0.5)
	bias := randVec(r, o, 1)
	res := randVec(r, n*o, 1)
	g := randVec(r, n*o, 1)

	x64, w64, b64, res64 := to64(inp), to64(w), to64(bias), to64(res)
	loss := func() float64 {
		s := 0.0
		for rr := 0; rr < n; rr++ {
			for j := 0; j < o; j++ {
				v := b64[j] + res64[rr*o+j]
				for p := 0; p < in; p++ {
					v += x64[rr*in+p] * w64[j*in+p]
				}
				s += v * float64(g[rr*o+j])
			}
		}
		return s
	}
	fdX := centralDiff(x64, 1e-6, loss)
	fdW := centralDiff(w64, 1e-6, loss)
	fdB := centralDiff(b64, 1e-6, loss)
	fdRes := centralDiff(res64, 1e-6, loss)

	dinp0, dw0, db0 := randVec(r, n*in, 1), randVec(r, o*in, 1), randVec(r, o, 1)
	dinp, dw, db := clone32(dinp0), clone32(dw0), clone32(db0)
	LinearBackward(nil, QKV, dinp, dw, db, g, inp, w, n, in, o)
	checkAccum(t, "dinp", dinp, dinp0, fdX, globalScale(fdX), 1e-5, 1e-6)
	checkAccum(t, "dw", dw, dw0, fdW, globalScale(fdW), 1e-5, 1e-6)
	checkAccum(t, "dbias", db, db0, fdB, globalScale(fdB), 1e-5, 1e-6)
	// The residual's gradient is dout itself (the caller shares the buffer).
	checkTol(t, "dres", g, fdRes, func(int) float64 { return 1e-6 })
}

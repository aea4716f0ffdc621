package kernels

import (
	"math"
	"testing"
)

// ---------------------------------------------------------------- layer norm

// refLayerNormRow normalises one row in float64 (biased variance, eps 1e-5).
func refLayerNormRow(x, w, b []float64) (out []float64, mean, rstd float64) {
	d := float64(len(x))
	for _, v := range x {
		mean += v
	}
	mean /= d
	var vs float64
	for _, v := range x {
		vs += (v - mean) * (v - mean)
	}
	rstd = 1 / math.Sqrt(vs/d+1e-5)
	out = make([]float64, len(x))
	for j, v := range x {
		out[j] = (v-mean)*rstd*w[j] + b[j]
	}
	return out, mean, rstd
}

// lnInput returns n rows of d values, row r of kind r%6: standard normal,
// offset, tiny variance (eps dominates), constant (zero variance), large
// scale, and a two-valued row.
func lnInput(seed uint64, n, d int) []float32 {
	r := newRNG(seed)
	x := make([]float32, n*d)
	for row := 0; row < n; row++ {
		for j := 0; j < d; j++ {
			var v float64
			switch row % 6 {
			case 0:
				v = r.NormFloat64()
			case 1:
				v = 3 + 0.5*r.NormFloat64()
			case 2:
				v = 1e-3 * r.NormFloat64()
			case 3:
				v = 0.7
			case 4:
				v = 50 * r.NormFloat64()
			case 5:
				v = 1 + 0.01*float64(1-2*(j%2))
			}
			x[row*d+j] = float32(v)
		}
	}
	return x
}

// lnErrBounds returns float32 error bounds of the kernel's mean and of the
// relative error of its rstd for one row (see TestLayerNormForward).
func lnErrBounds(x []float64, mean, rstd float64) (dMean, relRstd float64) {
	d := float64(len(x))
	var sa float64
	for _, v := range x {
		sa += math.Abs(v)
	}
	dMean = (d+1)*u32*sa/d + u32*math.Abs(mean)
	relRstd = (d/2+4)*u32 + dMean*dMean*rstd*rstd
	return dMean, relRstd
}

var lnDims = []int{1, 2, 3, 7, 64, 65, 768}

func TestLayerNormForward(t *testing.T) {
	r := newRNG(20)
	for _, d := range lnDims {
		n := 12
		inp := lnInput(uint64(d), n, d)
		w := randVec(r, d, 0.3)
		for j := range w {
			w[j] += 1
		}
		b := randVec(r, d, 0.5)
		out := filled(n*d, nan32())
		mean, rstd := filled(n, nan32()), filled(n, nan32())
		var cnt Counter
		LayerNormForward(&cnt, out, mean, rstd, inp, w, b, n, d)

		// Error model: the float32 mean is off by dMean, rstd by a relative
		// relRstd; out = (x-m)·rs·w + b then errs by |w|·(dMean·rs +
		// |x̂|·(relRstd + 3u)) + rounding. Tolerances are 4× these bounds.
		wantOut := make([]float64, n*d)
		tolOut := make([]float64, n*d)
		wantMean, wantRstd := make([]float64, n), make([]float64, n)
		tolMean, tolRstd := make([]float64, n), make([]float64, n)
		w64, b64 := to64(w), to64(b)
		for row := 0; row < n; row++ {
			x := to64(inp[row*d : row*d+d])
			o, m, rs := refLayerNormRow(x, w64, b64)
			dm, er := lnErrBounds(x, m, rs)
			copy(wantOut[row*d:], o)
			for j := range o {
				xhat := (x[j] - m) * rs
				tolOut[row*d+j] = 4 * (math.Abs(w64[j])*(dm*rs+math.Abs(xhat)*(er+3*u32)) + u32*(math.Abs(o[j])+math.Abs(b64[j])))
			}
			wantMean[row], wantRstd[row] = m, rs
			tolMean[row], tolRstd[row] = 4*dm, 4*er*rs
		}
		name := shapeName(n, d)
		checkTol(t, name+"/out", out, wantOut, func(i int) float64 { return tolOut[i] })
		checkTol(t, name+"/mean", mean, wantMean, func(i int) float64 { return tolMean[i] })
		checkTol(t, name+"/rstd", rstd, wantRstd, func(i int) float64 { return tolRstd[i] })
		checkCounts(t, name, &cnt, map[countKey]int64{{Forward, LayerNorm}: int64(n * d * FlopsLayerNormFwd)})
	}
}

// TestLayerNormForwardEps pins eps = 1e-5 and the biased variance on exact
// cases: a constant row normalises to b with rstd = 1/sqrt(1e-5), and the row
// (-1, 1) has variance 1.
func TestLayerNormForwardEps(t *testing.T) {
	inp := []float32{2, 2, 2, 2, -1, 1, -1, 1}
	w := []float32{1, 2, 3, 4}
	b := []float32{0.5, -0.5, 0.25, 0}
	out := make([]float32, 8)
	mean, rstd := make([]float32, 2), make([]float32, 2)
	LayerNormForward(nil, out, mean, rstd, inp, w, b, 2, 4)
	rs0 := 1 / math.Sqrt(1e-5)
	rs1 := 1 / math.Sqrt(1+1e-5)
	checkTol(t, "rstd", rstd, []float64{rs0, rs1}, func(i int) float64 { return 2e-7 * rs0 })
	checkTol(t, "mean", mean, []float64{2, 0}, func(int) float64 { return 0 })
	want := []float64{0.5, -0.5, 0.25, 0, -rs1 + 0.5, 2*rs1 - 0.5, -3*rs1 + 0.25, 4 * rs1}
	checkTol(t, "out", out, want, func(int) float64 { return 1e-6 })
}

func TestLayerNormBackward(t *testing.T) {
	r := newRNG(21)
	dims := lnDims
	if testing.Short() {
		dims = dims[:len(dims)-1] // the d = 768 differences cost O(n·d²)
	}
	for _, d := range dims {
		n := 6
		inp := lnInput(uint64(100+d), n, d)
		w := randVec(r, d, 0.3)
		for j := range w {
			w[j] += 1
		}
		b := randVec(r, d, 0.5)
		g := randVec(r, n*d, 1)
		out := make([]float32, n*d)
		mean, rstd := make([]float32, n), make([]float32, n)
		LayerNormForward(nil, out, mean, rstd, inp, w, b, n, d)

		dinp0, dw0, db0 := randVec(r, n*d, 1), randVec(r, d, 1), randVec(r, d, 1)
		dinp, dw, db := clone32(dinp0), clone32(dw0), clone32(db0)
		var cnt Counter
		LayerNormBackward(&cnt, dinp, dw, db, g, inp, w, mean, rstd, n, d)

		// Finite differences of L = Σ out ⊙ G through the float64 forward:
		// row by row for the input (rows are independent), over all rows
		// for w and b.
		w64, b64 := to64(w), to64(b)
		x64 := to64(inp)
		fdX := make([]float64, n*d)
		for row := 0; row < n; row++ {
			xr := x64[row*d : row*d+d]
			gr := g[row*d : row*d+d]
			copy(fdX[row*d:], centralDiff(xr, 1e-6, func() float64 {
				o, _, _ := refLayerNormRow(xr, w64, b64)
				return dotG(o, gr)
			}))
		}
		full := func() float64 {
			s := 0.0
			for row := 0; row < n; row++ {
				o, _, _ := refLayerNormRow(x64[row*d:row*d+d], w64, b64)
				s += dotG(o, g[row*d:row*d+d])
			}
			return s
		}
		fdW := centralDiff(w64, 1e-6, full)
		fdB := centralDiff(b64, 1e-6, full)

		// dw_j = Σ_r x̂_rj·g_rj inherits the forward's error in x̂; bound it
		// per element as in TestLayerNormForward.
		dwTol := make([]float64, d)
		for row := 0; row < n; row++ {
			x := x64[row*d : row*d+d]
			_, m, rs := refLayerNormRow(x, w64, b64)
			dm, er := lnErrBounds(x, m, rs)
			for j := range x {
				xhat := (x[j] - m) * rs
				dwTol[j] += 4 * math.Abs(float64(g[row*d+j])) * (dm*rs + math.Abs(xhat)*(er+4*u32))
			}
		}

		// dinp = rs·(dn − mean(dn) − x̂·mean(dn·x̂)) with dn = w⊙g: the three
		// terms can cancel (d = 2 always nearly does), so the error scales
		// with their magnitude rs·(|dn| + mean|dn| + |x̂|·mean|dn·x̂|), times
		// d·u for the float32 sums.
		dinpScale := make([]float64, n*d)
		for row := 0; row < n; row++ {
			x := x64[row*d : row*d+d]
			_, m, rs := refLayerNormRow(x, w64, b64)
			var sdn, sdnx float64
			for j := range x {
				dn := math.Abs(w64[j] * float64(g[row*d+j]))
				sdn += dn / float64(d)
				sdnx += dn * math.Abs((x[j]-m)*rs) / float64(d)
			}
			for j := range x {
				dn := math.Abs(w64[j] * float64(g[row*d+j]))
				dinpScale[row*d+j] = rs * (dn + sdn + math.Abs((x[j]-m)*rs)*sdnx)
			}
		}
		name := shapeName(n, d)
		checkAccum(t, name+"/dinp", dinp, dinp0, fdX, func(i int) float64 { return dinpScale[i] }, 1e-6, 4*float64(d+16)*u32)
		checkAccum(t, name+"/dw", dw, dw0, fdW, func(i int) float64 { return dwTol[i] }, 1e-6, 1)
		checkAccum(t, name+"/db", db, db0, fdB, globalScale(fdB), 1e-6, float64(n+2)*u32)
		checkCounts(t, name, &cnt, map[countKey]int64{{Backward, LayerNorm}: int64(n * d * FlopsLayerNormBwd)})
	}
}

// ---------------------------------------------------------------------- GELU

func refGELU(x float64) float64 {
	return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
}

// geluInputs returns special values (zero, tiny, the curved region, the
// saturated tails, large magnitudes) followed by n normal values of sd 3.
func geluInputs(seed uint64, n int) []float32 {
	x := []float32{0, float32(math.Copysign(0, -1))}
	for _, v := range []float32{1e-6, 1e-4, 0.1, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 10, 15, 30, 100, 1e3, 1e6} {
		x = append(x, v, -v)
	}
	return append(x, randVec(newRNG(seed), n, 3)...)
}

func TestGELUForward(t *testing.T) {
	for _, n := range []int{0, 1, 5000} { // 5000 goes parallel
		inp := geluInputs(uint64(n), n)
		inp0 := clone32(inp)
		out := filled(len(inp), nan32())
		var cnt Counter
		GELUForward(&cnt, out, inp)
		want := make([]float64, len(inp))
		for i, x := range inp {
			want[i] = refGELU(float64(x))
		}
		// The float32 tanh argument errs by a few u relative; |u|·sech²(u) ≤ 0.45
		// so tanh errs by < 4u absolute, and out = 0.5x(1+t) by < 2u|x| + 2u|out|.
		checkTol(t, "gelu", out, want, func(i int) float64 {
			return 2e-7*math.Abs(float64(inp[i])) + 4*u32*math.Abs(want[i]) + 1e-45
		})
		checkExact(t, "inp unchanged", inp, inp0)
		checkCounts(t, "gelu", &cnt, map[countKey]int64{{Forward, GELU}: int64(len(inp) * FlopsGELUFwd)})
	}
	// Known values of the tanh form.
	out := make([]float32, 3)
	GELUForward(nil, out, []float32{1, -1, 0})
	checkTol(t, "gelu(1,-1,0)", out, []float64{0.8411919906082768, -0.15880800939172324, 0}, func(int) float64 { return 1e-7 })
}

func TestGELUBackward(t *testing.T) {
	r := newRNG(30)
	for _, n := range []int{0, 1, 5000} {
		inp := geluInputs(uint64(n+7), n)
		dout := randVec(r, len(inp), 1)
		dinp0 := randVec(r, len(inp), 1)
		dinp := clone32(dinp0)
		var cnt Counter
		GELUBackward(&cnt, dinp, inp, dout)

		// d/dx of Σ gelu(x)·G is element-wise: one central difference each.
		fd := make([]float64, len(inp))
		tol := make([]float64, len(inp))
		for i, x32 := range inp {
			x := float64(x32)
			h := 1e-5 * max(1, math.Abs(x))
			gp := (refGELU(x+h) - refGELU(x-h)) / (2 * h)
			fd[i] = gp * float64(dout[i])
			// Error model: t errs by < 4u, 1−t² by < 8u+u|sech²|, the second
			// term is scaled by 0.5|x|·dinner with dinner = c(1+3a x²).
			dinner := math.Sqrt(2/math.Pi) * (1 + 3*0.044715*x*x)
			tol[i] = 2 * math.Abs(float64(dout[i])) * (4*u32 + 8*u32*math.Abs(x)*dinner + 2*u32*math.Abs(gp))
		}
		checkAccum(t, "dgelu", dinp, dinp0, fd, func(i int) float64 { return tol[i] }, 1e-6, 1)
		checkCounts(t, "dgelu", &cnt, map[countKey]int64{{Backward, GELU}: int64(len(inp) * FlopsGELUBwd)})
	}
}

// TestGELUExtremeInputs: finite inputs give finite outputs. GELU(x) is x for
// large positive x and 0 for large negative x; its derivative is 1 and 0.
func TestGELUExtremeInputs(t *testing.T) {
	xs := []float32{1e13, -1e13, 1e19, -1e19, 1e20, -1e20, math.MaxFloat32, -math.MaxFloat32}
	out := make([]float32, len(xs))
	GELUForward(nil, out, xs)
	for i, x := range xs {
		want := float32(0)
		if x > 0 {
			want = x
		}
		if out[i] != want {
			t.Errorf("GELUForward(%g) = %g, want %g", x, out[i], want)
		}
	}
	dinp := make([]float32, len(xs))
	GELUBackward(nil, dinp, xs, filled(len(xs), 1))
	for i, x := range xs {
		want := float32(0)
		if x > 0 {
			want = 1
		}
		if dinp[i] != want {
			t.Errorf("GELUBackward at x=%g: dinp = %g, want %g", x, dinp[i], want)
		}
	}
}

// ----------------------------------------------------------------- embedding

func TestEmbeddingForward(t *testing.T) {
	r := newRNG(40)
	const vocab, maxSeq = 11, 9
	for _, tc := range []struct{ b, t, d, pos0 int }{
		{1, 1, 1, 0}, {3, 4, 5, 0}, {2, 4, 3, 5}, {1, 1, 6, 8}, {2, 9, 4, 0},
	} {
		wte := randVec(r, vocab*tc.d, 1)
		wpe := randVec(r, maxSeq*tc.d, 1)
		tokens := make([]int32, tc.b*tc.t)
		for i := range tokens {
			tokens[i] = int32(r.IntN(vocab))
		}
		tokens[0] = vocab - 1
		if len(tokens) > 1 {
			tokens[len(tokens)-1] = 0
		}
		out := filled(len(tokens)*tc.d, nan32())
		var cnt Counter
		EmbeddingForward(&cnt, out, wte, wpe, tokens, tc.t, tc.d, tc.pos0)
		want := make([]float32, len(out))
		for row, tok := range tokens {
			pos := tc.pos0 + row%tc.t
			for j := 0; j < tc.d; j++ {
				// A single float32 add is correctly rounded, as is the float64
				// sum rounded to float32: the results must match exactly.
				want[row*tc.d+j] = float32(float64(wte[int(tok)*tc.d+j]) + float64(wpe[pos*tc.d+j]))
			}
		}
		name := shapeName(tc.b, tc.t, tc.d, tc.pos0)
		checkExact(t, name, out, want)
		checkCounts(t, name, &cnt, map[countKey]int64{{Forward, Embedding}: int64(len(tokens) * tc.d * FlopsEmbeddingFwd)})
	}
}

func TestEmbeddingBackward(t *testing.T) {
	r := newRNG(41)
	const vocab, maxSeq = 7, 6
	for _, tc := range []struct{ b, t, d int }{{1, 1, 1}, {3, 4, 5}, {4, 6, 3}, {2, 5, 8}} {
		wte := randVec(r, vocab*tc.d, 1)
		wpe := randVec(r, maxSeq*tc.d, 1)
		tokens := make([]int32, tc.b*tc.t)
		for i := range tokens {
			tokens[i] = int32(r.IntN(3)) // repeated tokens: gradients must sum
		}
		g := randVec(r, len(tokens)*tc.d, 1)

		wte64, wpe64 := to64(wte), to64(wpe)
		loss := func() float64 {
			s := 0.0
			for row, tok := range tokens {
				for j := 0; j < tc.d; j++ {
					s += (wte64[int(tok)*tc.d+j] + wpe64[(row%tc.t)*tc.d+j]) * float64(g[row*tc.d+j])
				}
			}
			return s
		}
		fdTE := centralDiff(wte64, 1e-6, loss)
		fdPE := centralDiff(wpe64, 1e-6, loss)

		dwte0, dwpe0 := randVec(r, len(wte), 1), randVec(r, len(wpe), 1)
		dwte, dwpe := clone32(dwte0), clone32(dwpe0)
		var cnt Counter
		EmbeddingBackward(&cnt, dwte, dwpe, g, tokens, tc.t, tc.d)
		name := shapeName(tc.b, tc.t, tc.d)
		n := float64(len(tokens))
		checkAccum(t, name+"/dwte", dwte, dwte0, fdTE, globalScale(fdTE), (n+2)*u32, 1e-7)
		checkAccum(t, name+"/dwpe", dwpe, dwpe0, fdPE, globalScale(fdPE), (n+2)*u32, 1e-7)
		// Rows of tokens never used and positions >= t keep their values.
		for p := tc.t; p < maxSeq; p++ {
			checkExact(t, name+"/dwpe unused rows", dwpe[p*tc.d:(p+1)*tc.d], dwpe0[p*tc.d:(p+1)*tc.d])
		}
		for v := 3; v < vocab; v++ {
			checkExact(t, name+"/dwte unused rows", dwte[v*tc.d:(v+1)*tc.d], dwte0[v*tc.d:(v+1)*tc.d])
		}
		checkCounts(t, name, &cnt, map[countKey]int64{{Backward, Embedding}: int64(len(tokens) * tc.d * FlopsEmbeddingBwd)})
	}
}

// ------------------------------------------------------------- cross-entropy

// refCrossEntropy returns the softmax probabilities and per-row losses in
// float64, and per-row float32 error bounds for the kernel's loss and
// (relative, before the gap term) probabilities.
func refCrossEntropy(z []float32, targets []int32, n, v int) (probs, losses, lossTol []float64) {
	probs = make([]float64, n*v)
	losses = make([]float64, n)
	lossTol = make([]float64, n)
	for r := 0; r < n; r++ {
		row := to64(z[r*v : r*v+v])
		mx := math.Inf(-1)
		for _, x := range row {
			mx = max(mx, x)
		}
		var s, gap float64
		for _, x := range row {
			s += math.Exp(x - mx)
		}
		for j, x := range row {
			p := math.Exp(x-mx) / s
			probs[r*v+j] = p
			gap += p * math.Abs(x-mx)
		}
		ls := math.Log(s)
		zt := row[targets[r]]
		losses[r] = ls + mx - zt
		// log s errs by the relative error of s: (v+2)u plus the exp
		// arguments' rounding, p-weighted; then three float32 roundings.
		lossTol[r] = 4 * u32 * (float64(v+2) + gap + math.Abs(ls) + math.Abs(ls+mx) + math.Abs(losses[r]))
	}
	return probs, losses, lossTol
}

type ceCase struct {
	name string
	n, v int
	gen  func(r int, z []float32) // fills row r's logits
}

func ceCases() []ceCase {
	rng := newRNG(50)
	normal := func(sd, off float64) func(int, []float32) {
		return func(_ int, z []float32) {
			for j := range z {
				z[j] = float32(off + sd*rng.NormFloat64())
			}
		}
	}
	return []ceCase{
		{"v1", 3, 1, normal(1, 0)},
		{"v2", 4, 2, normal(1, 0)},
		{"small", 5, 7, normal(2, 0)},
		{"wide", 9, 257, normal(3, 0)},
		{"offset80", 4, 50, normal(1, 80)},
		{"negative", 4, 50, normal(1, -60)},
		{"ties", 3, 10, func(_ int, z []float32) {
			for j := range z {
				z[j] = 1.25
			}
		}},
		{"underflow", 4, 20, func(r int, z []float32) {
			// One huge logit: every other probability underflows float32.
			for j := range z {
				z[j] = float32(-150 - 10*rng.Float64())
			}
			z[(r*7)%len(z)] = 50
		}},
		{"parallel", 64, 700, normal(2, 0)}, // enough work to split
	}
}

func ceTargets(n, v int, seed uint64) []int32 {
	r := newRNG(seed)
	tg := make([]int32, n)
	for i := range tg {
		tg[i] = int32(r.IntN(v))
	}
	tg[0] = int32(v - 1)
	return tg
}

func TestCrossEntropyForward(t *testing.T) {
	for ci, tc := range ceCases() {
		n, v := tc.n, tc.v
		logits := make([]float32, n*v)
		for r := 0; r < n; r++ {
			tc.gen(r, logits[r*v:r*v+v])
		}
		targets := ceTargets(n, v, uint64(ci))
		logits0 := clone32(logits)
		probs := filled(n*v, nan32())
		losses := filled(n, nan32())
		var cnt Counter
		mean := CrossEntropyForward(&cnt, probs, losses, logits, targets, n, v)

		wantP, wantL, tolL := refCrossEntropy(logits, targets, n, v)
		gap := gapToMax(logits, n, v)
		checkTol(t, tc.name+"/probs", probs, wantP, func(i int) float64 {
			return 4*u32*wantP[i]*(float64(v+4)+gap[i]) + 1e-44
		})
		checkTol(t, tc.name+"/losses", losses, wantL, func(i int) float64 { return tolL[i] })
		var wantMean, tolMean float64
		for r := range wantL {
			wantMean += wantL[r] / float64(n)
			tolMean += tolL[r] / float64(n)
		}
		checkTol(t, tc.name+"/mean", []float32{mean}, []float64{wantMean}, func(int) float64 { return tolMean + 2*u32*math.Abs(wantMean) })
		checkExact(t, tc.name+"/logits unchanged", logits, logits0)
		checkCounts(t, tc.name, &cnt, map[countKey]int64{{Forward, Loss}: int64(n * v * FlopsLossFwd)})
	}
}

// gapToMax returns, per logit, its distance to its row's maximum.
func gapToMax(z []float32, n, v int) []float64 {
	g := make([]float64, n*v)
	for r := 0; r < n; r++ {
		m := z[r*v]
		for _, x := range z[r*v : r*v+v] {
			m = max(m, x)
		}
		for j := 0; j < v; j++ {
			g[r*v+j] = float64(m) - float64(z[r*v+j])
		}
	}
	return g
}

// TestCrossEntropyKnownValues: uniform logits give loss log v.
func TestCrossEntropyKnownValues(t *testing.T) {
	logits := []float32{0, 0, 0, 0, 5, 5, 5, 5}
	probs, losses := make([]float32, 8), make([]float32, 2)
	mean := CrossEntropyForward(nil, probs, losses, logits, []int32{0, 3}, 2, 4)
	checkTol(t, "probs", probs, []float64{.25, .25, .25, .25, .25, .25, .25, .25}, func(int) float64 { return 0 })
	checkTol(t, "losses", losses, []float64{math.Log(4), math.Log(4)}, func(int) float64 { return 5e-7 })
	checkTol(t, "mean", []float32{mean}, []float64{math.Log(4)}, func(int) float64 { return 5e-7 })
}

func TestCrossEntropyBackward(t *testing.T) {
	for ci, tc := range ceCases() {
		n, v := tc.n, tc.v
		logits := make([]float32, n*v)
		for r := 0; r < n; r++ {
			tc.gen(r, logits[r*v:r*v+v])
		}
		targets := ceTargets(n, v, uint64(ci))
		probs := make([]float32, n*v)
		losses := make([]float32, n)
		CrossEntropyForward(nil, probs, losses, logits, targets, n, v)

		for _, scale := range []float32{1, 1 / float32(n), 0.37} {
			probs0 := clone32(probs)
			dlogits := filled(n*v, nan32()) // written, not accumulated
			var cnt Counter
			CrossEntropyBackward(&cnt, dlogits, probs, targets, scale, n, v)
			checkExact(t, tc.name+"/probs unchanged", probs, probs0)

			// Exact formula on the kernel's probabilities.
			want := make([]float64, n*v)
			for r := 0; r < n; r++ {
				for j := 0; j < v; j++ {
					want[r*v+j] = float64(scale) * float64(probs[r*v+j])
				}
				want[r*v+int(targets[r])] -= float64(scale)
			}
			checkTol(t, tc.name+"/formula", dlogits, want, func(i int) float64 {
				return 2*u32*(math.Abs(float64(scale*probs[i]))+float64(scale)) + 1e-44
			})

			// dlogits may alias probs.
			alias := clone32(probs)
			CrossEntropyBackward(nil, alias, alias, targets, scale, n, v)
			checkExact(t, tc.name+"/aliased", alias, dlogits)
			checkCounts(t, tc.name, &cnt, map[countKey]int64{{Backward, Loss}: int64(n*v*FlopsLossBwd + n)})
		}

		// Central differences of scale·Σ loss through the float64 forward,
		// row by row (a logit only affects its row's loss); skipped on the
		// largest case to stay fast.
		if n*v > 5000 {
			continue
		}
		const scale = 0.5
		z64 := to64(logits)
		fd := make([]float64, n*v)
		gap := gapToMax(logits, n, v)
		for r := 0; r < n; r++ {
			row := z64[r*v : r*v+v]
			tr := targets[r]
			copy(fd[r*v:], centralDiff(row, 1e-6, func() float64 {
				mx := math.Inf(-1)
				for _, x := range row {
					mx = max(mx, x)
				}
				var e float64
				for _, x := range row {
					e += math.Exp(x - mx)
				}
				return scale * (math.Log(e) + mx - row[tr])
			}))
		}
		dlogits := make([]float32, n*v)
		CrossEntropyBackward(nil, dlogits, probs, targets, scale, n, v)
		checkTol(t, tc.name+"/finite-diff", dlogits, fd, func(i int) float64 {
			return scale * (4*u32*math.Abs(fd[i]/scale)*(float64(v+4)+gap[i]) + 1e-7)
		})
	}
}

// ------------------------------------------------------- thread independence

// TestOpsThreadsBitwise: the element-wise and row-wise kernels give bitwise
// identical results for any thread count.
func TestOpsThreadsBitwise(t *testing.T) {
	r := newRNG(60)
	const n, d, v = 16, 512, 700
	inp := lnInput(61, n, d)
	w, b := randVec(r, d, 1), randVec(r, d, 1)
	g := randVec(r, n*d, 1)
	logits := randVec(r, n*v, 2)
	targets := ceTargets(n, v, 62)

	type result struct{ ln, mean, rstd, dinp, dw, db, gelu, dgelu, probs, losses, dlog []float32 }
	var res []result
	for _, th := range []int{1, 2, 3} {
		withThreads(t, th)
		var x result
		x.ln, x.mean, x.rstd = make([]float32, n*d), make([]float32, n), make([]float32, n)
		LayerNormForward(nil, x.ln, x.mean, x.rstd, inp, w, b, n, d)
		x.dinp, x.dw, x.db = make([]float32, n*d), make([]float32, d), make([]float32, d)
		LayerNormBackward(nil, x.dinp, x.dw, x.db, g, inp, w, x.mean, x.rstd, n, d)
		x.gelu, x.dgelu = make([]float32, n*d), make([]float32, n*d)
		GELUForward(nil, x.gelu, g)
		GELUBackward(nil, x.dgelu, g, inp)
		x.probs, x.losses, x.dlog = make([]float32, n*v), make([]float32, n), make([]float32, n*v)
		CrossEntropyForward(nil, x.probs, x.losses, logits, targets, n, v)
		CrossEntropyBackward(nil, x.dlog, x.probs, targets, 1/float32(n), n, v)
		res = append(res, x)
	}
	for i := 1; i < len(res); i++ {
		a, z := res[0], res[i]
		checkExact(t, "ln", z.ln, a.ln)
		checkExact(t, "mean", z.mean, a.mean)
		checkExact(t, "rstd", z.rstd, a.rstd)
		checkExact(t, "ln dinp", z.dinp, a.dinp)
		checkExact(t, "ln dw", z.dw, a.dw)
		checkExact(t, "ln db", z.db, a.db)
		checkExact(t, "gelu", z.gelu, a.gelu)
		checkExact(t, "dgelu", z.dgelu, a.dgelu)
		checkExact(t, "probs", z.probs, a.probs)
		checkExact(t, "losses", z.losses, a.losses)
		checkExact(t, "dlogits", z.dlog, a.dlog)
	}
}

// TestFlopsConstants pins the per-element constants to the breakdowns their
// comments document (the cost model multiplies by them).
func TestFlopsConstants(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"FlopsEmbeddingFwd", FlopsEmbeddingFwd, 1},
		{"FlopsEmbeddingBwd", FlopsEmbeddingBwd, 2},
		{"FlopsLayerNormFwd", FlopsLayerNormFwd, 1 + 3 + 4},
		{"FlopsLayerNormBwd", FlopsLayerNormBwd, 6 + 11},
		{"FlopsGELUFwd", FlopsGELUFwd, 9},
		{"FlopsGELUBwd", FlopsGELUBwd, 19},
		{"FlopsResidual", FlopsResidual, 1},
		{"FlopsSoftmaxFwd", FlopsSoftmaxFwd, 6},
		{"FlopsAttnSoftmaxFwd", FlopsAttnSoftmaxFwd, 5},
		{"FlopsAttnSoftmaxBwd", FlopsAttnSoftmaxBwd, 3 + 3},
		{"FlopsLossFwd", FlopsLossFwd, 5},
		{"FlopsLossBwd", FlopsLossBwd, 1},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
}

// TestNilCounterKernels: every kernel accepts a nil *Counter.
func TestNilCounterKernels(t *testing.T) {
	x := []float32{0.5, -1, 2, 0.25}
	o := make([]float32, 4)
	LinearForward(nil, QKV, o, x, x, x[:1], nil, 4, 1, 1)
	LinearBackward(nil, QKV, o, o[:1], o[:1], x, x, x[:1], 4, 1, 1)
	LayerNormForward(nil, o, o[:2], o[2:], x, x[:2], x[:2], 2, 2)
	GELUForward(nil, o, x)
	GELUBackward(nil, o, x, x)
	EmbeddingForward(nil, o, x, x, []int32{1, 0}, 2, 2, 0)
	EmbeddingBackward(nil, o, o, x, []int32{1, 0}, 2, 2)
	p, l := make([]float32, 4), make([]float32, 2)
	CrossEntropyForward(nil, p, l, x, []int32{1, 0}, 2, 2)
	CrossEntropyBackward(nil, p, p, []int32{1, 0}, 1, 2, 2)
}

package kernels

import (
	"math"
	"testing"
)

// Tests of the kernels only encoders and factorized models use: the padded
// bidirectional attention, the embedding with token types, and GELU
// attributed to another component.

// refPadded is a float64 reference of AttentionForwardPadded: query i of
// sequence r attends to keys 0..lens[r]-1.
func refPadded(qkv []float64, lens []int32, b, t, d, h int) []float64 {
	dh := d / h
	scale := 1 / math.Sqrt(float64(dh))
	out := make([]float64, b*t*d)
	for bi := 0; bi < b; bi++ {
		x := qkv[bi*t*3*d:]
		nk := int(lens[bi])
		for hd := 0; hd < h; hd++ {
			for i := 0; i < t; i++ {
				s := make([]float64, nk)
				mx := math.Inf(-1)
				for j := range s {
					for c := 0; c < dh; c++ {
						s[j] += x[i*3*d+hd*dh+c] * x[j*3*d+d+hd*dh+c]
					}
					s[j] *= scale
					mx = max(mx, s[j])
				}
				var sum float64
				for j := range s {
					s[j] = math.Exp(s[j] - mx)
					sum += s[j]
				}
				for j := range s {
					for c := 0; c < dh; c++ {
						out[(bi*t+i)*d+hd*dh+c] += s[j] / sum * x[j*3*d+2*d+hd*dh+c]
					}
				}
			}
		}
	}
	return out
}

func TestAttentionPadded(t *testing.T) {
	for _, tc := range []struct {
		b, t, d, h int
		lens       []int32
	}{
		{1, 1, 4, 2, []int32{1}},
		{2, 5, 6, 3, []int32{5, 2}},
		{3, 7, 8, 2, []int32{1, 7, 4}},
		{2, 33, 32, 4, []int32{33, 20}},       // enough work to run in parallel
		{3, 194, 16, 2, []int32{194, 97, 96}}, // several key tiles; lengths at a tile edge
	} {
		for _, threads := range []int{1, 2} {
			withThreads(t, threads)
			r := newRNG(uint64(tc.t*10 + threads))
			b, T, d, h := tc.b, tc.t, tc.d, tc.h
			qkv := randVec(r, b*T*3*d, 1)
			out := make([]float32, b*T*d)
			lse := filled(b*h*T, nan32()) // every entry must be written
			cnt := &Counter{}
			AttentionForwardPadded(cnt, out, lse, qkv, tc.lens, b, T, d, h)
			want := refPadded(to64(qkv), tc.lens, b, T, d, h)
			checkTol(t, "padded out", out, want, func(i int) float64 { return 1e-5 * (1 + math.Abs(want[i])) })
			for i, v := range lse {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("lse[%d] = %g", i, v)
				}
			}
			// Backward against central differences of the float64 reference
			// of Σ out⊙g.
			g := randVec(r, b*T*d, 1)
			dqkv := make([]float32, len(qkv))
			AttentionBackwardPadded(cnt, dqkv, g, qkv, out, lse, tc.lens, b, T, d, h)
			x := to64(qkv)
			f := func() float64 {
				o := refPadded(x, tc.lens, b, T, d, h)
				var s float64
				for i, v := range o {
					s += v * float64(g[i])
				}
				return s
			}
			fd := make([]float64, len(x))
			stride := 1 // every element of the small cases, about 300 of the others
			if len(x) >= 400 {
				stride = len(x)/300 | 1
			}
			for i := range x {
				if i%stride == 0 {
					fd[i] = centralDiffAt(x, i, 1e-6, f)
				} else {
					fd[i] = float64(dqkv[i]) // not sampled
				}
			}
			scale := maxAbs64(fd)
			checkTol(t, "padded dqkv", dqkv, fd, func(int) float64 { return 1e-4 * (1 + scale) })
			checkCounts(t, "padded attention", cnt, wantAttnCounts(b, T, d, h, false, tc.lens))
		}
	}
}

// With every sequence full, the padded kernel is bidirectional
// AttentionForward bit for bit.
func TestAttentionPaddedFullIsBidirectional(t *testing.T) {
	r := newRNG(5)
	b, T, d, h := 2, 9, 8, 2
	qkv := randVec(r, b*T*3*d, 1)
	o1, o2 := make([]float32, b*T*d), make([]float32, b*T*d)
	a1, a2 := make([]float32, b*h*T), make([]float32, b*h*T)
	AttentionForward(nil, o1, a1, qkv, b, T, d, h, false)
	AttentionForwardPadded(nil, o2, a2, qkv, []int32{9, 9}, b, T, d, h)
	checkExact(t, "out", o2, o1)
	checkExact(t, "lse", a2, a1)
	AttentionForwardPadded(nil, o2, a2, qkv, nil, b, T, d, h)
	checkExact(t, "out (nil lens)", o2, o1)
}

func TestEmbeddingTypes(t *testing.T) {
	r := newRNG(9)
	V, S, Ty, e, T := 7, 5, 3, 4, 5
	wte, wpe, wtt := randVec(r, V*e, 1), randVec(r, S*e, 1), randVec(r, Ty*e, 1)
	tokens := []int32{0, 6, 3, 3, 1, 2, 2, 5, 4, 0}
	types := []int32{0, 0, 1, 2, 1, 0, 1, 1, 2, 0}
	n := len(tokens)
	out := make([]float32, n*e)
	cnt := &Counter{}
	EmbeddingTypesForward(cnt, out, wte, wpe, wtt, tokens, types, T, e)
	for i := 0; i < n; i++ {
		for j := 0; j < e; j++ {
			want := float64(wte[int(tokens[i])*e+j]) + float64(wpe[(i%T)*e+j]) + float64(wtt[int(types[i])*e+j])
			if math.Abs(float64(out[i*e+j])-want) > 1e-6 {
				t.Fatalf("out[%d,%d] = %g, want %g", i, j, out[i*e+j], want)
			}
		}
	}
	g := randVec(r, n*e, 1)
	dte, dpe, dtt := make([]float32, V*e), make([]float32, S*e), make([]float32, Ty*e)
	EmbeddingTypesBackward(cnt, dte, dpe, dtt, g, tokens, types, T, e)
	wt, wp, wy := make([]float64, V*e), make([]float64, S*e), make([]float64, Ty*e)
	for i := 0; i < n; i++ {
		for j := 0; j < e; j++ {
			wt[int(tokens[i])*e+j] += float64(g[i*e+j])
			wp[(i%T)*e+j] += float64(g[i*e+j])
			wy[int(types[i])*e+j] += float64(g[i*e+j])
		}
	}
	tol := func(int) float64 { return 1e-5 }
	checkTol(t, "dwte", dte, wt, tol)
	checkTol(t, "dwpe", dpe, wp, tol)
	checkTol(t, "dwtt", dtt, wy, tol)
	ne := int64(n * e)
	checkCounts(t, "embedding with types", cnt, map[countKey]int64{
		{Forward, Embedding}: ne * FlopsEmbeddingTypesFwd, {Backward, Embedding}: ne * FlopsEmbeddingTypesBwd})
}

// GELUForwardFor/GELUBackwardFor compute what GELUForward/GELUBackward do,
// bit for bit, and record the FLOPs under the given component.
func TestGELUFor(t *testing.T) {
	r := newRNG(3)
	x := randVec(r, 50, 2)
	g := randVec(r, 50, 1)
	a, b := make([]float32, 50), make([]float32, 50)
	da, db := make([]float32, 50), make([]float32, 50)
	c1, c2 := &Counter{}, &Counter{}
	GELUForward(c1, a, x)
	GELUBackward(c1, da, x, g)
	GELUForwardFor(c2, MLMDense, b, x)
	GELUBackwardFor(c2, MLMDense, db, x, g)
	checkExact(t, "gelu", b, a)
	checkExact(t, "gelu grad", db, da)
	checkCounts(t, "gelu for mlm_dense", c2, map[countKey]int64{
		{Forward, MLMDense}: 50 * FlopsGELUFwd, {Backward, MLMDense}: 50 * FlopsGELUBwd})
}

// The exact GELU against a float64 reference and central differences, and
// its FLOP counts.
func TestGELUErf(t *testing.T) {
	r := newRNG(11)
	x := randVec(r, 200, 3)
	x = append(x, 0, -1e3, 1e3, 40, -40)
	n := len(x)
	out := make([]float32, n)
	cnt := &Counter{}
	GELUErfForwardFor(cnt, GELU, out, x)
	ref := func(v float64) float64 { return 0.5 * v * (1 + math.Erf(v/math.Sqrt2)) }
	want := make([]float64, n)
	for i, v := range x {
		want[i] = ref(float64(v))
	}
	checkTol(t, "gelu erf", out, want, func(i int) float64 { return 2e-7 * (1 + math.Abs(want[i])) })
	g := randVec(r, n, 1)
	din := make([]float32, n)
	GELUErfBackwardFor(cnt, GELU, din, x, g)
	fd := make([]float64, n)
	for i, v := range x {
		h := 1e-5 * max(1, math.Abs(float64(v)))
		fd[i] = (ref(float64(v)+h) - ref(float64(v)-h)) / (2 * h) * float64(g[i])
	}
	checkTol(t, "gelu erf grad", din, fd, func(i int) float64 { return 1e-5 * (1 + math.Abs(fd[i])) })
	checkCounts(t, "gelu erf", cnt, map[countKey]int64{
		{Forward, GELU}: int64(n) * FlopsGELUErfFwd, {Backward, GELU}: int64(n) * FlopsGELUErfBwd})
}

// LayerNormForward is LayerNormForwardEps with LayerNormEps, bit for bit.
func TestLayerNormEps(t *testing.T) {
	r := newRNG(12)
	n, d := 5, 7
	x, w, b := randVec(r, n*d, 1), randVec(r, d, 1), randVec(r, d, 1)
	o1, o2 := make([]float32, n*d), make([]float32, n*d)
	m1, m2, s1, s2 := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	LayerNormForward(nil, o1, m1, s1, x, w, b, n, d)
	LayerNormForwardEps(nil, o2, m2, s2, x, w, b, n, d, LayerNormEps)
	checkExact(t, "layernorm", o2, o1)
	checkExact(t, "rstd", s2, s1)
	// A row of equal values: rstd = 1/sqrt(eps).
	c := filled(d, 3)
	LayerNormForwardEps(nil, o2[:d], m2[:1], s2[:1], c, w, b, 1, d, 1e-12)
	if math.Abs(float64(s2[0])-1e6)/1e6 > 1e-6 {
		t.Errorf("rstd of a constant row with eps 1e-12 = %g, want 1e6", s2[0])
	}
}

package kernels

import (
	"fmt"
	"math"
	"testing"
)

// windowCases are (sequences, positions, heads, kv heads, head width,
// window) for the sliding-window attention: windows of one key, inside one
// key tile, of exactly one tile (AttentionTile = 96), across tile
// boundaries, and larger than the sequence (plain causal attention).
var windowCases = []struct{ b, t, h, kvh, dh, w int }{
	{1, 5, 1, 1, 4, 1}, {2, 9, 2, 1, 4, 3}, {1, 17, 4, 2, 8, 16}, {1, 17, 2, 2, 8, 40},
	{1, 200, 2, 1, 8, 96}, {2, 130, 2, 2, 6, 50}, {1, 250, 4, 2, 10, 97}, {1, 300, 1, 1, 16, 150},
}

// refWindow is a float64 reference of grouped-query causal attention with
// a sliding window of w keys (row i sees keys j, i−w < j ≤ i; w ≤ 0: all
// j ≤ i) over qkv[b×t×(h+2kvh)·dh], with the gradient of L = Σ out⊙g.
func refWindow(qkv []float64, g []float32, b, t, h, kvh, dh, w int) (out, lse, dqkv []float64) {
	return refWindowCap(qkv, g, b, t, h, kvh, dh, w, 0, 1/math.Sqrt(float64(dh)))
}

// refWindowCap is refWindow with the scores z = scale·q·k soft-capped as
// c·tanh(z/c) (c = 0: none).
func refWindowCap(qkv []float64, g []float32, b, t, h, kvh, dh, w int, c, scale float64) (out, lse, dqkv []float64) {
	ld, grp := (h+2*kvh)*dh, h/kvh
	out, lse, dqkv = make([]float64, b*t*h*dh), make([]float64, b*h*t), make([]float64, len(qkv))
	for bi := range b {
		base := bi * t * ld
		for hd := range h {
			qo, ko, vo := hd*dh, h*dh+hd/grp*dh, (h+kvh)*dh+hd/grp*dh
			for i := range t {
				lo := 0
				if w > 0 {
					lo = max(0, i-w+1)
				}
				p := make([]float64, i+1)
				mx := math.Inf(-1)
				for j := lo; j <= i; j++ {
					for x := range dh {
						p[j] += qkv[base+i*ld+qo+x] * qkv[base+j*ld+ko+x]
					}
					p[j] *= scale
					if c != 0 {
						p[j] = c * math.Tanh(p[j]/c)
					}
					mx = math.Max(mx, p[j])
				}
				sum := 0.0
				for j := lo; j <= i; j++ {
					p[j] = math.Exp(p[j] - mx)
					sum += p[j]
				}
				lse[(bi*h+hd)*t+i] = mx + math.Log(sum)
				orow := out[(bi*t+i)*h*dh+hd*dh:][:dh]
				grow := g[(bi*t+i)*h*dh+hd*dh:][:dh]
				dp := make([]float64, i+1)
				dsum := 0.0
				for j := lo; j <= i; j++ {
					p[j] /= sum
					for x := range dh {
						orow[x] += p[j] * qkv[base+j*ld+vo+x]
						dp[j] += float64(grow[x]) * qkv[base+j*ld+vo+x]
						dqkv[base+j*ld+vo+x] += p[j] * float64(grow[x])
					}
					dsum += p[j] * dp[j]
				}
				for j := lo; j <= i; j++ {
					ds := p[j] * (dp[j] - dsum) * scale
					if c != 0 {
						var z float64
						for x := range dh {
							z += qkv[base+i*ld+qo+x] * qkv[base+j*ld+ko+x]
						}
						u := math.Tanh(z * scale / c)
						ds *= 1 - u*u
					}
					for x := range dh {
						dqkv[base+i*ld+qo+x] += ds * qkv[base+j*ld+ko+x]
						dqkv[base+j*ld+ko+x] += ds * qkv[base+i*ld+qo+x]
					}
				}
			}
		}
	}
	return out, lse, dqkv
}

// wantWindowCounts counts the pairs and rescales of rows pos..pos+n−1 tile
// by tile: the tiles holding a key the row sees, less one.
func wantWindowCounts(pos, n, w int) (prs, resc int64) {
	for i := pos; i < pos+n; i++ {
		tiles := int64(0)
		for j0 := 0; j0 <= i; j0 += AttentionTile {
			seen := 0
			for j := j0; j < min(j0+AttentionTile, i+1); j++ {
				if w <= 0 || j > i-w {
					seen++
				}
			}
			if seen > 0 {
				tiles++
			}
			prs += int64(seen)
		}
		resc += tiles - 1
	}
	return prs, resc
}

// TestAttentionWindow checks the windowed forward and backward against the
// float64 reference, their FLOP counts against a tile-by-tile count, a
// window at least the sequence against plain causal attention bit for bit,
// and the windowed prefill against the forward's rows bit for bit.
func TestAttentionWindow(t *testing.T) {
	attKernels(t, func(t *testing.T) {
		for ci, c := range windowCases {
			t.Run(fmt.Sprintf("b%d_t%d_h%d_kv%d_dh%d_w%d", c.b, c.t, c.h, c.kvh, c.dh, c.w), func(t *testing.T) {
				ld, d := (c.h+2*c.kvh)*c.dh, c.h*c.dh
				r := newRNG(uint64(900 + ci))
				qkv, g := randVec(r, c.b*c.t*ld, 1.5), randVec(r, c.b*c.t*d, 1)
				out, lse := filled(c.b*c.t*d, nan32()), filled(c.b*c.h*c.t, nan32())
				var cnt Counter
				AttentionForwardWindow(&cnt, out, lse, qkv, c.b, c.t, c.h, c.kvh, c.dh, c.w)
				dqkv0 := randVec(r, len(qkv), 1)
				dqkv := clone32(dqkv0)
				AttentionBackwardWindow(&cnt, dqkv, g, qkv, out, lse, c.b, c.t, c.h, c.kvh, c.dh, c.w)

				wout, wlse, wd := refWindow(to64(qkv), g, c.b, c.t, c.h, c.kvh, c.dh, c.w)
				checkTol(t, "out", out, wout, func(i int) float64 { return 2e-5 * (1 + math.Abs(wout[i])) })
				checkTol(t, "lse", lse, wlse, func(i int) float64 { return 2e-5 * (1 + math.Abs(wlse[i])) })
				checkAccum(t, "dqkv", dqkv, dqkv0, wd, globalScale(wd), 2e-5, 2e-5)

				prs, resc := wantWindowCounts(0, c.t, c.w)
				if p, r := AttentionWindowCounts(0, c.t, c.w); p != prs || r != resc {
					t.Errorf("AttentionWindowCounts = %d, %d; counted %d, %d", p, r, prs, resc)
				}
				B, H, dh := int64(c.b), int64(c.h), int64(c.dh)
				prs, resc = prs*B*H, resc*B*H
				rows := B * H * int64(c.t)
				checkCounts(t, "flops", &cnt, map[countKey]int64{
					{Forward, Scores}:   2 * dh * prs,
					{Forward, Softmax}:  FlopsAttnSoftmaxFwd*prs + (rows+resc)*dh,
					{Forward, AV}:       2 * dh * prs,
					{Backward, Scores}:  6 * dh * prs,
					{Backward, Softmax}: FlopsAttnSoftmaxBwd*prs + 2*dh*rows,
					{Backward, AV}:      4 * dh * prs,
				})

				if c.w >= c.t {
					cout, clse := make([]float32, len(out)), make([]float32, len(lse))
					AttentionForwardGQA(nil, cout, clse, qkv, c.b, c.t, c.h, c.kvh, c.dh, true)
					checkExact(t, "out vs causal", out, cout)
					cd := clone32(dqkv0)
					AttentionBackwardGQA(nil, cd, g, qkv, cout, clse, c.b, c.t, c.h, c.kvh, c.dh, true)
					checkExact(t, "dqkv vs causal", dqkv, cd)
				}

				// Prefill of the first sequence's rows pos.. from its cache.
				if c.b == 1 {
					kd := c.kvh * c.dh
					kc, vc := make([]float32, c.t*kd), make([]float32, c.t*kd)
					for j := range c.t {
						copy(kc[j*kd:], qkv[j*ld+d:j*ld+d+kd])
						copy(vc[j*kd:], qkv[j*ld+d+kd:(j+1)*ld])
					}
					for _, pos := range []int{0, c.t / 3, c.t - 1} {
						n := c.t - pos
						pout, plse := make([]float32, n*d), make([]float32, c.h*n)
						var pc Counter
						AttentionPrefillWindow(&pc, pout, plse, qkv[pos*ld:], ld, kc, vc, pos, n, c.h, c.kvh, c.dh, c.w)
						checkExact(t, fmt.Sprintf("prefill at %d: out", pos), pout, out[pos*d:])
						for hd := range c.h {
							checkExact(t, fmt.Sprintf("prefill at %d: lse", pos), plse[hd*n:(hd+1)*n], lse[hd*c.t+pos:(hd+1)*c.t])
						}
						pp, pr := wantWindowCounts(pos, n, c.w)
						if got, want := pc.Get(Forward, Scores), 2*dh*pp*H; got != want {
							t.Errorf("prefill at %d: scores %d, want %d", pos, got, want)
						}
						if got, want := pc.Get(Forward, Softmax), FlopsAttnSoftmaxFwd*pp*H+(int64(n)*H+pr*H)*dh; got != want {
							t.Errorf("prefill at %d: softmax %d, want %d", pos, got, want)
						}
					}
				}
			})
		}
	})
}

// TestAttentionWindowThreadsBitwise: the windowed forward and backward do
// not depend on the thread count.
func TestAttentionWindowThreadsBitwise(t *testing.T) {
	const b, tt, h, kvh, dh, w = 2, 230, 4, 2, 16, 70
	ld := (h + 2*kvh) * dh
	r := newRNG(5)
	qkv, g := randVec(r, b*tt*ld, 1.5), randVec(r, b*tt*h*dh, 1)
	var first, firstD []float32
	for _, th := range []int{1, 2} {
		withThreads(t, th)
		out, lse, dq := make([]float32, b*tt*h*dh), make([]float32, b*h*tt), make([]float32, len(qkv))
		AttentionForwardWindow(nil, out, lse, qkv, b, tt, h, kvh, dh, w)
		AttentionBackwardWindow(nil, dq, g, qkv, out, lse, b, tt, h, kvh, dh, w)
		if first == nil {
			first, firstD = out, dq
			continue
		}
		checkExact(t, "out", out, first)
		checkExact(t, "dqkv", dq, firstD)
	}
}

// TestAttentionSoftcap checks soft-capped, rescaled, windowed attention
// (Gemma 2's: scores scale·q·k capped as c·tanh(·/c)) forward, backward,
// prefill and decode against the float64 reference, and its FLOP counts.
func TestAttentionSoftcap(t *testing.T) {
	attKernels(t, func(t *testing.T) {
		for ci, c := range []struct{ b, t, h, kvh, dh, w int }{{2, 9, 2, 1, 4, 3}, {1, 130, 4, 2, 8, 0}, {1, 200, 2, 2, 6, 97}} {
			t.Run(fmt.Sprintf("b%d_t%d_w%d", c.b, c.t, c.w), func(t *testing.T) {
				ld, d := (c.h+2*c.kvh)*c.dh, c.h*c.dh
				r := newRNG(uint64(950 + ci))
				// Large scores, so that the cap bites (|z| well above cap 2).
				qkv, g := randVec(r, c.b*c.t*ld, 3), randVec(r, c.b*c.t*d, 1)
				o := AttnOpts{Window: c.w, Softcap: 2, Scale: 0.3}
				out, lse := filled(c.b*c.t*d, nan32()), filled(c.b*c.h*c.t, nan32())
				var cnt Counter
				AttentionForwardOpts(&cnt, out, lse, qkv, c.b, c.t, c.h, c.kvh, c.dh, o)
				dqkv0 := randVec(r, len(qkv), 1)
				dqkv := clone32(dqkv0)
				AttentionBackwardOpts(&cnt, dqkv, g, qkv, out, lse, c.b, c.t, c.h, c.kvh, c.dh, o)
				wout, wlse, wd := refWindowCap(to64(qkv), g, c.b, c.t, c.h, c.kvh, c.dh, c.w, 2, 0.3)
				checkTol(t, "out", out, wout, func(i int) float64 { return 2e-5 * (1 + math.Abs(wout[i])) })
				checkTol(t, "lse", lse, wlse, func(i int) float64 { return 2e-5 * (1 + math.Abs(wlse[i])) })
				checkAccum(t, "dqkv", dqkv, dqkv0, wd, globalScale(wd), 2e-5, 2e-5)
				prs, resc := wantWindowCounts(0, c.t, c.w)
				B, H, dh := int64(c.b), int64(c.h), int64(c.dh)
				prs, resc = prs*B*H, resc*B*H
				rows := B * H * int64(c.t)
				checkCounts(t, "flops", &cnt, map[countKey]int64{
					{Forward, Scores}:   2 * dh * prs,
					{Forward, Softmax}:  (FlopsAttnSoftmaxFwd+FlopsSoftcapFwd)*prs + (rows+resc)*dh,
					{Forward, AV}:       2 * dh * prs,
					{Backward, Scores}:  6 * dh * prs,
					{Backward, Softmax}: (FlopsAttnSoftmaxBwd+FlopsSoftcapBwd)*prs + 2*dh*rows,
					{Backward, AV}:      4 * dh * prs,
				})
				if c.b != 1 {
					return
				}
				kd := c.kvh * c.dh
				kc, vc := make([]float32, c.t*kd), make([]float32, c.t*kd)
				for j := range c.t {
					copy(kc[j*kd:], qkv[j*ld+d:j*ld+d+kd])
					copy(vc[j*kd:], qkv[j*ld+d+kd:(j+1)*ld])
				}
				pos := c.t / 2
				n := c.t - pos
				pout, plse := make([]float32, n*d), make([]float32, c.h*n)
				AttentionPrefillOpts(nil, pout, plse, qkv[pos*ld:], ld, kc, vc, pos, n, c.h, c.kvh, c.dh, o)
				checkExact(t, "prefill out", pout, out[pos*d:])
				// Decode the last position over its window of the cache.
				last := c.t - 1
				k0 := 0
				if c.w > 0 {
					k0 = max(0, last-c.w+1)
				}
				dout := make([]float32, d)
				var dc Counter
				AttentionDecodeOpts(&dc, dout, qkv[last*ld:last*ld+d], kc[k0*kd:], vc[k0*kd:], make([]float32, c.t), c.t-k0, c.h, c.kvh, c.dh, o)
				checkTol(t, "decode", dout, wout[last*d:], func(i int) float64 { return 2e-5 * (1 + math.Abs(wout[last*d+i])) })
				if got, want := dc.Get(Forward, Softmax), int64(c.h*(c.t-k0))*(FlopsSoftmaxFwd+FlopsSoftcapFwd); got != want {
					t.Errorf("decode softmax %d, want %d", got, want)
				}
			})
		}
	})
}

// BenchmarkAttentionWindow: the causal fused forward and backward at
// n = 2048 (8 heads of 64, GQA 2) without a window and with windows of 256
// and 1024 keys (the skipped tiles are the saving).
func BenchmarkAttentionWindow(b *testing.B) {
	const n, h, kvh, dh = 2048, 8, 2, 64
	ld := (h + 2*kvh) * dh
	r := newRNG(1)
	qkv, g := randVec(r, n*ld, 1), randVec(r, n*h*dh, 1)
	out, lse, dq := make([]float32, n*h*dh), make([]float32, h*n), make([]float32, n*ld)
	for _, w := range []int{0, 1024, 256} {
		b.Run(fmt.Sprintf("w%d", w), func(b *testing.B) {
			var cnt Counter
			for b.Loop() {
				AttentionForwardWindow(&cnt, out, lse, qkv, 1, n, h, kvh, dh, w)
				AttentionBackwardWindow(&cnt, dq, g, qkv, out, lse, 1, n, h, kvh, dh, w)
			}
			b.ReportMetric(float64(cnt.Total(Forward)+cnt.Total(Backward))/float64(b.N)/1e9, "GFLOP/op")
		})
	}
}

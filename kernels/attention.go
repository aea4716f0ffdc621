package kernels

import (
	"math"
	"sync"
)

// Multi-head self-attention (and an encoder–decoder's cross-attention, whose
// queries come from one sequence and keys and values from another, see
// CrossAttentionForward), forward and backward, as a fused tiled kernel
// in the manner of FlashAttention (Dao et al., 2022): per head, the queries
// are cut into blocks of AttentionTile rows and the keys into tiles of
// AttentionTile keys. For each query block the kernel walks the key tiles it
// can see, computes the score tile S = Q·Kᵀ with the GEMM micro-kernel,
// and folds it into the output with an online softmax (a running row max m
// and sum l; when a later tile raises the max, the partial output is
// rescaled by exp(m_old − m_new)). Only the log-sum-exp of each row
// (m + log l) is kept for backward, so memory is O(n) per head, never
// O(n²): the backward pass recomputes each score tile and its
// probabilities P = exp(S/√dh − lse) from it. Tiles that are fully masked
// (above the causal diagonal, or past a sequence's padding length) are
// skipped; inside a tile the masked entries get probability zero.
//
// FLOP counting follows the package conventions and counts what the
// kernel executes on real (unmasked) entries; the zero lanes of padded
// panels and the masked entries of diagonal tiles, which the micro-kernel
// computes and the kernel discards, are not counted (as the GEMM does not
// count its padded edge panels). Per (query, key) pair and head, with dh
// the head width:
//
//	forward:  scores 2·dh (Q·Kᵀ), av 2·dh (P·V),
//	          softmax FlopsAttnSoftmaxFwd = 5 (scale, max, subtract, exp, sum)
//	backward: scores 6·dh (recomputed Q·Kᵀ, dQ = dS·K, dK = dSᵀ·Q),
//	          av 4·dh (dP = dO·Vᵀ, dV = Pᵀ·dO),
//	          softmax FlopsAttnSoftmaxBwd = 6 (P: scale, subtract, exp;
//	          dS = P·(dP − D)·scale: subtract, multiply, multiply)
//
// and per query row and head: forward softmax dh (the output's division
// by l) plus dh per rescale (AttentionRescales counts them), backward
// softmax 2·dh (D = dO·O, the row dot product of the output and its
// gradient).

// FlopsAttnSoftmaxFwd and FlopsAttnSoftmaxBwd are the softmax FLOPs of the
// fused attention kernel per (query, key) pair and head (see above).
const (
	FlopsAttnSoftmaxFwd = 5
	FlopsAttnSoftmaxBwd = 6
)

// AttentionTile is the number of queries per block and of keys per tile of
// the fused attention kernel. A multiple of the micro-kernels' tile sides
// (6 and 16 for AVX2, 4 and 8 for pure Go), so the blocks need no padding;
// 96 measured faster than 48 on Zen 3 at n = 256..4096 (and no slower than
// 144).
const AttentionTile = 96

// pairs returns the number of (query, key) pairs one head computes over a
// sequence of t positions: t(t+1)/2 when causal, t² otherwise.
func pairs(t int, causal bool) int64 {
	if causal {
		return int64(t) * int64(t+1) / 2
	}
	return int64(t) * int64(t)
}

// AttentionPairs is the number of (query, key) pairs one head of causal or
// bidirectional attention computes over t positions.
func AttentionPairs(t int, causal bool) int64 { return pairs(t, causal) }

// rescales returns how many times the forward pass rescales a query row's
// partial output when the row sees nk keys: once per key tile after the
// first.
func rescales(nk int) int64 {
	if nk <= 0 {
		return 0
	}
	return int64((nk+AttentionTile-1)/AttentionTile - 1)
}

// AttentionRescales is the number of (query row, key tile) rescales of the
// running output that one head's forward pass performs over a full
// sequence of t positions (each costs dh FLOPs; see the package doc).
func AttentionRescales(t int, causal bool) int64 {
	if !causal {
		return int64(t) * rescales(t)
	}
	// Row i sees i+1 keys; rows in one run of AttentionTile share a count.
	var s int64
	for i0 := 0; i0 < t; i0 += AttentionTile {
		s += int64(min(AttentionTile, t-i0)) * rescales(i0+1)
	}
	return s
}

// AttentionForward runs multi-head self-attention over qkv[b×t×3d] (per
// position: the d query values, then d key values, then d value values; head
// j owns columns j·dh..(j+1)·dh of each) and writes the concatenated heads to
// out[b×t×d]. lse[b×h×t] receives each row's log-sum-exp of the scaled
// scores, kept for the backward pass. With causal set, position i only
// attends to positions <= i.
func AttentionForward(cnt *Counter, out, lse, qkv []float32, b, t, d, h int, causal bool) {
	attentionForward(cnt, out, lse, qkv, nil, b, t, h, h, d/h, causal)
}

// AttentionForwardGQA is AttentionForward with grouped-query attention:
// h query heads and kvh key/value heads (kvh divides h; kvh = h is
// multi-head, kvh = 1 multi-query attention) of width dh each. Per position
// qkv holds the h·dh query values, then kvh·dh key values, then kvh·dh value
// values; query head j reads key/value head j/(h/kvh) in place (K and V are
// never copied per query head). out is [b×t×h·dh].
func AttentionForwardGQA(cnt *Counter, out, lse, qkv []float32, b, t, h, kvh, dh int, causal bool) {
	attentionForward(cnt, out, lse, qkv, nil, b, t, h, kvh, dh, causal)
}

// AttentionBackwardGQA is the backward of AttentionForwardGQA.
func AttentionBackwardGQA(cnt *Counter, dqkv, dout, qkv, out, lse []float32, b, t, h, kvh, dh int, causal bool) {
	attentionBackward(cnt, dqkv, dout, qkv, out, lse, nil, b, t, h, kvh, dh, causal)
}

// AttnOpts are the options of Gemma-2-style causal attention: a sliding
// window, soft-capped scores and the query scale.
type AttnOpts struct {
	// Window is the sliding window in keys: the query at position i
	// attends to the keys j with i−Window < j ≤ i (0: every j ≤ i).
	Window int
	// Softcap caps the scaled scores s as Softcap·tanh(s/Softcap) before
	// the softmax (Gemma 2's attn_logit_softcapping; 0: none).
	Softcap float32
	// Scale multiplies the scores q·k (0: 1/√dh; Gemma 2:
	// query_pre_attn_scalar^−½).
	Scale float32
}

// Soft-capping, counted per capped value. Attention scores forward:
// FlopsSoftcapFwd = 3 (the divide by the cap, tanh, the multiply by it);
// backward FlopsSoftcapBwd = 6 (the cap recomputed from the recomputed
// score, 3, and the chain factor (1 − u²)·g with u = tanh, 3). Logits:
// forward FlopsSoftcapFwd, backward FlopsLogitSoftcapBwd = 4 (u = z/cap,
// u², 1 − u², times the gradient).
const (
	FlopsSoftcapFwd      = 3
	FlopsSoftcapBwd      = 6
	FlopsLogitSoftcapBwd = 4
)

// AttentionForwardOpts is causal AttentionForwardGQA with the options o;
// AttnOpts{} is AttentionForwardGQA's causal attention, bit for bit.
// Soft-capping adds FlopsSoftcapFwd per pair to the softmax count.
func AttentionForwardOpts(cnt *Counter, out, lse, qkv []float32, b, t, h, kvh, dh int, o AttnOpts) {
	a := newAttnDimsWin(b, t, h, kvh, dh, true, nil, o.Window)
	a.setOpts(o)
	a.qsrc, a.ksrc, a.out, a.lse, a.fwd = qkv, qkv, out, lse, true
	_ = qkv[b*t*a.qld-1]
	a.forward(cnt)
}

// AttentionBackwardOpts is the backward of AttentionForwardOpts.
// Soft-capping adds FlopsSoftcapBwd per pair to the softmax count.
func AttentionBackwardOpts(cnt *Counter, dqkv, dout, qkv, out, lse []float32, b, t, h, kvh, dh int, o AttnOpts) {
	a := newAttnDimsWin(b, t, h, kvh, dh, true, nil, o.Window)
	a.setOpts(o)
	a.qsrc, a.ksrc, a.out, a.lse, a.dq, a.dkv, a.dout = qkv, qkv, out, lse, dqkv, dqkv, dout
	_ = qkv[b*t*a.qld-1]
	_ = dqkv[b*t*a.qld-1]
	a.backward(cnt)
}

// AttentionPrefillOpts is AttentionPrefillGQA with the options o (the
// window as AttentionPrefillWindow's).
func AttentionPrefillOpts(cnt *Counter, out, lse, q []float32, qld int, kc, vc []float32, pos, n, h, kvh, dh int, o AttnOpts) {
	if n <= 0 {
		return
	}
	attentionPrefillOpts(cnt, out, lse, q, qld, kc, vc, pos, n, h, kvh, dh, o)
}

// setOpts sets the soft-cap and the scale of o.
func (a *attnDims) setOpts(o AttnOpts) {
	a.softcap = o.Softcap
	if o.Scale != 0 {
		a.scale = o.Scale
	}
}

// capRow replaces the scores x by cap·tanh(scale·x/cap), and, when fac is
// not nil, writes the chain factor (1 − tanh²)·scale of each into fac.
func capRow(x, fac []float32, scale, c float32) {
	for i, v := range x {
		u := float32(math.Tanh(float64(scale * v / c)))
		x[i] = c * u
		if fac != nil {
			fac[i] = (1 - u*u) * scale
		}
	}
}

// AttentionForwardWindow is causal AttentionForwardGQA with a sliding
// window of w keys (Mistral's and Gemma 2's local attention, as Hugging
// Face masks it): the query at position i attends to the keys j with
// i−w < j ≤ i, itself and the w−1 before it. w ≤ 0 means no window (plain
// causal attention, bit for bit). Key tiles wholly before a query block's
// window are skipped, as tiles above the diagonal are; FLOPs count the
// min(i+1, w) pairs of row i (AttentionWindowCounts).
func AttentionForwardWindow(cnt *Counter, out, lse, qkv []float32, b, t, h, kvh, dh, w int) {
	a := newAttnDimsWin(b, t, h, kvh, dh, true, nil, w)
	a.qsrc, a.ksrc, a.out, a.lse, a.fwd = qkv, qkv, out, lse, true
	_ = qkv[b*t*a.qld-1]
	a.forward(cnt)
}

// AttentionBackwardWindow is the backward of AttentionForwardWindow.
func AttentionBackwardWindow(cnt *Counter, dqkv, dout, qkv, out, lse []float32, b, t, h, kvh, dh, w int) {
	a := newAttnDimsWin(b, t, h, kvh, dh, true, nil, w)
	a.qsrc, a.ksrc, a.out, a.lse, a.dq, a.dkv, a.dout = qkv, qkv, out, lse, dqkv, dqkv, dout
	_ = qkv[b*t*a.qld-1]
	_ = dqkv[b*t*a.qld-1]
	a.backward(cnt)
}

// AttentionWindowCounts returns the (query, key) pairs and the rescales of
// one head of the fused causal attention for the query rows at positions
// pos..pos+n−1 with a sliding window of w keys (w ≤ 0: none): row i sees
// the min(i+1, w) keys i−w < j ≤ i, which lie in the key tiles
// ⌊max(0, i−w+1)/AttentionTile⌋..⌊i/AttentionTile⌋, and rescales its
// partial output once per tile after the first. With w ≤ 0 (or w > i for
// every row) these are AttentionPairs' and AttentionRescales' counts.
func AttentionWindowCounts(pos, n, w int) (prs, resc int64) {
	for i := pos; i < pos+n; i++ {
		lo := windowStart(i, w)
		prs += int64(i + 1 - lo)
		resc += int64(i/AttentionTile - lo/AttentionTile)
	}
	return prs, resc
}

// windowStart is the first key query position i sees with a window of w
// keys (0 when w ≤ 0).
func windowStart(i, w int) int {
	if w <= 0 {
		return 0
	}
	return max(0, i-w+1)
}

// AttentionPrefillGQA is the causal grouped-query attention of n new
// positions pos..pos+n-1 of one sequence whose keys and values, the new
// positions' included, are already in a decoder's cache: kc and vc hold
// kvh·dh values per position (key/value heads only, as AttentionDecodeGQA
// reads them) for at least pos+n positions. Query row i (q[i·qld:], the
// h·dh query values first) attends to the pos+i+1 keys up to its own
// position. out is [n×h·dh]; lse[h×n] receives each row's log-sum-exp.
// It is the fused kernel of AttentionForwardGQA with the queries offset
// along the keys: the same tiles, online softmax and FLOP conventions
// (pos·n + n(n+1)/2 pairs per head), and each output element is computed
// in a fixed order whatever the thread count.
func AttentionPrefillGQA(cnt *Counter, out, lse, q []float32, qld int, kc, vc []float32, pos, n, h, kvh, dh int) {
	if n <= 0 {
		return
	}
	attentionPrefill(cnt, out, lse, q, qld, kc, vc, pos, n, h, kvh, dh, 0)
}

// AttentionPrefillWindow is AttentionPrefillGQA with a sliding window of w
// keys (w ≤ 0: none): query row i, at position pos+i, attends to the keys
// j with pos+i−w < j ≤ pos+i, as AttentionForwardWindow.
func AttentionPrefillWindow(cnt *Counter, out, lse, q []float32, qld int, kc, vc []float32, pos, n, h, kvh, dh, w int) {
	if n <= 0 {
		return
	}
	attentionPrefill(cnt, out, lse, q, qld, kc, vc, pos, n, h, kvh, dh, w)
}

func attentionPrefill(cnt *Counter, out, lse, q []float32, qld int, kc, vc []float32, pos, n, h, kvh, dh, w int) {
	attentionPrefillOpts(cnt, out, lse, q, qld, kc, vc, pos, n, h, kvh, dh, AttnOpts{Window: w})
}

func attentionPrefillOpts(cnt *Counter, out, lse, q []float32, qld int, kc, vc []float32, pos, n, h, kvh, dh int, o AttnOpts) {
	nk := pos + n
	w := o.Window
	a := newAttnShape(1, n, nk, h, kvh, dh, true, nil)
	a.setOpts(o)
	a.win = max(w, 0)
	a.qld, a.qoff = qld, 0
	a.kld, a.ko, a.vo = kvh*dh, 0, 0
	a.cScores, a.cSoftmax, a.cAV = Scores, Softmax, AV
	a.qsrc, a.ksrc, a.vsrc, a.qpos, a.out, a.lse, a.fwd = q, kc, vc, pos, out, lse, true
	_ = q[(n-1)*qld+h*dh-1]
	_ = kc[nk*a.kld-1]
	_ = vc[nk*a.kld-1]
	// Row i sees pos+i+1 keys (at most w).
	prs, resc := AttentionWindowCounts(pos, n, w)
	a.prs, a.rows, a.resc = prs*int64(h), int64(n)*int64(h), resc*int64(h)
	a.forward(cnt)
}

// AttentionForwardPadded is bidirectional AttentionForward with a key padding
// mask: in sequence r only the first lens[r] positions are keys (every
// position is still a query, as in BERT, so padded rows get an output too).
// lens nil means every sequence is full. Each lens[r] must be in [1, t].
func AttentionForwardPadded(cnt *Counter, out, lse, qkv []float32, lens []int32, b, t, d, h int) {
	attentionForward(cnt, out, lse, qkv, lens, b, t, h, h, d/h, false)
}

// AttentionBackward accumulates dqkv from dout[b×t×d], given the forward's
// input qkv, its output out and the saved lse.
func AttentionBackward(cnt *Counter, dqkv, dout, qkv, out, lse []float32, b, t, d, h int, causal bool) {
	attentionBackward(cnt, dqkv, dout, qkv, out, lse, nil, b, t, h, h, d/h, causal)
}

// AttentionBackwardPadded is the backward of AttentionForwardPadded.
func AttentionBackwardPadded(cnt *Counter, dqkv, dout, qkv, out, lse []float32, lens []int32, b, t, d, h int) {
	attentionBackward(cnt, dqkv, dout, qkv, out, lse, lens, b, t, h, h, d/h, false)
}

// tileKeys returns the keys [lo, hi) of the tile starting at j0 that query
// row qi sees, as offsets into the tile (hi ≤ lo: none).
func (a *attnDims) tileKeys(qi, j0, nk int) (lo, hi int) {
	lim := nk
	if a.causal {
		lim = min(lim, qi+1)
		lo = max(0, windowStart(qi, a.win)-j0)
	}
	return lo, min(AttentionTile, lim-j0)
}

// attnCounts returns the total pairs, query rows and rescales over all
// sequences and heads, for tq queries and tk keys per sequence (tq = tk
// when causal).
func attnCounts(b, tq, tk, h int, causal bool, lens []int32) (prs, rows, resc int64) {
	rows = int64(b) * int64(tq) * int64(h)
	if lens == nil {
		if causal {
			return int64(b) * int64(h) * pairs(tq, true), rows, int64(b) * int64(h) * AttentionRescales(tq, true)
		}
		return int64(b) * int64(h) * int64(tq) * int64(tk), rows, int64(b) * int64(h) * int64(tq) * rescales(tk)
	}
	for _, l := range lens[:b] {
		prs += int64(tq) * int64(l)
		resc += int64(tq) * rescales(int(l))
	}
	return prs * int64(h), rows, resc * int64(h)
}

// flashArch returns the micro-kernel set the attention tiles run on: the
// assembly one, or the pure-Go one.
func flashArch() *gemmArch {
	if ar := arch(); ar != nil {
		return ar
	}
	return goArch
}

// attnDims is one attention call: its operands, its shapes (padded for the
// micro-kernels) and its pair, row and rescale counts. As a RangeJob it runs
// the (sequence, head) pairs.
//
// The queries are read from qsrc (row stride qld, head j's columns at
// qoff + j·dh, tq rows per sequence), the keys and values from ksrc (row
// stride kld, key/value head j's columns at ko + j·dh and vo + j·dh, tk rows
// per sequence). Self-attention reads both from one fused QKV buffer;
// cross-attention reads the queries from the target's Q and the keys and
// values from the source's KV. The gradients dq and dkv have the layouts of
// qsrc and ksrc (one buffer for self-attention).
type attnDims struct {
	ar              *gemmArch
	b, tq, tk       int // sequences, queries and keys per sequence
	d, h, dh        int // d = h·dh, the output's row width
	kvh             int // key/value heads (h for multi-head attention)
	qld, qoff       int // the queries' row stride and column offset
	kld, ko, vo     int // the keys' and values' row stride and column offsets
	tp              int // tq padded to a multiple of the tile sides
	bq              int // query block rows padded to mr (AttentionTile is)
	bk              int // key tile columns padded to nr (AttentionTile is)
	dhp             int // dh padded to nr
	scale           float32
	causal          bool
	win             int     // causal: the sliding window in keys (0: none)
	softcap         float32 // the scores' soft-cap (0: none)
	lens            []int32
	qsrc, ksrc      []float32
	vsrc            []float32 // the values, when not in ksrc (a decoder's cache; forward only)
	qpos            int       // causal: the position of query row 0 among the keys (forward only)
	out, lse        []float32
	dq, dkv, dout   []float32
	fwd             bool
	prs, rows, resc int64
	// the components the scores, softmax and av FLOPs are recorded under
	cScores, cSoftmax, cAV Component
}

// newAttnDims returns the dimensions of self-attention over a fused qkv of
// b sequences of t positions.
func newAttnDims(b, t, h, kvh, dh int, causal bool, lens []int32) attnDims {
	return newAttnDimsWin(b, t, h, kvh, dh, causal, lens, 0)
}

// newAttnDimsWin is newAttnDims with a causal sliding window of w keys
// (w ≤ 0: none).
func newAttnDimsWin(b, t, h, kvh, dh int, causal bool, lens []int32, w int) attnDims {
	a := newAttnShape(b, t, t, h, kvh, dh, causal, lens)
	if causal && w > 0 {
		a.win = w
		prs, resc := AttentionWindowCounts(0, t, w)
		a.prs, a.resc = prs*int64(b)*int64(h), resc*int64(b)*int64(h)
	}
	a.qld, a.qoff = (h+2*kvh)*dh, 0
	a.kld, a.ko, a.vo = a.qld, h*dh, (h+kvh)*dh
	a.cScores, a.cSoftmax, a.cAV = Scores, Softmax, AV
	return a
}

// newAttnShape fills the shape fields common to self- and cross-attention.
func newAttnShape(b, tq, tk, h, kvh, dh int, causal bool, lens []int32) attnDims {
	ar := flashArch()
	a := attnDims{ar: ar, b: b, tq: tq, tk: tk, d: h * dh, h: h, dh: dh, kvh: kvh, causal: causal, lens: lens}
	a.scale = float32(1 / math.Sqrt(float64(dh)))
	a.bq, a.bk = roundUp(AttentionTile, ar.mr), roundUp(AttentionTile, ar.nr)
	a.tp = roundUp(tq, AttentionTile)
	a.dhp = roundUp(dh, ar.nr)
	a.prs, a.rows, a.resc = attnCounts(b, tq, tk, h, causal, lens)
	return a
}

// flashScratch is one goroutine's working memory: packed operands for one
// head and the tiles. Sizes grow to the largest call seen and are reused.
type flashScratch struct {
	kp, vp, qb, dob, kb, vt []float32 // packed head-wide operands
	qp, pp, dp              []float32 // packed block operands
	s, p2                   []float32 // score tile, and backward's dP tile
	o                       []float32 // forward: output accumulator; backward: dQ accumulator
	dk, dv                  []float32 // backward: the key tile's dK and dV
	m, l, dsum              []float32 // per query row
	fac                     []float32 // backward, soft-capped: one row's chain factors
}

var flashPool = sync.Pool{New: func() any { return new(flashScratch) }}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// micro computes C[m×n] (+)= A·B on packed panels: A's panel i (rows
// i·mr..) starts at ap[i·aps], B's panel j (columns j·nr..) at bp[j·bps],
// both k deep; C has row stride ldc. m and n are multiples of mr and nr.
func micro(ar *gemmArch, c []float32, ldc int, ap []float32, aps int, bp []float32, bps int, m, n, k int, acc bool) {
	if k == 0 {
		if !acc {
			for i := 0; i < m; i++ {
				clear(c[i*ldc : i*ldc+n])
			}
		}
		return
	}
	mr, nr := ar.mr, ar.nr
	_ = c[(m-1)*ldc+n-1]
	for jr := 0; jr < n; jr += nr {
		bo := jr / nr * bps
		_ = bp[bo+k*nr-1]
		for ir := 0; ir < m; ir += mr {
			ao := ir / mr * aps
			_ = ap[ao+k*mr-1]
			ar.kernel(k, &ap[ao], &bp[bo], &c[ir*ldc+jr], ldc, acc)
		}
	}
}

func attentionForward(cnt *Counter, out, lse, qkv []float32, lens []int32, b, t, h, kvh, dh int, causal bool) {
	a := newAttnDims(b, t, h, kvh, dh, causal, lens)
	a.qsrc, a.ksrc, a.out, a.lse, a.fwd = qkv, qkv, out, lse, true
	_ = qkv[b*t*a.qld-1]
	a.forward(cnt)
}

// forward checks the output bounds, runs the forward pass and counts it.
func (a *attnDims) forward(cnt *Counter) {
	_ = a.out[a.b*a.tq*a.d-1]
	_ = a.lse[a.b*a.h*a.tq-1]
	a.run()
	dhf := int64(a.dh)
	cnt.Add(Forward, a.cScores, a.prs*2*dhf)
	cnt.Add(Forward, a.cSoftmax, a.prs*FlopsAttnSoftmaxFwd+(a.rows+a.resc)*dhf)
	if a.softcap != 0 {
		cnt.Add(Forward, a.cSoftmax, a.prs*FlopsSoftcapFwd)
	}
	cnt.Add(Forward, a.cAV, a.prs*2*dhf)
}

func attentionBackward(cnt *Counter, dqkv, dout, qkv, out, lse []float32, lens []int32, b, t, h, kvh, dh int, causal bool) {
	a := newAttnDims(b, t, h, kvh, dh, causal, lens)
	a.qsrc, a.ksrc, a.out, a.lse, a.dq, a.dkv, a.dout = qkv, qkv, out, lse, dqkv, dqkv, dout
	_ = qkv[b*t*a.qld-1]
	_ = dqkv[b*t*a.qld-1]
	a.backward(cnt)
}

// backward checks the output bounds, runs the backward pass and counts it.
func (a *attnDims) backward(cnt *Counter) {
	_ = a.out[a.b*a.tq*a.d-1]
	_ = a.dout[a.b*a.tq*a.d-1]
	_ = a.lse[a.b*a.h*a.tq-1]
	a.run()
	dhf := int64(a.dh)
	cnt.Add(Backward, a.cAV, a.prs*4*dhf)
	cnt.Add(Backward, a.cSoftmax, a.prs*FlopsAttnSoftmaxBwd+a.rows*2*dhf)
	if a.softcap != 0 {
		cnt.Add(Backward, a.cSoftmax, a.prs*FlopsSoftcapBwd)
	}
	cnt.Add(Backward, a.cScores, a.prs*6*dhf)
}

// CrossAttentionForward is multi-head cross-attention (an encoder–decoder's
// decoder attending to its encoder): b sequences of tq queries q[b×tq×h·dh]
// attend, bidirectionally, to tk keys and values kv[b×tk×2·h·dh] (per
// source position the h·dh key values, then the h·dh value values) with a
// key padding mask: sequence r offers its first lens[r] keys (lens nil: all
// tk; each in [1, tk]). out is [b×tq×h·dh]; lse[b×h×tq] keeps each row's
// log-sum-exp for the backward pass. FLOPs are counted as for self-attention
// (tq·lens[r] pairs per head) under CrossScores, CrossSoftmax and CrossAV.
func CrossAttentionForward(cnt *Counter, out, lse, q, kv []float32, lens []int32, b, tq, tk, h, dh int) {
	a := newCrossDims(b, tq, tk, h, dh, lens)
	a.qsrc, a.ksrc, a.out, a.lse, a.fwd = q, kv, out, lse, true
	_ = q[b*tq*a.qld-1]
	_ = kv[b*tk*a.kld-1]
	a.forward(cnt)
}

// CrossAttentionBackward is the backward of CrossAttentionForward: it adds
// the gradients of q into dq and of kv into dkv (same layouts), given dout
// and the forward's out and lse.
func CrossAttentionBackward(cnt *Counter, dq, dkv, dout, q, kv, out, lse []float32, lens []int32, b, tq, tk, h, dh int) {
	a := newCrossDims(b, tq, tk, h, dh, lens)
	a.qsrc, a.ksrc, a.out, a.lse, a.dq, a.dkv, a.dout = q, kv, out, lse, dq, dkv, dout
	_ = q[b*tq*a.qld-1]
	_ = kv[b*tk*a.kld-1]
	_ = dq[b*tq*a.qld-1]
	_ = dkv[b*tk*a.kld-1]
	a.backward(cnt)
}

func newCrossDims(b, tq, tk, h, dh int, lens []int32) attnDims {
	a := newAttnShape(b, tq, tk, h, h, dh, false, lens)
	a.qld, a.qoff = h*dh, 0
	a.kld, a.ko, a.vo = 2*h*dh, 0, h*dh
	a.cScores, a.cSoftmax, a.cAV = CrossScores, CrossSoftmax, CrossAV
	return a
}

// attnJobs recycles the job values of attention calls.
var attnJobs JobPool[attnDims]

// run splits the (sequence, key/value head) pairs across threads: the
// query heads of one key/value head run in one job, so that they share its
// packed K and V and add into its dK and dV one after another.
func (a *attnDims) run() {
	work := a.prs * int64(4*a.dh)
	if !a.fwd {
		work *= 3
	}
	RunPooled(&attnJobs, a.b*a.kvh, work, *a)
}

// Range runs the (sequence, key/value head) pairs [lo, hi) with one
// scratch: each one's group of h/kvh query heads, packing K and V once.
func (a *attnDims) Range(lo, hi int) {
	sc := flashPool.Get().(*flashScratch)
	g := a.h / a.kvh
	for bk := lo; bk < hi; bk++ {
		bi, kh := bk/a.kvh, bk%a.kvh
		for j := range g {
			if a.fwd {
				a.forwardHead(sc, bi, kh*g+j, j == 0)
			} else {
				a.backwardHead(sc, bi, kh*g+j, j == 0)
			}
		}
	}
	flashPool.Put(sc)
}

// keyLimit is the number of keys sequence bi offers (tk, or its padding
// length).
func (a *attnDims) keyLimit(bi int) int {
	if a.lens != nil {
		return int(a.lens[bi])
	}
	return a.tk
}

// forwardHead runs the forward pass of query head hd of sequence bi. With
// packKV it packs the head's keys and values first; without, the previous
// call's (the same key/value head's) are still in sc.
func (a *attnDims) forwardHead(sc *flashScratch, bi, hd int, packKV bool) {
	ar, tq, d, dh := a.ar, a.tq, a.d, a.dh
	mr, nr := ar.mr, ar.nr
	qld, kld := a.qld, a.kld
	qbase := bi*tq*qld + a.qoff
	kbase := bi * a.tk * kld
	nk := a.keyLimit(bi)
	nkp := roundUp(nk, AttentionTile)
	kvo := hd / (a.h / a.kvh) * dh // the key/value head's columns
	// Head-wide packed operands: K as nr-key panels dh deep (B of Q·Kᵀ),
	// V as nr-column panels nk deep (B of P·V).
	if packKV {
		sc.kp = grow(sc.kp, nkp*dh)
		packRowsK(ar.packBT, sc.kp, a.ksrc, kbase+a.ko+kvo, kld, nk, dh, nr)
		vsrc := a.ksrc
		if a.vsrc != nil {
			vsrc = a.vsrc
		}
		sc.vp = grow(sc.vp, a.dhp*nk)
		packColsK(ar.packBC, sc.vp, vsrc, kbase+a.vo+kvo, kld, dh, nk, nr)
	}
	sc.qp = grow(sc.qp, a.bq*dh)
	sc.pp = grow(sc.pp, a.bq*a.bk)
	sc.s = grow(sc.s, a.bq*a.bk)
	sc.o = grow(sc.o, a.bq*a.dhp)
	sc.m = grow(sc.m, a.bq)
	sc.l = grow(sc.l, a.bq)
	bk := a.bk
	lseRow := a.lse[(bi*a.h+hd)*tq:]
	for i0 := 0; i0 < tq; i0 += AttentionTile {
		rows := min(AttentionTile, tq-i0)
		mp := roundUp(rows, mr)
		packRowsK(ar.packAT, sc.qp, a.qsrc, qbase+i0*qld+hd*dh, qld, rows, dh, mr)
		for i := range rows {
			sc.m[i] = float32(math.Inf(-1))
			sc.l[i] = 0
		}
		kmin, kmax := 0, nk
		if a.causal {
			kmax = min(nk, a.qpos+i0+rows)
			// The first tile holding a key of the block's first row.
			kmin = windowStart(a.qpos+i0, a.win) / AttentionTile * AttentionTile
		}
		for j0 := kmin; j0 < kmax; j0 += AttentionTile {
			kw := min(AttentionTile, kmax-j0) // keys any row of the block sees
			np := roundUp(kw, nr)
			// S = Q·Kᵀ for the tile.
			micro(ar, sc.s, bk, sc.qp, mr*dh, sc.kp[j0*dh:], nr*dh, mp, np, dh, false)
			for i := range rows {
				row := sc.s[i*bk : i*bk+np]
				k0, k1 := a.tileKeys(a.qpos+i0+i, j0, nk)
				if k1 <= k0 {
					clear(row)
					continue
				}
				mOld := sc.m[i]
				sscale := a.scale
				if a.softcap != 0 {
					capRow(row[k0:k1], nil, a.scale, a.softcap)
					sscale = 1
				}
				mNew := max(mOld, sscale*maxOf(row[k0:k1]))
				sum := expSum(row[k0:k1], sscale, -mNew)
				clear(row[:k0])
				clear(row[k1:])
				if math.IsInf(float64(mOld), -1) { // the row's first tile: its output so far is 0
					sc.l[i] = sum
				} else {
					alpha := exp32(mOld - mNew)
					sc.l[i] = sc.l[i]*alpha + sum
					scaleTo(sc.o[i*a.dhp:(i+1)*a.dhp], alpha)
				}
				sc.m[i] = mNew
			}
			for i := rows; i < mp; i++ {
				clear(sc.s[i*bk : i*bk+np])
			}
			// O (+)= P·V.
			packRowsK(ar.packAT, sc.pp, sc.s, 0, bk, mp, kw, mr)
			micro(ar, sc.o, a.dhp, sc.pp, mr*kw, sc.vp[j0*nr:], nr*nk, mp, a.dhp, kw, j0 > kmin)
		}
		for i := range rows {
			inv := 1 / sc.l[i]
			o := a.out[(bi*tq+i0+i)*d+hd*dh : (bi*tq+i0+i)*d+hd*dh+dh]
			for c, v := range sc.o[i*a.dhp : i*a.dhp+dh] {
				o[c] = v * inv
			}
			lseRow[i0+i] = sc.m[i] + float32(math.Log(float64(sc.l[i])))
		}
	}
}

// backwardHead runs the backward pass of head hd of sequence bi: for each
// key tile, over the query blocks that see it, recompute P, then
// dV += Pᵀ·dO, dS = P·(dO·Vᵀ − D)/√dh, dK += dSᵀ·Q and dQ += dS·K. With
// packKV it packs the key/value head's K and V first (see forwardHead).
func (a *attnDims) backwardHead(sc *flashScratch, bi, hd int, packKV bool) {
	ar, tq, d, dh := a.ar, a.tq, a.d, a.dh
	mr, nr := ar.mr, ar.nr
	qld, kld := a.qld, a.kld
	qbase := bi*tq*qld + a.qoff
	kbase := bi * a.tk * kld
	obase := bi * tq * d
	nk := a.keyLimit(bi)
	nkp := roundUp(nk, AttentionTile)
	tp := a.tp
	bk, dhp := a.bk, a.dhp
	kvo := hd / (a.h / a.kvh) * dh // the key/value head's columns
	// Head-wide packed operands.
	if packKV {
		sc.kp = grow(sc.kp, nkp*dh) // K: nr-key panels, dh deep (B of Q·Kᵀ)
		packRowsK(ar.packBT, sc.kp, a.ksrc, kbase+a.ko+kvo, kld, nk, dh, nr)
		sc.vt = grow(sc.vt, nkp*dh) // V: nr-key panels, dh deep (B of dO·Vᵀ)
		packRowsK(ar.packBT, sc.vt, a.ksrc, kbase+a.vo+kvo, kld, nk, dh, nr)
		sc.kb = grow(sc.kb, dhp*nk) // K: nr-column panels, nk deep (B of dS·K)
		packColsK(ar.packBC, sc.kb, a.ksrc, kbase+a.ko+kvo, kld, dh, nk, nr)
	}
	sc.qb = grow(sc.qb, dhp*tq) // Q: nr-column panels, tq deep (B of dSᵀ·Q)
	packColsK(ar.packBC, sc.qb, a.qsrc, qbase+hd*dh, qld, dh, tq, nr)
	sc.dob = grow(sc.dob, dhp*tq) // dO: nr-column panels, tq deep (B of Pᵀ·dO)
	packColsK(ar.packBC, sc.dob, a.dout, obase+hd*dh, d, dh, tq, nr)
	sc.o = grow(sc.o, tp*dhp) // dQ accumulator
	clear(sc.o)
	sc.qp = grow(sc.qp, tp*dh) // Q blocks as mr-row panels (A of Q·Kᵀ)
	packRowsK(ar.packAT, sc.qp, a.qsrc, qbase+hd*dh, qld, tq, dh, mr)
	sc.dp = grow(sc.dp, tp*dh) // dO blocks as mr-row panels (A of dO·Vᵀ)
	packRowsK(ar.packAT, sc.dp, a.dout, obase+hd*dh, d, tq, dh, mr)
	// D = rowsum(dO∘O).
	sc.dsum = grow(sc.dsum, tq)
	for i := range tq {
		off := obase + i*d + hd*dh
		sc.dsum[i] = dot(a.dout[off:off+dh], a.out[off:off+dh])
	}
	sc.s = grow(sc.s, a.bq*bk)
	sc.p2 = grow(sc.p2, a.bq*bk)
	sc.pp = grow(sc.pp, max(a.bq, bk)*max(a.bq, bk))
	sc.dk = grow(sc.dk, bk*dhp)
	sc.dv = grow(sc.dv, bk*dhp)
	if a.softcap != 0 {
		sc.fac = grow(sc.fac, bk)
	}
	lseRow := a.lse[(bi*a.h+hd)*tq:]
	for j0 := 0; j0 < nk; j0 += AttentionTile {
		kw := min(AttentionTile, nk-j0)
		np := roundUp(kw, nr)
		kmp := roundUp(kw, mr)
		first := true
		i0, iend := 0, tq
		if a.causal {
			i0 = j0 / AttentionTile * AttentionTile
			if a.win > 0 {
				// The last query that sees the tile's last key.
				iend = min(tq, j0+kw-1+a.win)
			}
		}
		for ; i0 < iend; i0 += AttentionTile {
			rows := min(AttentionTile, tq-i0)
			mp := roundUp(rows, mr)
			// S = Q·Kᵀ and dP = dO·Vᵀ for the tile.
			micro(ar, sc.s, bk, sc.qp[i0*dh:], mr*dh, sc.kp[j0*dh:], nr*dh, mp, np, dh, false)
			micro(ar, sc.p2, bk, sc.dp[i0*dh:], mr*dh, sc.vt[j0*dh:], nr*dh, mp, np, dh, false)
			for i := range rows {
				row := sc.s[i*bk : i*bk+np]
				dpr := sc.p2[i*bk : i*bk+np]
				k0, k1 := a.tileKeys(i0+i, j0, nk)
				if k1 <= k0 { // the row's window starts after the tile
					k0, k1 = 0, 0
				}
				// P = exp(scale·S − lse), then dS in place of dP.
				if a.softcap != 0 {
					fac := sc.fac[k0:k1]
					capRow(row[k0:k1], fac, a.scale, a.softcap)
					expSum(row[k0:k1], 1, -lseRow[i0+i])
					softmaxGrad(dpr[k0:k1], row[k0:k1], dpr[k0:k1], sc.dsum[i0+i], 1)
					for k, f := range fac {
						dpr[k0+k] *= f
					}
				} else {
					expSum(row[k0:k1], a.scale, -lseRow[i0+i])
					softmaxGrad(dpr[k0:k1], row[k0:k1], dpr[k0:k1], sc.dsum[i0+i], a.scale)
				}
				clear(row[:k0])
				clear(row[k1:])
				clear(dpr[:k0])
				clear(dpr[k1:])
			}
			// dV += Pᵀ·dO and dK += dSᵀ·Q: A is the tile transposed
			// (kw keys deep in queries), packed from its columns.
			packColsK(ar.packAC, sc.pp, sc.s, 0, bk, kmp, rows, mr)
			micro(ar, sc.dv, dhp, sc.pp, mr*rows, sc.dob[i0*nr:], nr*tq, kmp, dhp, rows, !first)
			packColsK(ar.packAC, sc.pp, sc.p2, 0, bk, kmp, rows, mr)
			micro(ar, sc.dk, dhp, sc.pp, mr*rows, sc.qb[i0*nr:], nr*tq, kmp, dhp, rows, !first)
			// dQ += dS·K.
			packRowsK(ar.packAT, sc.pp, sc.p2, 0, bk, mp, kw, mr)
			micro(ar, sc.o[i0*dhp:], dhp, sc.pp, mr*kw, sc.kb[j0*nr:], nr*nk, mp, dhp, kw, true)
			first = false
		}
		if first {
			continue
		}
		// Accumulate into dkv (axpy with 1: the same sums, vectorised).
		for j := range kw {
			off := kbase + (j0+j)*kld + kvo
			axpy(a.dkv[off+a.ko:off+a.ko+dh], 1, sc.dk[j*dhp:j*dhp+dh])
			axpy(a.dkv[off+a.vo:off+a.vo+dh], 1, sc.dv[j*dhp:j*dhp+dh])
		}
	}
	for i := range tq {
		off := qbase + i*qld + hd*dh
		axpy(a.dq[off:off+dh], 1, sc.o[i*dhp:i*dhp+dh])
	}
}

// AttentionDecode computes one new position's attention output for all heads
// during incremental decoding: q[d] attends to the nk cached keys kc[nk×d]
// and values vc[nk×d]. scratch must hold at least nk values.
func AttentionDecode(cnt *Counter, out, q, kc, vc, scratch []float32, nk, d, h int) {
	AttentionDecodeGQA(cnt, out, q, kc, vc, scratch, nk, h, h, d/h)
}

// AttentionDecodeGQA is AttentionDecode with h query heads and kvh
// key/value heads of width dh: q is [h·dh], the caches kc and vc hold
// kvh·dh values per position (key/value heads only), and query head j reads
// cached head j/(h/kvh).
func AttentionDecodeGQA(cnt *Counter, out, q, kc, vc, scratch []float32, nk, h, kvh, dh int) {
	attentionDecode(cnt, out, q, kc, vc, kvh*dh, scratch, nk, h, kvh, dh, Scores, Softmax, AV, AttnOpts{})
}

// AttentionDecodeOpts is AttentionDecodeGQA with o's window, soft-cap and
// scale: the query, at position nk−1, attends to the last o.Window of the
// nk cached positions when o.Window is set (FlopsSoftcapFwd more per key
// with a cap).
func AttentionDecodeOpts(cnt *Counter, out, q, kc, vc, scratch []float32, nk, h, kvh, dh int, o AttnOpts) {
	ld := kvh * dh
	if k0 := windowStart(nk-1, o.Window); k0 > 0 {
		kc, vc, nk = kc[k0*ld:], vc[k0*ld:], nk-k0
	}
	attentionDecode(cnt, out, q, kc, vc, ld, scratch, nk, h, kvh, dh, Scores, Softmax, AV, o)
}

// CrossAttentionDecode computes one decoder position's cross-attention
// output for all h heads of width dh: q[h·dh] attends to the nk source
// positions of kv[nk×2·h·dh] (per position the keys, then the values, as
// CrossAttentionForward reads them). scratch must hold at least nk values.
// FLOPs go to CrossScores, CrossSoftmax and CrossAV, counted as
// AttentionDecode counts its own.
func CrossAttentionDecode(cnt *Counter, out, q, kv, scratch []float32, nk, h, dh int) {
	d := h * dh
	attentionDecode(cnt, out, q, kv, kv[d:], 2*d, scratch, nk, h, h, dh, CrossScores, CrossSoftmax, CrossAV, AttnOpts{})
}

// attentionDecode is the decoding attention over keys kc and values vc
// whose rows are ld apart, counting under the components given.
func attentionDecode(cnt *Counter, out, q, kc, vc []float32, ld int, scratch []float32, nk, h, kvh, dh int, cs, cm, ca Component, op AttnOpts) {
	scale := float32(1 / math.Sqrt(float64(dh)))
	if op.Scale != 0 {
		scale = op.Scale
	}
	g := h / kvh
	for hd := 0; hd < h; hd++ {
		qh := q[hd*dh : hd*dh+dh]
		ko := hd / g * dh
		sc := scratch[:nk]
		for j := range sc {
			sc[j] = dot(qh, kc[j*ld+ko:j*ld+ko+dh]) * scale
		}
		if op.Softcap != 0 {
			capRow(sc, nil, 1, op.Softcap)
		}
		inv := 1 / expSum(sc, 1, -maxOf(sc))
		o := out[hd*dh : hd*dh+dh]
		clear(o)
		for j := 0; j < nk; j++ {
			axpy(o, scratch[j]*inv, vc[j*ld+ko:j*ld+ko+dh])
		}
	}
	all := int64(h) * int64(nk)
	cnt.Add(Forward, cs, all*2*int64(dh))
	cnt.Add(Forward, cm, all*FlopsSoftmaxFwd)
	if op.Softcap != 0 {
		cnt.Add(Forward, cm, all*FlopsSoftcapFwd)
	}
	cnt.Add(Forward, ca, all*2*int64(dh))
}

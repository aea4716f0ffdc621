package kernels

import (
	"sync"
	"unsafe"
)

// The blocked GEMM driver behind MatMulNT, MatMulNN and MatMulTN when an
// assembly micro-kernel is available (GotoBLAS/BLIS structure):
//
//	for each nc-wide block of columns of B (jc)
//	  for each kc-deep block of the inner dimension (pc)
//	    pack B[pc:pc+kc, jc:jc+nc] into nr-column panels (L3)
//	    for each mc-high block of rows of A (ic)
//	      pack A[ic:ic+mc, pc:pc+kc] into mr-row panels (L2)
//	      for each nr panel of B (jr), for each mr panel of A (ir)
//	        micro-kernel: C[ir, jr] (+)= Apanel · Bpanel (C tile in registers)
//
// or, for a kernel set with aOuter (CPUs whose L2 holds a B block but not
// also an A block of useful size, such as Zen 4/5 with 1 MiB), the two
// innermost loops swapped: for each mr panel of A (ir, kept in L1), for
// each nr panel of B (jr, streamed from L2), with the B block sized for L2,
// in cells that span several column blocks; A is then packed once up front
// (as for a parallel product's shared operand) instead of once per column
// block when that saves two or more packings.
//
// Packing reads A and B in whichever layout the form has, so the three
// forms share one kernel and no operand is ever transposed in memory.
// Panels are zero-padded to mr rows and nr columns; tiles on the right or
// bottom edge of C are computed into a scratch tile and copied out.
//
// Reproducibility: every element of C gets the same sequence of float32
// operations wherever it lies and however the work is split — within a
// k-block, one FMA per p in increasing p starting from zero; then the
// k-block's sum is stored (first block, overwriting) or added to C. The
// k-blocks depend only on k. Work is split across threads by rows or columns
// of C, never along k, so results are bitwise identical for any thread
// count, and for any m (above gemvMaxRows) and n around the element.

// gemmForm is the operand layout of a product.
type gemmForm uint8

const (
	formNT gemmForm = iota // A m×k, B n×k (B transposed)
	formNN                 // A m×k, B k×n
	formTN                 // A k×m (A transposed), B k×n
)

// gemmParallelMin is the number of multiply-adds below which a GEMM runs on
// the calling goroutine: on a 2-core Zen 3, two threads start to win (in
// median time) near 1M (about 100³). A variable so tests can send small
// products through the parallel path.
var gemmParallelMin int64 = 1 << 20

// gemmCellTarget is the preferred extent, along the split dimension, of the
// cells a parallel GEMM is cut into: many cells balance the load when a
// thread is slowed down, but each cell packs its own blocks of its operand
// (and of the other one, when that is too big to pack once up front).
const gemmCellTarget = 1024

// gemvMaxRows is the largest m for which a product skips packing and runs
// as dot products (NT) or row updates (NN, TN): with so few rows of A,
// packing B costs more than it saves (measured on Zen 3 at n·k ≈ 1.8M).
var gemvMaxRows = [...]int{formNT: 4, formNN: 2, formTN: 2}

// gemvCols is the width of the column blocks of the row-update path (so a
// block of the C row stays in L1 while the rows of B stream past).
const gemvCols = 1024

// gemmTask is one product, cut into a grid of cells of C that are computed
// independently (the units of a parallel job).
type gemmTask struct {
	arch     *gemmArch
	form     gemmForm
	acc      bool // add to C (else overwrite)
	c, a, b  []float32
	m, n, k  int
	kc       int  // k-block depth (a function of k only)
	cellRows int  // rows per cell
	cellCols int  // columns per cell
	cellsN   int  // cells across n
	gemv     bool // few rows: unit i is columns [i·cellCols, (i+1)·cellCols) (gemvCells)

	// Shared packing (parallel runs only): when the cells split C by
	// columns, every cell would pack all of A, so A is packed once up
	// front into pre by a first parallel job (prepack units), and the cells
	// read it from there; likewise B when the cells split C by rows.
	preA, preB bool
	pre        []float32
	prepack    bool // the units are prepack units, not cells
}

// gemm computes C (+)= op(A)·op(B) with the kernel set ar. m, n, k ≥ 1 and
// the slices are long enough (the callers check).
func gemm(ar *gemmArch, form gemmForm, c, a, b []float32, m, n, k int, acc bool) {
	g := gemmTask{arch: ar, form: form, acc: acc, c: c, a: a, b: b, m: m, n: n, k: k}
	t := Threads()
	work := int64(m) * int64(n) * int64(k)
	if m <= gemvMaxRows[form] {
		// Units are blocks of columns; every element is still one
		// goroutine's fixed-order sum.
		g.cellCols = gemvCols
		if t > 1 && work >= gemmParallelMin {
			per := max(t, roundUp((n+gemvCols-1)/gemvCols, t))
			g.cellCols = roundUp((n+per-1)/per, 8)
		}
		g.gemv = true
		g.run((n+g.cellCols-1)/g.cellCols, t)
		return
	}
	// k-blocks of equal depth (a multiple of 4, for the unrolled loop).
	nb := (k + ar.kc - 1) / ar.kc
	g.kc = roundUp((k+nb-1)/nb, 4)
	g.cellRows, g.cellCols, g.cellsN = m, n, 1
	cells := 1
	if t > 1 && work >= gemmParallelMin {
		// Split the larger dimension into t cells, or a multiple of t of
		// about gemmCellTarget each. Every column cell needs all of A
		// (every row cell all of B): that operand, the smaller one, is
		// packed once for all cells when it fits gemmPrepackMax.
		if n >= m {
			per := cellsFor(n, t)
			g.cellCols = roundUp((n+per-1)/per, ar.nr)
			g.cellsN = (n + g.cellCols - 1) / g.cellCols
			cells = g.cellsN
		} else {
			per := cellsFor(m, t)
			g.cellRows = roundUp((m+per-1)/per, ar.mr)
			cells = (m + g.cellRows - 1) / g.cellRows
		}
		if cells > 1 {
			g.preA = n >= m && roundUp(m, ar.mr)*k <= gemmPrepackMax
			g.preB = n < m && roundUp(n, ar.nr)*k <= gemmPrepackMax
		}
	}
	if cells == 1 && n > 2*ar.nc && ar.aOuter {
		// One cell spanning three or more (small) column blocks would pack
		// each block of A once per column block: pack A once up front
		// instead, on this goroutine (the product is not split). With two
		// blocks, packing A twice into L2-sized blocks measured no slower
		// (1024³ on a Zen 5, within the noise).
		g.preA = roundUp(m, ar.mr)*k <= gemmPrepackMax
		t = 1
	}
	g.run(cells, t)
}

// gemmPrepackMax is the largest operand (in floats, padded) that a
// parallel GEMM packs once up front for all its cells; a larger one is
// packed by each cell for itself.
const gemmPrepackMax = 4 << 20

// prepackUnits returns the number of units of the prepacking job: one per
// k-block and mc-row (A) or nc-column (B) block.
func (g *gemmTask) prepackUnits() int {
	kb := (g.k + g.kc - 1) / g.kc
	if g.preA {
		return kb * ((g.m + g.arch.mc - 1) / g.arch.mc)
	}
	return kb * ((g.n + g.arch.nc - 1) / g.arch.nc)
}

// prepackUnit packs unit i of the shared operand. Within k-block b (depth
// kc), the panel starting at row (column) r of the operand is at
// pre[b·pad·g.kc + r·kc], pad being m (n) rounded up to mr (nr).
func (g *gemmTask) prepackUnit(i int) {
	ar := g.arch
	kb := (g.k + g.kc - 1) / g.kc
	b, blk := i%kb, i/kb
	pc := b * g.kc
	kc := min(g.kc, g.k-pc)
	if g.preA {
		ic := blk * ar.mc
		mcur := min(ar.mc, g.m-ic)
		base := b*roundUp(g.m, ar.mr)*g.kc + ic*kc
		// Capped at the unit's end, so no packer writes past it into a
		// panel another goroutine is packing.
		g.packA(g.pre[base:base+roundUp(mcur, ar.mr)*kc], ic, mcur, pc, kc)
		return
	}
	jc := blk * ar.nc
	ncur := min(ar.nc, g.n-jc)
	base := b*roundUp(g.n, ar.nr)*g.kc + jc*kc
	g.packB(g.pre[base:base+roundUp(ncur, ar.nr)*kc], jc, ncur, pc, kc)
}

// cellsFor returns how many cells to cut a dimension of extent d into for
// t threads: t, or a multiple of t of about gemmCellTarget each when d is
// large. (Finer cells, down to 128 wide, balanced no better on a shared
// 2-core machine and cost more duplicated packing.)
func cellsFor(d, t int) int { return t * max(1, d/(gemmCellTarget*t)) }

// run runs the task's units on up to t goroutines.
func (g *gemmTask) run(units, t int) {
	if (units > 1 && t > 1 || g.preA || g.preB) && workers.mu.TryLock() {
		w := &workers.gemm
		*w = *g
		if w.preA || w.preB {
			n := w.prepackUnits()
			size := (w.k + w.kc - 1) / w.kc * w.kc
			if w.preA {
				size *= roundUp(w.m, w.arch.mr)
			} else {
				size *= roundUp(w.n, w.arch.nr)
			}
			workers.pre = aligned(workers.pre, size)
			w.pre = workers.pre
			w.prepack = true
			workers.runLocked(w, n, min(t, n))
			w.prepack = false
		}
		workers.runLocked(w, units, min(t, units))
		*w = gemmTask{}
		workers.mu.Unlock()
		return
	}
	// Serially every cell packs for itself.
	g.preA, g.preB = false, false
	for i := 0; i < units; i++ {
		g.runUnit(i)
	}
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }

// gemmBuf holds one goroutine's packing buffers and edge scratch tile.
type gemmBuf struct {
	a, b, tile []float32
}

var gemmBufs = sync.Pool{New: func() any { return new(gemmBuf) }}

// aligned returns a zeroed-on-allocation slice of n float32s starting on a
// 64-byte boundary, reusing s when it is big enough.
func aligned(s []float32, n int) []float32 {
	if cap(s) >= n {
		return s[:n]
	}
	s = make([]float32, n+16)
	off := int(uintptr(unsafe.Pointer(&s[0]))&63) / 4
	if off != 0 {
		off = 16 - off
	}
	return s[off : off+n : off+n]
}

// runUnit computes cell i of the grid.
func (g *gemmTask) runUnit(i int) {
	if g.prepack {
		g.prepackUnit(i)
		return
	}
	if g.gemv {
		j0 := i * g.cellCols
		g.gemvCells(j0, min(j0+g.cellCols, g.n))
		return
	}
	ci, cj := i/g.cellsN, i%g.cellsN
	i0, j0 := ci*g.cellRows, cj*g.cellCols
	i1, j1 := min(i0+g.cellRows, g.m), min(j0+g.cellCols, g.n)
	buf := gemmBufs.Get().(*gemmBuf)
	g.cell(buf, i0, i1, j0, j1)
	gemmBufs.Put(buf)
}

// cell computes C[i0:i1, j0:j1].
func (g *gemmTask) cell(buf *gemmBuf, i0, i1, j0, j1 int) {
	ar := g.arch
	mr, nr := ar.mr, ar.nr
	// Balanced blocks: no thin leftover block at the end of a cell.
	nblk := (j1 - j0 + ar.nc - 1) / ar.nc
	// A panels outermost only when the cell spans several column blocks:
	// for a cell of one block, B panels outermost measured up to 10% faster
	// on a Zen 5 (1024³ on 2 threads, 512-column cells), and no slower
	// elsewhere.
	aOuter := ar.aOuter && nblk > 1
	nc := roundUp((j1-j0+nblk-1)/nblk, nr)
	mblk := (i1 - i0 + ar.mc - 1) / ar.mc
	mc := roundUp((i1-i0+mblk-1)/mblk, mr)
	buf.a = aligned(buf.a, mc*g.kc+8) // +8: see gemmArch.packAT
	buf.b = aligned(buf.b, nc*g.kc+8)
	buf.tile = aligned(buf.tile, mr*nr)
	mPad, nPad := roundUp(g.m, mr), roundUp(g.n, nr)
	for jc := j0; jc < j1; jc += nc {
		ncur := min(nc, j1-jc)
		for pc := 0; pc < g.k; pc += g.kc {
			kc := min(g.kc, g.k-pc)
			bp := buf.b
			if g.preB {
				bp = g.pre[pc*nPad+jc*kc:]
			} else {
				g.packB(bp, jc, ncur, pc, kc)
			}
			accum := g.acc || pc > 0
			for ic := i0; ic < i1; ic += mc {
				mcur := min(mc, i1-ic)
				ap := buf.a
				if g.preA {
					ap = g.pre[pc*mPad+ic*kc:]
				} else {
					g.packA(ap, ic, mcur, pc, kc)
				}
				g.macro(ap, bp, buf.tile, ic, mcur, jc, ncur, kc, accum, aOuter)
			}
		}
	}
}

// gemvCells computes columns j0..j1-1 of C without packing: for NT each
// element is a dot product of a row of A and a row of B; for NN and TN each
// row of C is updated with one axpy per row of B (one FMA per element
// and p, in increasing p).
func (g *gemmTask) gemvCells(j0, j1 int) {
	ar := g.arch
	m, n, k := g.m, g.n, g.k
	if g.form == formNT {
		for j := j0; j < j1; j++ {
			bj := g.b[j*k : j*k+k]
			for i := 0; i < m; i++ {
				s := ar.dot(g.a[i*k:i*k+k], bj)
				if g.acc {
					g.c[i*n+j] += s
				} else {
					g.c[i*n+j] = s
				}
			}
		}
		return
	}
	for jb := j0; jb < j1; jb += gemvCols {
		je := min(jb+gemvCols, j1)
		for i := 0; i < m; i++ {
			ci := g.c[i*n+jb : i*n+je]
			if !g.acc {
				clear(ci)
			}
			for p := 0; p < k; p++ {
				var aip float32
				if g.form == formTN {
					aip = g.a[p*m+i]
				} else {
					aip = g.a[i*k+p]
				}
				ar.axpy(ci, aip, g.b[p*n+jb:p*n+je])
			}
		}
	}
}

// macro runs the micro-kernel over the packed block: C[ic:ic+mcur,
// jc:jc+ncur] (+)= Apacked · Bpacked, by panels of B outermost (the B
// panel stays in L1 while the A block streams from L2) or, with aOuter, by
// panels of A outermost (the A panel stays in L1 while the B block streams
// from L2, and consecutive tiles are neighbours along a row of C). The
// order changes no result: every tile is one kernel call.
func (g *gemmTask) macro(apk, bpk, tile []float32, ic, mcur, jc, ncur, kc int, accum, aOuter bool) {
	ar := g.arch
	mr, nr, n := ar.mr, ar.nr, g.n
	if aOuter {
		for ir := 0; ir < mcur; ir += mr {
			mh := min(mr, mcur-ir)
			_ = apk[ir*kc+mr*kc-1]
			ap := &apk[ir*kc]
			for jr := 0; jr < ncur; jr += nr {
				nw := min(nr, ncur-jr)
				_ = bpk[jr*kc+nr*kc-1] // the kernel reads the whole panel
				g.tile(ap, &bpk[jr*kc], tile, (ic+ir)*n+jc+jr, mh, nw, kc, accum)
			}
		}
		return
	}
	for jr := 0; jr < ncur; jr += nr {
		nw := min(nr, ncur-jr)
		_ = bpk[jr*kc+nr*kc-1] // the kernel reads the whole panel
		bp := &bpk[jr*kc]
		for ir := 0; ir < mcur; ir += mr {
			mh := min(mr, mcur-ir)
			_ = apk[ir*kc+mr*kc-1]
			g.tile(&apk[ir*kc], bp, tile, (ic+ir)*n+jc+jr, mh, nw, kc, accum)
		}
	}
}

// tile runs the micro-kernel on one mh×nw tile of C at offset off (mh ≤
// mr, nw ≤ nr; an edge tile goes through the scratch tile).
func (g *gemmTask) tile(ap, bp *float32, tile []float32, off, mh, nw, kc int, accum bool) {
	ar := g.arch
	mr, nr := ar.mr, ar.nr
	n := g.n
	c := g.c
	if mh == mr && nw == nr {
		_ = c[off+(mr-1)*n+nr-1]
		ar.kernel(kc, ap, bp, &c[off], n, accum)
		return
	}
	ar.kernel(kc, ap, bp, &tile[0], nr, false)
	for r := 0; r < mh; r++ {
		dst := c[off+r*n : off+r*n+nw]
		src := tile[r*nr : r*nr+nw]
		if accum {
			for j, v := range src {
				dst[j] += v
			}
		} else {
			copy(dst, src)
		}
	}
}

// packA packs op(A)[ic:ic+mcur, pc:pc+kc] into mr-row panels: panel q holds
// rows ic+q·mr.. as dst[q·mr·kc + p·mr + r], zero beyond row mcur.
func (g *gemmTask) packA(dst []float32, ic, mcur, pc, kc int) {
	if g.form == formTN {
		// A is k×m: the mr values of one p are contiguous.
		packColsK(g.arch.packAC, dst, g.a, pc*g.m+ic, g.m, mcur, kc, g.arch.mr)
		return
	}
	// A is m×k: the rows run along k.
	packRowsK(g.arch.packAT, dst, g.a, ic*g.k+pc, g.k, mcur, kc, g.arch.mr)
}

// packB packs op(B)[pc:pc+kc, jc:jc+ncur] into nr-column panels: panel q
// holds columns jc+q·nr.. as dst[q·nr·kc + p·nr + j], zero beyond column
// ncur.
func (g *gemmTask) packB(dst []float32, jc, ncur, pc, kc int) {
	if g.form != formNT {
		// B is k×n: the nr values of one p are contiguous.
		packColsK(g.arch.packBC, dst, g.b, pc*g.n+jc, g.n, ncur, kc, g.arch.nr)
		return
	}
	// B is n×k: its rows (the columns of op(B)) run along k.
	packRowsK(g.arch.packBT, dst, g.b, jc*g.k+pc, g.k, ncur, kc, g.arch.nr)
}

// packRowsK packs rows of an operand that run along k — element (r, p) at
// src[off + r·ld + p], r < rows, p < kc — into w-wide panels: panel q holds
// rows q·w.. as dst[q·w·kc + p·w + i], zero beyond rows. fast packs a full
// panel (nil: Go only).
func packRowsK(fast func(dst, src []float32, off, ld, kc int), dst, src []float32, off, ld, rows, kc, w int) {
	for r := 0; r < rows; r += w {
		d := dst[r*kc:]
		if rows-r >= w && fast != nil {
			fast(d, src, off+r*ld, ld, kc)
			continue
		}
		packTGo(d, src, off+r*ld, ld, 0, kc, min(w, rows-r), w)
	}
}

// packColsK packs an operand whose w values for one p are contiguous —
// element (r, p) at src[off + p·ld + r] — into w-wide panels (layout as
// packRowsK).
func packColsK(fast func(dst, src []float32, off, ld, kc int), dst, src []float32, off, ld, rows, kc, w int) {
	for r := 0; r < rows; r += w {
		d := dst[r*kc:]
		if rows-r >= w && fast != nil {
			fast(d, src, off+r, ld, kc)
			continue
		}
		packCopy(d, src, off+r, ld, kc, min(w, rows-r), w)
	}
}

// packCopy packs a panel whose w-wide rows are contiguous in src:
// dst[p·w + i] = src[off + p·ld + i] for i < cols, zero for cols ≤ i < w,
// p < kc.
func packCopy(dst, src []float32, off, ld, kc, cols, w int) {
	dst = dst[:kc*w]
	for p := 0; p < kc; p++ {
		d := dst[p*w : p*w+w]
		copy(d, src[off+p*ld:off+p*ld+cols])
		clear(d[cols:])
	}
}

// packTGo packs a panel from rows that run along k: dst[p·w + i] =
// src[off + i·ld + p] for i < rows, zero for rows ≤ i < w, p0 ≤ p < p1.
func packTGo(dst, src []float32, off, ld, p0, p1, rows, w int) {
	if p0 >= p1 {
		return
	}
	dst = dst[:p1*w]
	for i := 0; i < rows; i++ {
		s := src[off+i*ld+p0 : off+i*ld+p1]
		for p, v := range s {
			dst[(p0+p)*w+i] = v
		}
	}
	for i := rows; i < w; i++ {
		for p := p0; p < p1; p++ {
			dst[p*w+i] = 0
		}
	}
}

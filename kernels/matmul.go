package kernels

// The three matrix-product forms the forward and backward passes need, on
// dense row-major float32 matrices. Where the CPU has an assembly
// micro-kernel they run the blocked, packed GEMM of gemm.go; otherwise (and
// after SetAssembly(false)) the pure-Go kernels below, which are also the
// reference the assembly path is tested against.

// MatMulNT computes c[m×n] (+)= a[m×k] · b[n×k]ᵀ. With acc false c is
// overwritten, otherwise added to. Linear layers store weights as (out, in),
// so a forward projection is this form.
func MatMulNT(c, a, b []float32, m, n, k int, acc bool) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		if !acc {
			clear(c[:m*n])
		}
		return
	}
	_ = c[m*n-1]
	_ = a[m*k-1]
	_ = b[n*k-1]
	if ar := arch(); ar != nil {
		gemm(ar, formNT, c, a, b, m, n, k, acc)
		return
	}
	matMulNTGo(c, a, b, m, n, k, acc)
}

// matMulNTGo is the pure-Go MatMulNT (dimensions ≥ 1, lengths checked).
func matMulNTGo(c, a, b []float32, m, n, k int, acc bool) {
	RunPooled(&matMulJobs, (m+1)/2, int64(m)*int64(n)*int64(k), matMulJob{c: c, a: a, b: b, m: m, n: n, k: k, acc: acc})
}

// matMulJob is one pure-Go matrix product, split by rows of c: for
// matMulNTGo unit i is rows 2i and 2i+1, otherwise row i.
type matMulJob struct {
	form    gemmForm
	c, a, b []float32
	m, n, k int
	acc     bool
}

var matMulJobs JobPool[matMulJob]

func (j *matMulJob) Range(lo, hi int) {
	switch j.form {
	case formNT:
		matMulNTRows(j.c, j.a, j.b, j.m, j.n, j.k, j.acc, lo, hi)
	case formNN:
		matMulNNRows(j.c, j.a, j.b, j.m, j.n, j.k, lo, hi)
	default:
		matMulTNRows(j.c, j.a, j.b, j.m, j.n, j.k, lo, hi)
	}
}

// matMulNTRows computes row pairs [lo, hi) of matMulNTGo.
func matMulNTRows(c, a, b []float32, m, n, k int, acc bool, lo, hi int) {
	const jb = 64 // rows of b kept hot in cache while rows of a stream past
	for j0 := 0; j0 < n; j0 += jb {
		j1 := min(j0+jb, n)
		for i := 2 * lo; i < min(2*hi, m); i += 2 {
			a0 := a[i*k : i*k+k]
			if i+1 < m {
				a1 := a[(i+1)*k : (i+1)*k+k]
				c0 := c[i*n : i*n+n]
				c1 := c[(i+1)*n : (i+1)*n+n]
				j := j0
				for ; j+4 <= j1; j += 4 {
					s00, s01, s02, s03, s10, s11, s12, s13 := dot2x4(a0, a1, b[j*k:(j+1)*k], b[(j+1)*k:(j+2)*k], b[(j+2)*k:(j+3)*k], b[(j+3)*k:(j+4)*k])
					if acc {
						c0[j] += s00
						c0[j+1] += s01
						c0[j+2] += s02
						c0[j+3] += s03
						c1[j] += s10
						c1[j+1] += s11
						c1[j+2] += s12
						c1[j+3] += s13
					} else {
						c0[j], c0[j+1], c0[j+2], c0[j+3] = s00, s01, s02, s03
						c1[j], c1[j+1], c1[j+2], c1[j+3] = s10, s11, s12, s13
					}
				}
				for ; j < j1; j++ {
					bj := b[j*k : (j+1)*k]
					s0, s1 := dotGo(a0, bj), dotGo(a1, bj)
					if acc {
						c0[j] += s0
						c1[j] += s1
					} else {
						c0[j], c1[j] = s0, s1
					}
				}
			} else {
				c0 := c[i*n : i*n+n]
				for j := j0; j < j1; j++ {
					s := dotGo(a0, b[j*k:(j+1)*k])
					if acc {
						c0[j] += s
					} else {
						c0[j] = s
					}
				}
			}
		}
	}
}

// dot returns Σ x[i]·y[i] over len(x) (y at least as long), with the
// assembly kernel where there is one.
func dot(x, y []float32) float32 {
	if ar := arch(); ar != nil {
		return ar.dot(x, y)
	}
	return dotGo(x, y)
}

// dotGo is the pure-Go dot: four interleaved partial sums.
func dotGo(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// dot2x4 returns the eight dot products of rows a0, a1 with rows b0..b3.
func dot2x4(a0, a1, b0, b1, b2, b3 []float32) (s00, s01, s02, s03, s10, s11, s12, s13 float32) {
	k := len(a0)
	a1 = a1[:k]
	b0 = b0[:k]
	b1 = b1[:k]
	b2 = b2[:k]
	b3 = b3[:k]
	for p := 0; p < k; p++ {
		x0, x1 := a0[p], a1[p]
		y0, y1, y2, y3 := b0[p], b1[p], b2[p], b3[p]
		s00 += x0 * y0
		s01 += x0 * y1
		s02 += x0 * y2
		s03 += x0 * y3
		s10 += x1 * y0
		s11 += x1 * y1
		s12 += x1 * y2
		s13 += x1 * y3
	}
	return
}

// MatMulNN computes c[m×n] += a[m×k] · b[k×n].
func MatMulNN(c, a, b []float32, m, n, k int) { MatMulNNTo(c, a, b, m, n, k, true) }

// MatMulNNTo computes c[m×n] (+)= a[m×k] · b[k×n]: with acc false c is
// overwritten (no need to clear it first), otherwise added to. Each element
// gets the same sums either way; overwriting stores them where adding
// would add them to zero (the two differ only in the sign of a zero sum).
func MatMulNNTo(c, a, b []float32, m, n, k int, acc bool) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		if !acc {
			clear(c[:m*n])
		}
		return
	}
	_ = c[m*n-1]
	_ = a[m*k-1]
	_ = b[k*n-1]
	ar := arch()
	if !acc && ar == nil {
		// The pure-Go kernel only adds.
		clear(c[:m*n])
	}
	if ar != nil {
		gemm(ar, formNN, c, a, b, m, n, k, acc)
		return
	}
	matMulNNGo(c, a, b, m, n, k)
}

// matMulNNGo is the pure-Go MatMulNN (dimensions ≥ 1, lengths checked).
func matMulNNGo(c, a, b []float32, m, n, k int) {
	RunPooled(&matMulJobs, m, int64(m)*int64(n)*int64(k), matMulJob{form: formNN, c: c, a: a, b: b, m: m, n: n, k: k})
}

// matMulNNRows computes rows [lo, hi) of matMulNNGo.
func matMulNNRows(c, a, b []float32, m, n, k int, lo, hi int) {
	for i := lo; i < hi; i++ {
		ci := c[i*n : i*n+n]
		ai := a[i*k : i*k+k]
		p := 0
		for ; p+4 <= k; p += 4 {
			axpy4(ci, ai[p], ai[p+1], ai[p+2], ai[p+3], b[p*n:p*n+n], b[(p+1)*n:(p+1)*n+n], b[(p+2)*n:(p+2)*n+n], b[(p+3)*n:(p+3)*n+n])
		}
		for ; p < k; p++ {
			axpyGo(ci, ai[p], b[p*n:p*n+n])
		}
	}
}

// MatMulTN computes c[m×n] += a[k×m]ᵀ · b[k×n]. A weight gradient
// dW[out×in] += doutᵀ · inp is this form.
func MatMulTN(c, a, b []float32, m, n, k int) {
	if m == 0 || n == 0 || k == 0 {
		return
	}
	_ = c[m*n-1]
	_ = a[k*m-1]
	_ = b[k*n-1]
	if ar := arch(); ar != nil {
		gemm(ar, formTN, c, a, b, m, n, k, true)
		return
	}
	matMulTNGo(c, a, b, m, n, k)
}

// matMulTNGo is the pure-Go MatMulTN (dimensions ≥ 1, lengths checked).
func matMulTNGo(c, a, b []float32, m, n, k int) {
	RunPooled(&matMulJobs, m, int64(m)*int64(n)*int64(k), matMulJob{form: formTN, c: c, a: a, b: b, m: m, n: n, k: k})
}

// matMulTNRows computes rows [lo, hi) of matMulTNGo.
func matMulTNRows(c, a, b []float32, m, n, k int, lo, hi int) {
	for i := lo; i < hi; i++ {
		ci := c[i*n : i*n+n]
		p := 0
		for ; p+4 <= k; p += 4 {
			axpy4(ci, a[p*m+i], a[(p+1)*m+i], a[(p+2)*m+i], a[(p+3)*m+i], b[p*n:p*n+n], b[(p+1)*n:(p+1)*n+n], b[(p+2)*n:(p+2)*n+n], b[(p+3)*n:(p+3)*n+n])
		}
		for ; p < k; p++ {
			axpyGo(ci, a[p*m+i], b[p*n:p*n+n])
		}
	}
}

// axpy computes y += a·x over len(y) (x at least as long), with the
// assembly kernel where there is one.
func axpy(y []float32, a float32, x []float32) {
	if ar := arch(); ar != nil {
		ar.axpy(y, a, x)
		return
	}
	axpyGo(y, a, x)
}

// axpyGo is the pure-Go axpy.
func axpyGo(y []float32, a float32, x []float32) {
	x = x[:len(y)]
	for i := range y {
		y[i] += a * x[i]
	}
}

func axpy4(y []float32, a0, a1, a2, a3 float32, x0, x1, x2, x3 []float32) {
	n := len(y)
	x0 = x0[:n]
	x1 = x1[:n]
	x2 = x2[:n]
	x3 = x3[:n]
	for i := range y {
		y[i] += a0*x0[i] + a1*x1[i] + a2*x2[i] + a3*x3[i]
	}
}

// Package stload fills a model's weights from safetensors tensors a chunk
// of rows at a time, in the type the model stores them in (see
// model.NewInference): bf16 values are copied as stored into a bf16 model,
// other floating-point values are decoded to float32 and then copied,
// rounded to bf16 or quantized to int8 row by row by the model. The
// tensors' bytes come from memory or are read from the file on demand
// (safetensors.Reader), so loading needs at most a chunk of scratch beside
// the model itself. Non-finite values are refused.
package stload

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/safetensors"
)

// chunkValues bounds the values decoded at once (a variable for the
// tests).
var chunkValues = 1 << 18

// Source is one stored tensor: its header and where its bytes are.
type Source struct {
	T safetensors.Tensor  // name, dtype, shape; Data holds the bytes when R is nil
	R *safetensors.Reader // the file to read them from, or nil
}

// Len is the number of values the tensor holds.
func (s Source) Len() int { return s.T.NumElements() }

// read reads len(dst) bytes from byte off of the tensor's data.
func (s Source) read(off int64, dst []byte) error {
	if s.R != nil {
		return s.R.ReadData(s.T.Name, off, dst)
	}
	n := int64(s.Len()) * int64(s.T.DType.Size())
	if int64(len(s.T.Data)) != n {
		return fmt.Errorf("tensor %q has %d bytes of data, want %d for dtype %s and shape [%s]", s.T.Name, len(s.T.Data), n, s.T.DType, model.ShapeString(s.T.Shape))
	}
	copy(dst, s.T.Data[off:off+int64(len(dst))])
	return nil
}

// Loader fills models, reusing its scratch from one tensor to the next.
type Loader struct {
	raw   []byte
	h     []uint16
	f     []float32
	whole []float32 // Float32s
}

// chunks calls fn for consecutive runs of whole rows of src (the last
// dimension is a row; a vector is one row) of at most about chunkValues
// values: first the run's first value, then its raw bytes.
func (l *Loader) chunks(src Source, fn func(first int, raw []byte) error) error {
	n, size := src.Len(), src.T.DType.Size()
	if n < 0 || size == 0 {
		return fmt.Errorf("tensor %q: bad dtype %s or shape [%s]", src.T.Name, src.T.DType, model.ShapeString(src.T.Shape))
	}
	cols := n
	if k := len(src.T.Shape); k >= 2 {
		cols = src.T.Shape[k-1]
	}
	step := n
	if cols > 0 && n > chunkValues {
		step = max(1, chunkValues/cols) * cols
	}
	for first := 0; first < n; first += step {
		k := min(step, n-first)
		if cap(l.raw) < k*size {
			l.raw = make([]byte, k*size)
		}
		raw := l.raw[:k*size]
		if err := src.read(int64(first)*int64(size), raw); err != nil {
			return err
		}
		if err := fn(first, raw); err != nil {
			return err
		}
	}
	return nil
}

// floats decodes raw (dtype dt) into the loader's float32 scratch,
// refusing a non-finite value (label names the tensor, first is the
// chunk's first element).
func (l *Loader) floats(dt safetensors.DType, raw []byte, label string, first int) ([]float32, error) {
	k := len(raw) / dt.Size()
	if cap(l.f) < k {
		l.f = make([]float32, k)
	}
	v := l.f[:k]
	safetensors.DecodeFloat32s(v, dt, raw)
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, fmt.Errorf("%s holds a non-finite value (%g at element %d)", label, x, first+i)
		}
	}
	return v, nil
}

// checkFloat refuses a tensor whose values are not floating point.
func checkFloat(src Source, label string) error {
	if !src.T.DType.IsFloat() {
		return fmt.Errorf("%s has dtype %s; want a floating-point type (F32, F16, BF16)", label, src.T.DType)
	}
	return nil
}

// Fill writes the values of src (F32, F16, BF16 or F64) into the
// elements from off of m's tensor name, in the type m stores it in. label
// names the tensor in errors (e.g. its name in the file).
func (l *Loader) Fill(m *model.Model, name string, off int, src Source, label string) error {
	if err := checkFloat(src, label); err != nil {
		return err
	}
	// BF16 values go in as bits only where the model keeps bf16; for a
	// float32 or int8 model they are widened here, into the reused scratch.
	asBits := src.T.DType == safetensors.BF16 && m.DType() == model.BF16
	return l.chunks(src, func(first int, raw []byte) error {
		if !asBits {
			v, err := l.floats(src.T.DType, raw, label, first)
			if err != nil {
				return err
			}
			return m.SetFloat32(name, off+first, v)
		}
		k := len(raw) / 2
		if cap(l.h) < k {
			l.h = make([]uint16, k)
		}
		h := l.h[:k]
		for i := range h {
			h[i] = binary.LittleEndian.Uint16(raw[2*i:])
			if h[i]&0x7f80 == 0x7f80 {
				return fmt.Errorf("%s holds a non-finite value (%g at element %d)", label, math.Float32frombits(uint32(h[i])<<16), first+i)
			}
		}
		return m.SetBF16(name, off+first, h)
	})
}

// FirstDiff compares the float32 values of two tensors of the same number
// of elements bitwise, returning the first index where they differ and
// the two values there, or -1 when they are the same.
func FirstDiff(a, b Source) (int, float32, float32, error) {
	if a.Len() != b.Len() {
		return 0, 0, 0, fmt.Errorf("tensors %q and %q have %d and %d values", a.T.Name, b.T.Name, a.Len(), b.Len())
	}
	for _, t := range []Source{a, b} {
		if err := checkFloat(t, t.T.Name); err != nil {
			return 0, 0, 0, err
		}
	}
	var la, lb Loader
	var va []float32
	diff, x, y := -1, float32(0), float32(0)
	// Walk a in chunks, reading the same elements of b.
	err := la.chunks(a, func(first int, raw []byte) error {
		if diff >= 0 {
			return nil
		}
		k := len(raw) / a.T.DType.Size()
		if cap(va) < k {
			va = make([]float32, k)
		}
		va = va[:k]
		safetensors.DecodeFloat32s(va, a.T.DType, raw)
		size := b.T.DType.Size()
		if cap(lb.raw) < k*size {
			lb.raw = make([]byte, k*size)
		}
		if err := b.read(int64(first)*int64(size), lb.raw[:k*size]); err != nil {
			return err
		}
		if cap(lb.f) < k {
			lb.f = make([]float32, k)
		}
		vb := lb.f[:k]
		safetensors.DecodeFloat32s(vb, b.T.DType, lb.raw[:k*size])
		for i := range va {
			if math.Float32bits(va[i]) != math.Float32bits(vb[i]) {
				diff, x, y = first+i, va[i], vb[i]
				return nil
			}
		}
		return nil
	})
	return diff, x, y, err
}

// Float32s decodes the whole of src (F32, F16, BF16 or F64), refusing a
// non-finite value, for a tensor that must be rearranged before it is set
// (a transpose). The slice is the loader's scratch, reused by the next
// call, so a load leaves no tensor-sized garbage behind (which would pile
// up to the collector's target of twice the model). label names the
// tensor in errors.
func (l *Loader) Float32s(src Source, label string) ([]float32, error) {
	if err := checkFloat(src, label); err != nil {
		return nil, err
	}
	n := max(src.Len(), 0)
	if cap(l.whole) < n {
		l.whole = make([]float32, n)
	}
	out := l.whole[:n]
	err := l.chunks(src, func(first int, raw []byte) error {
		v, err := l.floats(src.T.DType, raw, label, first)
		copy(out[first:], v)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

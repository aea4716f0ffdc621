package model

import (
	"errors"
	"fmt"

	"github.com/tformer/tformer/kernels"
)

// ErrDType is wrapped by the errors of NewInference and Quantize for a
// model that cannot run in the dtype asked for (a narrow dtype for an
// encoder or an encoder–decoder).
var ErrDType = errors.New("the model cannot run in this dtype")

// dtypeError is an error that wraps ErrDType.
type dtypeError string

func (e dtypeError) Error() string        { return string(e) }
func (e dtypeError) Is(target error) bool { return target == ErrDType }

// CheckDType says whether a model of config c can run with its weights in
// dt: every dtype for decoders, f32 only for encoders and encoder–decoders
// (the error wraps ErrDType). Loaders call it before reading any weights.
func CheckDType(c Config, dt DType) error {
	switch {
	case dt > Int8:
		return fmt.Errorf("unknown dtype %d", dt)
	case dt != F32 && c.IsEncoder():
		return dtypeError(fmt.Sprintf("%s weights are for decoders; an encoder runs in f32", dt))
	case dt != F32 && c.IsEncDec():
		return dtypeError(fmt.Sprintf("%s weights are for decoders; an encoder-decoder runs in f32", dt))
	}
	return nil
}

// NewInference allocates a model of config c for inference only, its
// weights already in dt and laid out exactly as Quantize(dt) leaves a
// model: for BF16 and Int8 a float32 slab for the tensors that stay
// float32 (see Narrowed) and bf16 or int8 storage (with a scale per row)
// for the narrowed ones; for F32 the float32 parameters, without
// gradients. The weights are zero; fill them with SetFloat32 and SetBF16,
// tensor by tensor, as the checkpoint and Hugging Face loaders do, so a
// model read from a file never holds a float32 copy of its narrowed
// weights. Like Quantize it refuses a narrow dt for an encoder or an
// encoder–decoder. The model runs Forward and its Decoder; Backward
// refuses.
func NewInference(c Config, dt DType) (*Model, error) {
	if err := CheckDType(c, dt); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c = c.Canonical()
	if c.IsEncDec() {
		// An encoder–decoder's views are built over both slabs; drop the
		// gradients once they are.
		m, err := New(c)
		if err != nil {
			return nil, err
		}
		return m, m.Quantize(F32)
	}
	l := NewLayout(c)
	m := &Model{Config: c, Layout: l, dtype: dt, inference: true}
	if c.Rotary() {
		m.ropeCos, m.ropeSin = kernels.RopeTable(kernels.RopeFreqs(c.HeadDim(), c.Theta(), c.RopeScale()), c.MaxSeq)
	}
	if dt == F32 {
		m.Params = make([]float32, l.Total)
		m.p = m.views(m.Params)
		return m, nil
	}
	small := 0
	for _, t := range l.Tensors {
		if !Narrowed(t) {
			small += t.Size
		}
	}
	low := map[string]*lowMat{}
	slab := make([]float32, small)
	at := map[string][]float32{}
	off := 0
	for _, t := range l.Tensors {
		if !Narrowed(t) {
			at[t.Name] = slab[off : off+t.Size : off+t.Size]
			off += t.Size
			continue
		}
		w := &lowMat{rows: t.Shape[0], cols: t.Shape[1]}
		if dt == BF16 {
			w.h = make([]uint16, t.Size)
		} else {
			w.q, w.s = make([]int8, t.Size), make([]float32, w.rows)
		}
		low[t.Name] = w
	}
	m.setNarrow(low, slab, at)
	return m, nil
}

// target returns the named tensor's storage and checks that n values
// from element off fit in it and, for an int8 matrix, cover whole rows.
func (m *Model) target(name string, off, n int) (TensorInfo, *lowMat, []float32, error) {
	t, ok := m.Layout.Lookup(name)
	if !ok {
		return t, nil, nil, fmt.Errorf("the model has no tensor %q", name)
	}
	if off < 0 || n < 0 || off > t.Size || n > t.Size-off {
		return t, nil, nil, fmt.Errorf("%d values at element %d do not fit tensor %q of %d", n, off, name, t.Size)
	}
	switch {
	case m.Params != nil:
		return t, nil, m.Params[t.Offset+off : t.Offset+off+n], nil
	case m.low[name] != nil:
		w := m.low[name]
		if w.q != nil && (off%w.cols != 0 || n%w.cols != 0) {
			return t, nil, nil, fmt.Errorf("int8 tensor %q is set in whole rows of %d values, not %d at element %d", name, w.cols, n, off)
		}
		return t, w, nil, nil
	case m.smallAt != nil:
		return t, nil, m.smallAt[name][off : off+n], nil
	}
	return t, nil, nil, errors.New("the model holds no parameters")
}

// SetFloat32 writes v into elements [off, off+len(v)) of the named tensor
// (row-major) in the type the model stores it in: copied when float32,
// rounded to nearest even when bf16 (kernels.ToBF16), quantized row by row
// when int8 (kernels.QuantizeInt8Rows; off and len(v) must then be whole
// rows, and a non-finite value is an error). The result is what Quantize
// makes of the same values, since each row's scale depends on that row
// alone.
func (m *Model) SetFloat32(name string, off int, v []float32) error {
	_, w, f, err := m.target(name, off, len(v))
	if err != nil {
		return err
	}
	switch {
	case w == nil:
		copy(f, v)
	case w.h != nil:
		kernels.ToBF16(w.h[off:off+len(v)], v)
	default:
		r0, rows := off/w.cols, len(v)/w.cols
		if err := kernels.QuantizeInt8Rows(w.q[off:off+len(v)], w.s[r0:r0+rows], v, rows, w.cols); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// SetBF16 writes the bfloat16 values h (their bits) into elements
// [off, off+len(h)) of the named tensor: their bits as they are when the
// tensor is stored in bf16, widened (exactly) when float32, widened into
// a temporary float32 copy of h and quantized when int8 (whole rows, as
// SetFloat32; a loader filling many int8 tensors does better to widen
// into scratch of its own and call SetFloat32).
func (m *Model) SetBF16(name string, off int, h []uint16) error {
	_, w, f, err := m.target(name, off, len(h))
	if err != nil {
		return err
	}
	switch {
	case w == nil:
		kernels.FromBF16(f, h)
	case w.h != nil:
		copy(w.h[off:], h)
	default:
		v := make([]float32, len(h))
		kernels.FromBF16(v, h)
		return m.SetFloat32(name, off, v)
	}
	return nil
}

// Weights is a read-only view of one stored tensor in the type the model
// holds it in: F32, or BF16 (the bits), or Int8 with one Scale per row.
// Exactly one of F32, BF16 and Int8 is set.
type Weights struct {
	F32   []float32
	BF16  []uint16
	Int8  []int8
	Scale []float32
}

// Weights returns the named tensor as the model stores it (views, not
// copies: do not modify them), or false when the model has no such
// tensor.
func (m *Model) Weights(name string) (Weights, bool) {
	t, ok := m.Layout.Lookup(name)
	if !ok {
		return Weights{}, false
	}
	switch {
	case m.Params != nil:
		return Weights{F32: m.Params[t.Offset : t.Offset+t.Size]}, true
	case m.low[name] != nil:
		w := m.low[name]
		return Weights{BF16: w.h, Int8: w.q, Scale: w.s}, true
	case m.smallAt != nil:
		return Weights{F32: m.smallAt[name]}, true
	}
	return Weights{}, false
}

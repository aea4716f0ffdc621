package model

import (
	"fmt"
	"strings"

	"github.com/tformer/tformer/kernels"
)

// DType is the storage type of a model's weight matrices for inference.
// Activations, sums, norms, biases, the position table and the key/value
// cache are float32 whatever the DType.
type DType uint8

// The weight types a model can run in (see Model.Quantize).
const (
	F32  DType = iota // float32, as trained
	BF16              // bfloat16: the upper half of each float32, rounded to nearest even
	Int8              // int8 with one float32 scale per matrix row (symmetric, max|w|/127)
)

// DTypeNames lists the names ParseDType accepts first, in DType order.
var DTypeNames = []string{"f32", "bf16", "int8"}

// String is the dtype's name: f32, bf16 or int8.
func (d DType) String() string {
	if int(d) < len(DTypeNames) {
		return DTypeNames[d]
	}
	return fmt.Sprintf("DType(%d)", d)
}

// ParseDType reads a dtype name: f32 (or fp32, float32), bf16 (or
// bfloat16) or int8.
func ParseDType(s string) (DType, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "f32", "fp32", "float32":
		return F32, nil
	case "bf16", "bfloat16":
		return BF16, nil
	case "int8", "i8":
		return Int8, nil
	}
	return 0, fmt.Errorf("unknown dtype %q (want f32, bf16 or int8)", s)
}

// Narrowed reports whether a tensor is stored in the model's dtype when it
// is not F32: every weight matrix a linear layer multiplies (qkv, output
// projection, FFN up/gate/down, the factorized embedding projection, the
// output head's dense layer, lm_head) and the token table wte, which is the
// output projection too when tied and is read row by row for the lookup.
// Vectors (norm gains, biases) and the position table stay float32.
func Narrowed(t TensorInfo) bool {
	return len(t.Shape) == 2 && t.Name != "wpe" && t.Name != "wtt"
}

// WeightBytes is the memory of c's stored parameters in dtype dt, as
// Quantize lays them out: narrowed tensors at 4, 2 or 1 bytes a value plus,
// for int8, one float32 scale per row; the other tensors at 4 bytes a value.
func WeightBytes(c Config, dt DType) int64 {
	return NarrowBytes(int64(NewLayout(c.Canonical()).Total), c, dt)
}

// NarrowedValues returns how many of c's stored parameters are in narrowed
// tensors (see Narrowed) and how many rows those tensors have (one int8
// scale each).
func NarrowedValues(c Config) (values, rows int64) {
	for _, t := range NewLayout(c.Canonical()).Tensors {
		if Narrowed(t) {
			values += int64(t.Size)
			rows += int64(t.Shape[0])
		}
	}
	return values, rows
}

// NarrowBytes is the weight memory in dtype dt of a model of config c
// storing total parameters (c's own, or a count that includes tensors
// the engine does not hold, which stay float32).
func NarrowBytes(total int64, c Config, dt DType) int64 {
	vals, rows := NarrowedValues(c)
	switch dt {
	case BF16:
		return 4*total - 2*vals
	case Int8:
		return 4*total - 3*vals + 4*rows
	}
	return 4 * total
}

// lowMat is one narrowed weight matrix [rows × cols], row-major: bf16
// values, or int8 values with a scale per row.
type lowMat struct {
	h          []uint16
	q          []int8
	s          []float32
	rows, cols int
}

// bytes is the memory the matrix holds.
func (w *lowMat) bytes() int64 {
	return 2*int64(len(w.h)) + int64(len(w.q)) + 4*int64(len(w.s))
}

// row widens row r into dst (cols values).
func (w *lowMat) row(dst []float32, r int) {
	c := w.cols
	if w.h != nil {
		kernels.FromBF16(dst[:c], w.h[r*c:(r+1)*c])
		return
	}
	kernels.DequantizeInt8Rows(dst[:c], w.q[r*c:(r+1)*c], w.s[r:r+1], 1, c)
}

// DType is the type the model's weight matrices are stored in.
func (m *Model) DType() DType { return m.dtype }

// Quantize converts the model for inference with its weight matrices in dt
// (see Narrowed): BF16 rounds them to nearest even, Int8 quantizes each row
// with its own scale (kernels.QuantizeInt8Rows). The float32 parameters
// are then dropped: Params holds nothing, the remaining float32 tensors
// (norms, biases, positions) move to a slab of their own, and Grads, which
// inference does not need, is released whatever dt is (F32 keeps Params
// and only releases Grads). Afterwards the model runs Forward (logits and
// loss) and its Decoder with kernels that read the narrow weights; Backward
// refuses, and Param returns nil. Memory peaks during the conversion at the
// float32 parameters plus the narrow copy, then settles at WeightBytes.
// An encoder can only be converted to F32. It returns an error, changing
// nothing, for a model already converted, an unknown dt, or a weight that
// is not finite (int8).
func (m *Model) Quantize(dt DType) error {
	if m.inference {
		return fmt.Errorf("quantize: the model is already converted for inference (%s)", m.dtype)
	}
	if err := CheckDType(m.Config, dt); err != nil {
		return fmt.Errorf("quantize: %w", err)
	}
	if dt == F32 {
		m.Grads, m.g, m.inference = nil, views{}, true
		return nil
	}
	low := map[string]*lowMat{}
	small := 0
	for _, t := range m.Layout.Tensors {
		if !Narrowed(t) {
			small += t.Size
			continue
		}
		w := &lowMat{rows: t.Shape[0], cols: t.Shape[1]}
		src := m.Params[t.Offset : t.Offset+t.Size]
		if dt == BF16 {
			w.h = make([]uint16, t.Size)
			kernels.ToBF16(w.h, src)
		} else {
			w.q, w.s = make([]int8, t.Size), make([]float32, w.rows)
			if err := kernels.QuantizeInt8Rows(w.q, w.s, src, w.rows, w.cols); err != nil {
				return fmt.Errorf("quantize %s: %w", t.Name, err)
			}
		}
		low[t.Name] = w
	}
	slab := make([]float32, 0, small)
	at := map[string][]float32{}
	for _, t := range m.Layout.Tensors {
		if !Narrowed(t) {
			off := len(slab)
			slab = append(slab, m.Params[t.Offset:t.Offset+t.Size]...)
			at[t.Name] = slab[off:len(slab):len(slab)]
		}
	}
	m.Params, m.Grads, m.g = nil, nil, views{}
	m.setNarrow(low, slab, at)
	m.dtype, m.inference = dt, true
	return nil
}

// setNarrow makes the model read its weights from the narrow matrices low
// and the float32 tensors at (views into slab) by tensor name.
func (m *Model) setNarrow(low map[string]*lowMat, slab []float32, at map[string][]float32) {
	m.small, m.smallAt = slab, at
	m.p = m.viewsBy(func(name string) []float32 { return at[name] })
	lw := func(name string) *lowMat {
		if w, ok := low[name]; ok {
			return w
		}
		return nil
	}
	m.p.wteq, m.p.eprojq, m.p.hdq = lw("wte"), lw("embed_proj.w"), lw("head.dense.w")
	m.p.headq = m.p.wteq
	if !m.Config.Tie {
		m.p.headq = lw("lm_head")
	}
	for i := range m.p.attn {
		p := fmt.Sprintf("attn.%d.", i)
		m.p.attn[i].qkvq, m.p.attn[i].projq = lw(p+"qkv.w"), lw(p+"proj.w")
	}
	for i := range m.p.ffn {
		p := fmt.Sprintf("ffn.%d.", i)
		m.p.ffn[i].upq, m.p.ffn[i].downq, m.p.ffn[i].gateq = lw(p+"up.w"), lw(p+"down.w"), lw(p+"gate.w")
	}
	m.low = low
}

// WeightBytes is the memory the model's stored parameters hold now: the
// float32 slab, or after Quantize the narrow matrices, their scales and
// the float32 remainder (Grads not counted).
func (m *Model) WeightBytes() int64 {
	if m.dtype == F32 {
		return 4 * int64(len(m.Params))
	}
	n := 4 * int64(len(m.small))
	for _, w := range m.low {
		n += w.bytes()
	}
	return n
}

// linear is kernels.LinearForward over a weight matrix that is float32 (w)
// or narrow (lw, when not nil).
func linear(cnt *kernels.Counter, comp kernels.Component, out, inp, w []float32, lw *lowMat, bias, res []float32, n, in, o int) {
	switch {
	case lw == nil:
		kernels.LinearForward(cnt, comp, out, inp, w, bias, res, n, in, o)
	case lw.h != nil:
		kernels.LinearForwardBF16(cnt, comp, out, inp, lw.h, bias, res, n, in, o)
	default:
		kernels.LinearForwardInt8(cnt, comp, out, inp, lw.q, lw.s, bias, res, n, in, o)
	}
}

// lookupLow writes the token rows of a narrow wte into out (rows of e),
// then scales them by mult (when not 1) and adds the position rows of wpe
// (when not nil) as the float32 lookup kernels do, counting the same FLOPs
// (the widening is part of reading the table, as it is of a product).
func lookupLow(cnt *kernels.Counter, out []float32, wte *lowMat, wpe []float32, tokens []int32, t, e, pos int, mult float32, scaled bool) {
	for r, tok := range tokens {
		o := out[r*e : (r+1)*e]
		wte.row(o, int(tok))
		if scaled && mult != 1 {
			for j := range o {
				o[j] *= mult
			}
		}
		if wpe != nil {
			p := wpe[(pos+r%t)*e : (pos+r%t+1)*e]
			for j := range o {
				o[j] += p[j]
			}
		}
	}
	per := int64(kernels.FlopsEmbeddingFwd)
	if scaled {
		per = kernels.ScaledEmbeddingFlops(false, wpe != nil, mult)
	}
	cnt.Add(kernels.Forward, kernels.Embedding, int64(len(tokens))*int64(e)*per)
}

// Package safetensors reads and writes files in the safetensors layout.
//
// A safetensors file consists of
//
//   - an 8-byte little-endian unsigned integer N, the length of the header;
//   - N bytes of JSON header: an object mapping each tensor name to
//     {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, plus an
//     optional key "__metadata__" mapping strings to strings;
//   - the data buffer. Offsets in the header are relative to the start of the
//     data buffer (byte 8+N). Tensor data is little-endian and row-major.
//
// Parse validates untrusted input thoroughly: it never panics and never
// allocates memory based on sizes that the input has not been checked to
// back. Encode produces deterministic output whose data buffer starts at an
// 8-byte aligned offset, like the Hugging Face writer does. WriteFile replaces
// files atomically.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"unicode/utf8"
)

// DType names the element type of a tensor, spelled as in the safetensors
// header (for example "F32").
type DType string

// Element types supported by this package.
const (
	F64  DType = "F64"  // IEEE 754 binary64
	F32  DType = "F32"  // IEEE 754 binary32
	F16  DType = "F16"  // IEEE 754 binary16 (half precision)
	BF16 DType = "BF16" // bfloat16: the upper 16 bits of a binary32
	I64  DType = "I64"  // signed 64-bit integer
	I32  DType = "I32"  // signed 32-bit integer
	I16  DType = "I16"  // signed 16-bit integer
	U16  DType = "U16"  // unsigned 16-bit integer
	I8   DType = "I8"   // signed 8-bit integer
	U8   DType = "U8"   // unsigned 8-bit integer
	Bool DType = "BOOL" // boolean stored as one byte per element
)

// IsFloat reports whether d is a floating-point type tformer reads as
// float32 (F32, F16, BF16 or F64).
func (d DType) IsFloat() bool {
	switch d {
	case F32, F16, BF16, F64:
		return true
	}
	return false
}

// Size returns the number of bytes per element of d, or 0 if d is not one of
// the DType constants of this package.
func (d DType) Size() int {
	switch d {
	case F64, I64:
		return 8
	case F32, I32:
		return 4
	case F16, BF16, I16, U16:
		return 2
	case I8, U8, Bool:
		return 1
	}
	return 0
}

// metadataKey is the reserved header key holding the string->string metadata.
const metadataKey = "__metadata__"

// maxHeaderSize caps the JSON header length accepted by Parse.
const maxHeaderSize = 100_000_000

// Tensor is a named n-dimensional array. Data holds the raw little-endian,
// row-major bytes of the elements; its length must be NumElements() times
// DType.Size(). A tensor with an empty Shape is a scalar with one element.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// NumElements returns the number of elements of t: the product of its
// dimensions, 1 for a scalar (empty Shape). It returns -1 if the shape has a
// negative dimension or the product overflows an int.
func (t Tensor) NumElements() int {
	n, err := numElements(t.Shape)
	if err != nil {
		return -1
	}
	return n
}

// numElements returns the product of shape, or an error if a dimension is
// negative or the product overflows an int. A shape with a zero dimension has
// zero elements regardless of its other dimensions.
func numElements(shape []int) (int, error) {
	for i, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension %d at index %d in shape %v", d, i, shape)
		}
	}
	if slices.Contains(shape, 0) {
		return 0, nil
	}
	n := 1
	for _, d := range shape {
		if n > math.MaxInt/d {
			return 0, fmt.Errorf("element count of shape %v overflows", shape)
		}
		n *= d
	}
	return n, nil
}

// byteSize returns the number of data bytes a tensor of the given dtype and
// shape occupies, checking the dtype, the shape and overflow.
func byteSize(dtype DType, shape []int) (int, error) {
	size := dtype.Size()
	if size == 0 {
		return 0, fmt.Errorf("unknown dtype %q", string(dtype))
	}
	n, err := numElements(shape)
	if err != nil {
		return 0, err
	}
	if n > math.MaxInt/size {
		return 0, fmt.Errorf("byte size of shape %v with dtype %s overflows", shape, dtype)
	}
	return n * size, nil
}

// checkData verifies that t.Data has exactly the length implied by t.DType
// and t.Shape and returns the element count.
func (t Tensor) checkData() (int, error) {
	nbytes, err := byteSize(t.DType, t.Shape)
	if err != nil {
		return 0, fmt.Errorf("safetensors: tensor %q: %v", t.Name, err)
	}
	if len(t.Data) != nbytes {
		return 0, fmt.Errorf("safetensors: tensor %q: data is %d bytes, want %d for dtype %s and shape %v",
			t.Name, len(t.Data), nbytes, t.DType, t.Shape)
	}
	return nbytes / t.DType.Size(), nil
}

// Float32s returns the elements of t as float32 values. F32 data is decoded
// directly; F16, BF16 and F64 are converted (F16 and BF16 exactly, F64 with
// the usual rounding of a Go conversion, so out-of-range values become ±Inf).
// It returns an error for integer and boolean dtypes and if the length of
// t.Data does not match t.Shape.
func (t Tensor) Float32s() ([]float32, error) {
	switch t.DType {
	case F32, F16, BF16, F64:
	default:
		return nil, fmt.Errorf("safetensors: tensor %q: cannot convert dtype %s to float32", t.Name, t.DType)
	}
	n, err := t.checkData()
	if err != nil {
		return nil, err
	}
	out := make([]float32, n)
	DecodeFloat32s(out, t.DType, t.Data)
	return out, nil
}

// DecodeFloat32s decodes the little-endian values of data, of dtype F32,
// F16, BF16 or F64, into dst as Float32s does, and returns how many it
// decoded: min(len(dst), len(data)/size). Other dtypes decode nothing.
func DecodeFloat32s(dst []float32, dtype DType, data []byte) int {
	size := dtype.Size()
	if size == 0 {
		return 0
	}
	n := min(len(dst), len(data)/size)
	out, d := dst[:n], data
	le := binary.LittleEndian
	switch dtype {
	case F32:
		for i := range out {
			out[i] = math.Float32frombits(le.Uint32(d[4*i:]))
		}
	case F16:
		for i := range out {
			out[i] = f16ToF32(le.Uint16(d[2*i:]))
		}
	case BF16:
		for i := range out {
			out[i] = math.Float32frombits(uint32(le.Uint16(d[2*i:])) << 16)
		}
	case F64:
		for i := range out {
			out[i] = float32(math.Float64frombits(le.Uint64(d[8*i:])))
		}
	default:
		return 0
	}
	return n
}

// f16ToF32 converts IEEE 754 binary16 bits to a float32. Every binary16 value,
// including subnormals, infinities and NaNs (with their payload), is exactly
// representable as a float32.
func f16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	case mant == 0: // signed zero
		return math.Float32frombits(sign)
	}
	// Subnormal: value = mant * 2^-24. Normalize so the leading 1 sits at bit
	// 10; each shift lowers the exponent by one below the minimum normal
	// binary16 exponent (-14).
	e := uint32(127 - 14)
	for mant&0x400 == 0 {
		mant <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (mant&0x3ff)<<13)
}

// Int32s returns the elements of t as int32 values. I32 data is decoded
// directly; I64, I16, U16, I8 and U8 are converted. It returns an error if an
// I64 value does not fit in an int32, for floating-point and boolean dtypes,
// and if the length of t.Data does not match t.Shape.
func (t Tensor) Int32s() ([]int32, error) {
	switch t.DType {
	case I32, I64, I16, U16, I8, U8:
	default:
		return nil, fmt.Errorf("safetensors: tensor %q: cannot convert dtype %s to int32", t.Name, t.DType)
	}
	n, err := t.checkData()
	if err != nil {
		return nil, err
	}
	out := make([]int32, n)
	d := t.Data
	le := binary.LittleEndian
	switch t.DType {
	case I32:
		for i := range out {
			out[i] = int32(le.Uint32(d[4*i:]))
		}
	case I64:
		for i := range out {
			v := int64(le.Uint64(d[8*i:]))
			if v < math.MinInt32 || v > math.MaxInt32 {
				return nil, fmt.Errorf("safetensors: tensor %q: element %d value %d does not fit in int32", t.Name, i, v)
			}
			out[i] = int32(v)
		}
	case I16:
		for i := range out {
			out[i] = int32(int16(le.Uint16(d[2*i:])))
		}
	case U16:
		for i := range out {
			out[i] = int32(le.Uint16(d[2*i:]))
		}
	case I8:
		for i := range out {
			out[i] = int32(int8(d[i]))
		}
	case U8:
		for i := range out {
			out[i] = int32(d[i])
		}
	}
	return out, nil
}

// FromFloat32 returns an F32 tensor with a copy of shape and data. It panics
// if shape is invalid (a negative dimension) or len(data) is not the product
// of shape; both are programmer errors.
func FromFloat32(name string, shape []int, data []float32) Tensor {
	checkLen("FromFloat32", shape, len(data))
	b := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return Tensor{Name: name, DType: F32, Shape: slices.Clone(shape), Data: b}
}

// FromInt32 returns an I32 tensor with a copy of shape and data. It panics if
// shape is invalid (a negative dimension) or len(data) is not the product of
// shape; both are programmer errors.
func FromInt32(name string, shape []int, data []int32) Tensor {
	checkLen("FromInt32", shape, len(data))
	b := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
	}
	return Tensor{Name: name, DType: I32, Shape: slices.Clone(shape), Data: b}
}

func checkLen(fn string, shape []int, n int) {
	want, err := numElements(shape)
	if err != nil {
		panic(fmt.Sprintf("safetensors.%s: %v", fn, err))
	}
	if n != want {
		panic(fmt.Sprintf("safetensors.%s: %d values for shape %v (want %d)", fn, n, shape, want))
	}
}

// File is the content of a safetensors file.
type File struct {
	// Metadata is the optional string->string "__metadata__" of the header.
	// Parse always sets it to a non-nil map.
	Metadata map[string]string
	// Tensors lists the tensors in file order. Parse sorts them by data
	// offset (tensors at equal offsets keep their header order); Encode
	// writes them contiguously in this order, so Parse(Encode(f)) returns
	// them in the same order.
	Tensors []Tensor
}

// Get returns the first tensor of f named name and whether one was found.
func (f *File) Get(name string) (Tensor, bool) {
	for _, t := range f.Tensors {
		if t.Name == name {
			return t, true
		}
	}
	return Tensor{}, false
}

// errDuplicateKey reports a JSON object with a repeated key.
type errDuplicateKey struct{ key string }

func (e errDuplicateKey) Error() string { return fmt.Sprintf("duplicate key %q", e.key) }

// decodeObject decodes data, which must hold exactly one JSON object
// (surrounded by optional whitespace), into its keys and raw values in
// document order. It rejects repeated keys with an errDuplicateKey.
func decodeObject(data []byte) ([]string, []json.RawMessage, error) {
	keys, vals, err := decodeObjectTokens(data)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = errors.New("unexpected end of JSON input")
	}
	return keys, vals, err
}

func decodeObjectTokens(data []byte) ([]string, []json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, errors.New("not a JSON object")
	}
	var keys []string
	var vals []json.RawMessage
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, nil, fmt.Errorf("unexpected object key %v", tok)
		}
		if seen[key] {
			return nil, nil, errDuplicateKey{key}
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, err
		}
		keys = append(keys, key)
		vals = append(vals, raw)
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, nil, err
	}
	if tok, err := dec.Token(); err != io.EOF {
		if err != nil {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("unexpected data after JSON object: %v", tok)
	}
	return keys, vals, nil
}

// isNull reports whether raw is the JSON literal null.
func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

// jsonKind names the JSON type of a raw value for error messages.
func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// decodeInts decodes a JSON array of integers that fit in an int64.
func decodeInts(raw json.RawMessage) ([]int64, error) {
	if k := jsonKind(raw); k != "array" {
		return nil, fmt.Errorf("is a JSON %s, want an array of integers", k)
	}
	var v []int64
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("is not an array of integers: %s", bytes.TrimSpace(raw))
	}
	return v, nil
}

// entry is a parsed header entry together with its data offsets.
type entry struct {
	t          Tensor
	begin, end int
}

// Parse decodes and validates a safetensors file held in b. The Data of the
// returned tensors aliases b (with capacity limited to the tensor's bytes).
// Bytes of the data buffer that belong to no tensor are allowed.
func Parse(b []byte) (*File, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("safetensors: file is %d bytes, too short for the 8-byte header length", len(b))
	}
	n := binary.LittleEndian.Uint64(b[:8])
	if n > maxHeaderSize {
		return nil, fmt.Errorf("safetensors: header length %d exceeds the limit of %d bytes", n, maxHeaderSize)
	}
	if n > uint64(len(b)-8) {
		return nil, fmt.Errorf("safetensors: header length %d exceeds the %d bytes remaining in the file", n, len(b)-8)
	}
	data := b[8+n:]
	f, entries, err := parseHeader(b[8:8+n], len(data))
	if err != nil {
		return nil, err
	}
	for i, e := range entries {
		f.Tensors[i].Data = data[e.begin:e.end:e.end]
	}
	return f, nil
}

// parseHeader decodes and validates a header against a data buffer of
// dataLen bytes, returning the file with its tensors (Data unset) sorted by
// offset and, in the same order, their entries.
func parseHeader(header []byte, dataLen int) (*File, []entry, error) {
	keys, vals, err := decodeObject(header)
	if err != nil {
		var dup errDuplicateKey
		if errors.As(err, &dup) {
			if dup.key == metadataKey {
				return nil, nil, fmt.Errorf("safetensors: invalid header: duplicate %q", metadataKey)
			}
			return nil, nil, fmt.Errorf("safetensors: invalid header: duplicate tensor name %q", dup.key)
		}
		return nil, nil, fmt.Errorf("safetensors: invalid header: %v", err)
	}

	f := &File{Metadata: map[string]string{}}
	entries := make([]entry, 0, len(keys))
	for i, key := range keys {
		raw := vals[i]
		if key == metadataKey {
			if err := parseMetadata(raw, f.Metadata); err != nil {
				return nil, nil, fmt.Errorf("safetensors: invalid %q: %v", metadataKey, err)
			}
			continue
		}
		e, err := parseEntry(key, raw, dataLen)
		if err != nil {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: %v", key, err)
		}
		entries = append(entries, e)
	}

	// Sort by offsets; the stable sort keeps header order among tensors at
	// equal offsets (only zero-size tensors can share them).
	slices.SortStableFunc(entries, func(x, y entry) int {
		if c := x.begin - y.begin; c != 0 {
			return c
		}
		return x.end - y.end
	})
	// Since entries are sorted by begin, a non-empty tensor overlaps an
	// earlier one iff it starts before the largest end seen so far.
	maxEnd, maxName := 0, ""
	for _, e := range entries {
		if e.begin == e.end {
			continue
		}
		if e.begin < maxEnd {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: data_offsets [%d %d] overlap tensor %q",
				e.t.Name, e.begin, e.end, maxName)
		}
		maxEnd, maxName = e.end, e.t.Name
	}

	f.Tensors = make([]Tensor, len(entries))
	for i, e := range entries {
		f.Tensors[i] = e.t
	}
	return f, entries, nil
}

// parseMetadata decodes the "__metadata__" value into m. null is treated as
// no metadata.
func parseMetadata(raw json.RawMessage, m map[string]string) error {
	if isNull(raw) {
		return nil
	}
	if k := jsonKind(raw); k != "object" {
		return fmt.Errorf("is a JSON %s, want an object of strings", k)
	}
	keys, vals, err := decodeObject(raw)
	if err != nil {
		return err
	}
	for i, k := range keys {
		if kind := jsonKind(vals[i]); kind != "string" {
			return fmt.Errorf("value of key %q is a JSON %s, want a string", k, kind)
		}
		var s string
		if err := json.Unmarshal(vals[i], &s); err != nil {
			return fmt.Errorf("value of key %q: %v", k, err)
		}
		m[k] = s
	}
	return nil
}

// parseEntry decodes and validates one tensor entry of the header against a
// data buffer of dataLen bytes. Data is left unset.
func parseEntry(name string, raw json.RawMessage, dataLen int) (entry, error) {
	if k := jsonKind(raw); k != "object" {
		return entry{}, fmt.Errorf("entry is a JSON %s, want an object", k)
	}
	keys, vals, err := decodeObject(raw)
	if err != nil {
		return entry{}, fmt.Errorf("invalid entry: %v", err)
	}
	var dtypeRaw, shapeRaw, offRaw json.RawMessage
	for i, k := range keys {
		switch k {
		case "dtype":
			dtypeRaw = vals[i]
		case "shape":
			shapeRaw = vals[i]
		case "data_offsets":
			offRaw = vals[i]
		}
	}
	for _, f := range []struct {
		key string
		raw json.RawMessage
	}{{"dtype", dtypeRaw}, {"shape", shapeRaw}, {"data_offsets", offRaw}} {
		if f.raw == nil {
			return entry{}, fmt.Errorf("missing %q", f.key)
		}
	}

	// dtype
	if k := jsonKind(dtypeRaw); k != "string" {
		return entry{}, fmt.Errorf("dtype is a JSON %s, want a string", k)
	}
	var ds string
	if err := json.Unmarshal(dtypeRaw, &ds); err != nil {
		return entry{}, fmt.Errorf("invalid dtype: %v", err)
	}
	dtype := DType(ds)
	if dtype.Size() == 0 {
		return entry{}, fmt.Errorf("unknown dtype %q", ds)
	}

	// shape
	dims, err := decodeInts(shapeRaw)
	if err != nil {
		return entry{}, fmt.Errorf("shape %v", err)
	}
	shape := make([]int, len(dims))
	for i, d := range dims {
		if d < 0 {
			return entry{}, fmt.Errorf("negative dimension %d at index %d in shape %v", d, i, dims)
		}
		if d > math.MaxInt {
			return entry{}, fmt.Errorf("dimension %d at index %d in shape %v overflows", d, i, dims)
		}
		shape[i] = int(d)
	}
	nbytes, err := byteSize(dtype, shape)
	if err != nil {
		return entry{}, err
	}

	// data_offsets
	offs, err := decodeInts(offRaw)
	if err != nil {
		return entry{}, fmt.Errorf("data_offsets %v", err)
	}
	if len(offs) != 2 {
		return entry{}, fmt.Errorf("data_offsets %v must be [begin, end]", offs)
	}
	begin, end := offs[0], offs[1]
	if begin < 0 || begin > end || end > int64(dataLen) {
		return entry{}, fmt.Errorf("data_offsets [%d %d] out of range (data is %d bytes)", begin, end, dataLen)
	}
	if end-begin != int64(nbytes) {
		return entry{}, fmt.Errorf("data_offsets [%d %d] span %d bytes, want %d for dtype %s and shape %v",
			begin, end, end-begin, nbytes, dtype, shape)
	}
	return entry{
		t:     Tensor{Name: name, DType: dtype, Shape: shape},
		begin: int(begin),
		end:   int(end),
	}, nil
}

// Read reads and parses the safetensors file at path. Errors are wrapped
// with the path.
func Read(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	f, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return f, nil
}

// ReadMetadata reads only the header of the safetensors file at path and
// returns its __metadata__ (empty when there is none), without reading the
// tensor data. Errors are wrapped with the path.
func ReadMetadata(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	var lenb [8]byte
	if _, err := io.ReadFull(f, lenb[:]); err != nil {
		return nil, fmt.Errorf("read %s: safetensors: too short for the 8-byte header length", path)
	}
	n := binary.LittleEndian.Uint64(lenb[:])
	if n > maxHeaderSize {
		return nil, fmt.Errorf("read %s: safetensors: header length %d exceeds the limit of %d bytes", path, n, maxHeaderSize)
	}
	header := make([]byte, n)
	if _, err := io.ReadFull(f, header); err != nil {
		return nil, fmt.Errorf("read %s: safetensors: header length %d exceeds the file", path, n)
	}
	keys, vals, err := decodeObject(header)
	if err != nil {
		return nil, fmt.Errorf("read %s: safetensors: invalid header: %v", path, err)
	}
	md := map[string]string{}
	for i, key := range keys {
		if key == metadataKey {
			if err := parseMetadata(vals[i], md); err != nil {
				return nil, fmt.Errorf("read %s: safetensors: invalid %q: %v", path, metadataKey, err)
			}
		}
	}
	return md, nil
}

// appendJSONString appends s as a JSON string literal without HTML escaping.
func appendJSONString(dst []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		// Encoding a Go string cannot fail.
		panic(err)
	}
	return append(dst, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}

// encodeHeader validates f and returns the complete file prefix: the 8-byte
// header length followed by the JSON header padded with spaces to a multiple
// of 8 bytes, so that the data buffer starts 8-byte aligned.
func encodeHeader(f *File) ([]byte, error) {
	seen := make(map[string]bool, len(f.Tensors))
	for _, t := range f.Tensors {
		if !utf8.ValidString(t.Name) {
			return nil, fmt.Errorf("safetensors: tensor name %q is not valid UTF-8", t.Name)
		}
		if t.Name == metadataKey {
			return nil, fmt.Errorf("safetensors: tensor name %q is reserved", t.Name)
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("safetensors: duplicate tensor name %q", t.Name)
		}
		seen[t.Name] = true
		if _, err := t.checkData(); err != nil {
			return nil, err
		}
	}
	mkeys := make([]string, 0, len(f.Metadata))
	for k, v := range f.Metadata {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return nil, fmt.Errorf("safetensors: metadata %q: %q is not valid UTF-8", k, v)
		}
		mkeys = append(mkeys, k)
	}
	slices.Sort(mkeys)

	h := make([]byte, 8, 64+64*len(f.Tensors))
	h = append(h, '{')
	if len(mkeys) > 0 {
		h = appendJSONString(h, metadataKey)
		h = append(h, ":{"...)
		for i, k := range mkeys {
			if i > 0 {
				h = append(h, ',')
			}
			h = appendJSONString(h, k)
			h = append(h, ':')
			h = appendJSONString(h, f.Metadata[k])
		}
		h = append(h, '}')
	}
	off := 0
	for i, t := range f.Tensors {
		if i > 0 || len(mkeys) > 0 {
			h = append(h, ',')
		}
		h = appendJSONString(h, t.Name)
		h = append(h, `:{"dtype":`...)
		h = appendJSONString(h, string(t.DType))
		h = append(h, `,"shape":[`...)
		for j, d := range t.Shape {
			if j > 0 {
				h = append(h, ',')
			}
			h = strconv.AppendInt(h, int64(d), 10)
		}
		h = append(h, `],"data_offsets":[`...)
		h = strconv.AppendInt(h, int64(off), 10)
		h = append(h, ',')
		if len(t.Data) > math.MaxInt-off {
			return nil, errors.New("safetensors: total data size overflows")
		}
		off += len(t.Data)
		h = strconv.AppendInt(h, int64(off), 10)
		h = append(h, "]}"...)
	}
	h = append(h, '}')
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	binary.LittleEndian.PutUint64(h[:8], uint64(len(h)-8))
	return h, nil
}

// Encode returns the safetensors encoding of f. The header contains
// "__metadata__" (with sorted keys) only if f.Metadata is non-empty, followed
// by the tensors in f.Tensors order; the tensor data is written contiguously
// in the same order. The header is padded with trailing spaces so the data
// buffer starts at an 8-byte aligned offset. The output is deterministic.
// Encode returns an error for duplicate, reserved ("__metadata__") or
// non-UTF-8 names, unknown dtypes, invalid shapes, and Data whose length does
// not match the dtype and shape.
func Encode(f *File) ([]byte, error) {
	h, err := encodeHeader(f)
	if err != nil {
		return nil, err
	}
	size := len(h)
	for _, t := range f.Tensors {
		size += len(t.Data)
	}
	out := make([]byte, 0, size)
	out = append(out, h...)
	for _, t := range f.Tensors {
		out = append(out, t.Data...)
	}
	return out, nil
}

// Write writes the encoding of f (see Encode) to w, streaming the tensor
// data without building the whole file in memory. f is validated before
// anything is written.
func Write(w io.Writer, f *File) error {
	h, err := encodeHeader(f)
	if err != nil {
		return err
	}
	if _, err := w.Write(h); err != nil {
		return err
	}
	for _, t := range f.Tensors {
		if len(t.Data) == 0 {
			continue
		}
		if _, err := w.Write(t.Data); err != nil {
			return err
		}
	}
	return nil
}

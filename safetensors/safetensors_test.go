package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// mk builds a file from a header string and a data buffer, with the header
// length computed from the header as given (no padding added).
func mk(header string, data []byte) []byte {
	b := make([]byte, 8, 8+len(header)+len(data))
	binary.LittleEndian.PutUint64(b, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

// seqBytes returns n deterministic, non-constant bytes.
func seqBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 1)
	}
	return b
}

// tensor builds a tensor of the given dtype and shape with sequential data.
func tensor(name string, dt DType, shape ...int) Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	if shape == nil {
		shape = []int{}
	}
	return Tensor{Name: name, DType: dt, Shape: shape, Data: seqBytes(n * dt.Size())}
}

func sameTensors(t *testing.T, got, want []Tensor) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d tensors, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Name != w.Name || g.DType != w.DType || !equalInts(g.Shape, w.Shape) || !bytes.Equal(g.Data, w.Data) {
			t.Fatalf("tensor %d: got {%q %s %v %x}, want {%q %s %v %x}",
				i, g.Name, g.DType, g.Shape, g.Data, w.Name, w.DType, w.Shape, w.Data)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sameMetadata(t *testing.T, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("metadata: got %v, want %v", got, want)
	}
	for k, v := range want {
		if gv, ok := got[k]; !ok || gv != v {
			t.Fatalf("metadata: got %v, want %v", got, want)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		file File
	}{
		{"empty", File{}},
		{"metadata only", File{Metadata: map[string]string{"format": "pt", "z": "<&>\"\\ \u00e9\n"}}},
		{"all dtypes", File{
			Metadata: map[string]string{"step": "42"},
			Tensors: []Tensor{
				tensor("f64", F64, 2, 3),
				tensor("f32", F32, 4),
				tensor("f16", F16, 3, 1, 2),
				tensor("bf16", BF16, 5),
				tensor("i64", I64, 2),
				tensor("i32", I32, 1, 1),
				tensor("i16", I16, 3),
				tensor("u16", U16, 7),
				tensor("i8", I8, 9),
				tensor("u8", U8, 2, 2, 2),
				tensor("bool", Bool, 3),
			},
		}},
		{"scalars and zero-size", File{
			Tensors: []Tensor{
				tensor("scalar_u8", U8),
				tensor("empty", F32, 0),
				tensor("scalar_f32", F32),
				tensor("empty2", I64, 2, 0, 3),
				tensor("empty3", F16, 0),
				tensor("after", BF16, 3),
			},
		}},
		{"unicode names", File{
			Tensors: []Tensor{
				tensor("", F32, 1),
				tensor("model.layers.0.self_attn.q_proj.weight", F16, 2, 2),
				tensor("ünï\"cødé\\<>", U8, 1),
			},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enc, err := Encode(&tc.file)
			if err != nil {
				t.Fatal(err)
			}
			n := binary.LittleEndian.Uint64(enc)
			if (8+n)%8 != 0 {
				t.Errorf("data starts at %d, not 8-byte aligned", 8+n)
			}
			if strings.Contains(string(enc[8:8+n]), metadataKey) != (len(tc.file.Metadata) > 0) {
				t.Errorf("header %q: __metadata__ presence wrong", enc[8:8+n])
			}
			var buf bytes.Buffer
			if err := Write(&buf, &tc.file); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), enc) {
				t.Errorf("Write and Encode differ")
			}
			enc2, _ := Encode(&tc.file)
			if !bytes.Equal(enc2, enc) {
				t.Errorf("Encode is not deterministic")
			}

			f, err := Parse(enc)
			if err != nil {
				t.Fatal(err)
			}
			sameTensors(t, f.Tensors, tc.file.Tensors)
			sameMetadata(t, f.Metadata, tc.file.Metadata)
			if f.Metadata == nil {
				t.Errorf("Parse returned nil Metadata")
			}
			for _, tt := range f.Tensors {
				if cap(tt.Data) != len(tt.Data) {
					t.Errorf("tensor %q: cap %d != len %d", tt.Name, cap(tt.Data), len(tt.Data))
				}
				if g, ok := f.Get(tt.Name); !ok || g.Name != tt.Name {
					t.Errorf("Get(%q) failed", tt.Name)
				}
			}
			again, err := Encode(f)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, enc) {
				t.Errorf("re-encoding differs:\n%q\n%q", again, enc)
			}
		})
	}
}

func TestExactLayout(t *testing.T) {
	f := &File{
		Metadata: map[string]string{"format": "pt"},
		Tensors: []Tensor{
			FromFloat32("a", []int{2}, []float32{1, -2}),
			{Name: "b", DType: U8, Shape: []int{1}, Data: []byte{7}},
		},
	}
	// Counted by hand: 31 bytes of metadata object incl. "{" and ",",
	// 52 for the "a" entry, 1 comma, 50 for the "b" entry, 1 closing brace =
	// 137 bytes, padded with 7 spaces to 144 = 0x90.
	header := `{"__metadata__":{"format":"pt"},` +
		`"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},` +
		`"b":{"dtype":"U8","shape":[1],"data_offsets":[8,9]}}` +
		"       "
	if len(header) != 144 {
		t.Fatalf("test bug: header literal is %d bytes", len(header))
	}
	want := []byte{0x90, 0, 0, 0, 0, 0, 0, 0}
	want = append(want, header...)
	want = append(want,
		0x00, 0x00, 0x80, 0x3f, // 1.0
		0x00, 0x00, 0x00, 0xc0, // -2.0
		0x07,
	)
	got, err := Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Encode:\n got %q\nwant %q", got, want)
	}
	p, err := Parse(want)
	if err != nil {
		t.Fatal(err)
	}
	sameTensors(t, p.Tensors, f.Tensors)
	sameMetadata(t, p.Metadata, f.Metadata)
	fl, err := p.Tensors[0].Float32s()
	if err != nil || len(fl) != 2 || fl[0] != 1 || fl[1] != -2 {
		t.Fatalf("Float32s = %v, %v", fl, err)
	}
}

func TestParseValid(t *testing.T) {
	entry := func(name, dt, shape string, b, e int) string {
		return `"` + name + `":{"dtype":"` + dt + `","shape":` + shape +
			`,"data_offsets":[` + strconv.Itoa(b) + `,` + strconv.Itoa(e) + `]}`
	}
	tests := []struct {
		name  string
		file  []byte
		names []string // expected order
	}{
		{"empty object", mk("{}", nil), nil},
		{"whitespace padding", mk("  {}  \n\t", nil), nil},
		{"null metadata", mk(`{"__metadata__":null}`, nil), nil},
		{"sorted by offset", mk("{"+entry("b", "F32", "[1]", 4, 8)+","+entry("a", "F32", "[1]", 0, 4)+"}", seqBytes(8)),
			[]string{"a", "b"}},
		{"holes allowed", mk("{"+entry("a", "U8", "[2]", 3, 5)+","+entry("b", "U8", "[1]", 9, 10)+"}", seqBytes(16)),
			[]string{"a", "b"}},
		{"zero-size inside other", mk("{"+entry("a", "U8", "[4]", 0, 4)+","+entry("z", "F32", "[0]", 2, 2)+","+entry("y", "F32", "[0,5]", 2, 2)+"}", seqBytes(4)),
			[]string{"a", "z", "y"}},
		{"extra fields ignored", mk(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"extra":[1,{}]}}`, []byte{1}),
			[]string{"a"}},
		{"large zero dim", mk("{"+entry("a", "F64", "[9223372036854775807,9223372036854775807,0]", 0, 0)+"}", nil),
			[]string{"a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, tt := range f.Tensors {
				names = append(names, tt.Name)
			}
			if strings.Join(names, ",") != strings.Join(tc.names, ",") {
				t.Fatalf("names %v, want %v", names, tc.names)
			}
		})
	}
	f, err := Parse(mk("{"+entry("a", "U8", "[2]", 3, 5)+"}", seqBytes(8)))
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := f.Get("a"); !bytes.Equal(a.Data, seqBytes(8)[3:5]) {
		t.Fatalf("data %x", a.Data)
	}
	if _, ok := f.Get("missing"); ok {
		t.Fatal("Get(missing) succeeded")
	}
}

// invalidFiles lists malformed files with a phrase their error must contain.
func invalidFiles() []struct {
	name, want string
	file       []byte
} {
	hugeLen := make([]byte, 16)
	binary.LittleEndian.PutUint64(hugeLen, 200_000_000)
	tooLong := make([]byte, 16)
	binary.LittleEndian.PutUint64(tooLong, 9)
	maxLen := make([]byte, 8)
	binary.LittleEndian.PutUint64(maxLen, math.MaxUint64)
	ok := `"dtype":"F32","shape":[1],"data_offsets":[0,4]`
	d4 := seqBytes(4)
	return []struct {
		name, want string
		file       []byte
	}{
		{"empty file", "too short", nil},
		{"short file", "too short", []byte{2, 0, 0, 0, 0, 0, 0}},
		{"header beyond file", "exceeds the 8 bytes remaining", tooLong},
		{"header over cap", "exceeds the limit", hugeLen},
		{"header max uint64", "exceeds the limit", maxLen},
		{"zero header", "invalid header", mk("", nil)},
		{"invalid json", "invalid header", mk(`{"a":`, nil)},
		{"invalid json token", "invalid header", mk(`{"a":{"dtype":F32}}`, nil)},
		{"not an object", "not a JSON object", mk(`[1,2]`, nil)},
		{"string header", "not a JSON object", mk(`"x"`, nil)},
		{"trailing data", "invalid header", mk(`{} {}`, nil)},
		{"trailing garbage", "invalid header", mk(`{}x`, nil)},
		{"entry not object", "entry is a JSON number", mk(`{"a":1}`, nil)},
		{"entry null", "entry is a JSON null", mk(`{"a":null}`, nil)},
		{"missing dtype", `tensor "a": missing "dtype"`, mk(`{"a":{"shape":[1],"data_offsets":[0,4]}}`, d4)},
		{"missing shape", `tensor "a": missing "shape"`, mk(`{"a":{"dtype":"F32","data_offsets":[0,4]}}`, d4)},
		{"missing data_offsets", `tensor "a": missing "data_offsets"`, mk(`{"a":{"dtype":"F32","shape":[1]}}`, d4)},
		{"dtype case", `tensor "a": missing "dtype"`, mk(`{"a":{"DTYPE":"F32","shape":[1],"data_offsets":[0,4]}}`, d4)},
		{"dtype number", "dtype is a JSON number", mk(`{"a":{"dtype":1,"shape":[1],"data_offsets":[0,4]}}`, d4)},
		{"dtype null", "dtype is a JSON null", mk(`{"a":{"dtype":null,"shape":[1],"data_offsets":[0,4]}}`, d4)},
		{"shape string", "shape is a JSON string", mk(`{"a":{"dtype":"F32","shape":"1","data_offsets":[0,4]}}`, d4)},
		{"shape null", "shape is a JSON null", mk(`{"a":{"dtype":"F32","shape":null,"data_offsets":[0,4]}}`, d4)},
		{"shape float", "shape is not an array of integers", mk(`{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}`, d4)},
		{"shape nested", "shape is not an array of integers", mk(`{"a":{"dtype":"F32","shape":[[1]],"data_offsets":[0,4]}}`, d4)},
		{"shape huge", "shape is not an array of integers", mk(`{"a":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,4]}}`, d4)},
		{"offsets object", "data_offsets is a JSON object", mk(`{"a":{"dtype":"F32","shape":[1],"data_offsets":{}}}`, d4)},
		{"offsets strings", "data_offsets is not an array of integers", mk(`{"a":{"dtype":"F32","shape":[1],"data_offsets":["0","4"]}}`, d4)},
		{"unknown dtype", `tensor "a": unknown dtype "F8"`, mk(`{"a":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}}`, d4)},
		{"lowercase dtype", `unknown dtype "f32"`, mk(`{"a":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}`, d4)},
		{"negative dim", "negative dimension -1", mk(`{"a":{"dtype":"F32","shape":[2,-1],"data_offsets":[0,4]}}`, d4)},
		{"element overflow", "element count", mk(`{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}}`, d4)},
		{"element overflow 2", "overflows", mk(`{"a":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,4]}}`, d4)},
		{"byte overflow", "byte size", mk(`{"a":{"dtype":"F32","shape":[2305843009213693952],"data_offsets":[0,4]}}`, d4)},
		{"offsets one", "must be [begin, end]", mk(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4]}}`, d4)},
		{"offsets three", "must be [begin, end]", mk(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,4]}}`, d4)},
		{"offsets negative", "data_offsets [-4 0] out of range", mk(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, d4)},
		{"offsets reversed", "data_offsets [4 0] out of range", mk(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}`, d4)},
		{"offsets beyond data", "data_offsets [0 8] out of range (data is 4 bytes)", mk(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, d4)},
		{"offsets huge", "data_offsets is not an array of integers", mk(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551616]}}`, d4)},
		{"size mismatch", "span 4 bytes, want 8", mk(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, seqBytes(8))},
		{"size mismatch scalar", "span 0 bytes, want 4", mk(`{"a":{"dtype":"F32","shape":[],"data_offsets":[0,0]}}`, d4)},
		{"overlap", `tensor "b": data_offsets [4 12] overlap tensor "a"`,
			mk(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, seqBytes(12))},
		{"overlap identical", "overlap",
			mk(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}`, d4)},
		{"overlap contained", `tensor "c": data_offsets [4 6] overlap tensor "a"`,
			mk(`{"a":{"dtype":"U8","shape":[10],"data_offsets":[0,10]},"b":{"dtype":"U8","shape":[0],"data_offsets":[5,5]},"c":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}`, seqBytes(10))},
		{"duplicate name", `duplicate tensor name "a"`, mk(`{"a":{`+ok+`},"a":{`+ok+`}}`, d4)},
		{"duplicate name escaped", `duplicate tensor name "a"`, mk(`{"a":{`+ok+`},"\u0061":{`+ok+`}}`, d4)},
		{"duplicate metadata", `duplicate "__metadata__"`, mk(`{"__metadata__":{},"__metadata__":{}}`, nil)},
		{"duplicate entry key", `duplicate key "dtype"`, mk(`{"a":{"dtype":"F32",`+ok+`}}`, d4)},
		{"metadata number", `value of key "k" is a JSON number`, mk(`{"__metadata__":{"k":1}}`, nil)},
		{"metadata null value", `value of key "k" is a JSON null`, mk(`{"__metadata__":{"k":null}}`, nil)},
		{"metadata array", "is a JSON array, want an object of strings", mk(`{"__metadata__":["a"]}`, nil)},
		{"metadata string", "is a JSON string, want an object of strings", mk(`{"__metadata__":"x"}`, nil)},
		{"metadata duplicate key", `duplicate key "k"`, mk(`{"__metadata__":{"k":"a","k":"b"}}`, nil)},
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range invalidFiles() {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(tc.file)
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", f)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "safetensors: ") {
				t.Fatalf("error %q lacks package prefix", err)
			}
		})
	}
}

func TestParseErrorMessage(t *testing.T) {
	_, err := Parse(mk(`{"wte":{"dtype":"F32","shape":[25],"data_offsets":[0,100]}}`, make([]byte, 64)))
	want := `safetensors: tensor "wte": data_offsets [0 100] out of range (data is 64 bytes)`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		name string
		f    File
		want string
	}{
		{"duplicate", File{Tensors: []Tensor{tensor("a", U8, 1), tensor("a", U8, 1)}}, `duplicate tensor name "a"`},
		{"reserved", File{Tensors: []Tensor{tensor(metadataKey, U8, 1)}}, "reserved"},
		{"bad utf8 name", File{Tensors: []Tensor{tensor("\xff", U8, 1)}}, "UTF-8"},
		{"bad utf8 metadata", File{Metadata: map[string]string{"k": "\xfe"}}, "UTF-8"},
		{"unknown dtype", File{Tensors: []Tensor{{Name: "a", DType: "U32", Shape: []int{1}, Data: make([]byte, 4)}}}, `unknown dtype "U32"`},
		{"negative dim", File{Tensors: []Tensor{{Name: "a", DType: U8, Shape: []int{-1}}}}, "negative dimension"},
		{"short data", File{Tensors: []Tensor{{Name: "a", DType: F32, Shape: []int{2}, Data: make([]byte, 7)}}}, "data is 7 bytes, want 8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Encode(&tc.f); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Encode error %v, want %q", err, tc.want)
			}
			var buf bytes.Buffer
			if err := Write(&buf, &tc.f); err == nil || buf.Len() != 0 {
				t.Fatalf("Write error %v, wrote %d bytes", err, buf.Len())
			}
		})
	}
}

func bitsData16(v ...uint16) []byte {
	b := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(b[2*i:], x)
	}
	return b
}

func TestHalfConversion(t *testing.T) {
	f32 := math.Float32frombits
	tests := []struct {
		name string
		dt   DType
		in   uint16
		want float32 // compared bit for bit
	}{
		{"f16 one", F16, 0x3c00, 1},
		{"f16 -2.5", F16, 0xc100, -2.5},
		{"f16 max", F16, 0x7bff, 65504},
		{"f16 min subnormal", F16, 0x0001, f32(0x33800000)}, // 2^-24
		{"f16 neg min subnormal", F16, 0x8001, -f32(0x33800000)},
		{"f16 max subnormal", F16, 0x03ff, 1023.0 / (1 << 24)},
		{"f16 subnormal 0x0200", F16, 0x0200, 1.0 / (1 << 15)},
		{"f16 min normal", F16, 0x0400, 1.0 / (1 << 14)},
		{"f16 zero", F16, 0x0000, 0},
		{"f16 neg zero", F16, 0x8000, f32(0x80000000)},
		{"f16 inf", F16, 0x7c00, float32(math.Inf(1))},
		{"f16 -inf", F16, 0xfc00, float32(math.Inf(-1))},
		{"f16 nan", F16, 0x7e00, f32(0x7fc00000)},
		{"f16 nan payload", F16, 0xfd01, f32(0xffa02000)},
		{"f16 0.1", F16, 0x2e66, 0.0999755859375},
		{"bf16 one", BF16, 0x3f80, 1},
		{"bf16 -2.5", BF16, 0xc020, -2.5},
		{"bf16 65280", BF16, 0x477f, 65280}, // 65504 is not representable
		{"bf16 max", BF16, 0x7f7f, 255 * (1 << 60) * (1 << 60)},
		{"bf16 min subnormal", BF16, 0x0001, f32(0x00010000)}, // 2^-133
		{"bf16 inf", BF16, 0x7f80, float32(math.Inf(1))},
		{"bf16 -inf", BF16, 0xff80, float32(math.Inf(-1))},
		{"bf16 nan", BF16, 0x7fc0, f32(0x7fc00000)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tt := Tensor{Name: "x", DType: tc.dt, Shape: []int{}, Data: bitsData16(tc.in)}
			got, err := tt.Float32s()
			if err != nil {
				t.Fatal(err)
			}
			if math.Float32bits(got[0]) != math.Float32bits(tc.want) {
				t.Fatalf("%#04x -> %g (%#08x), want %g (%#08x)", tc.in, got[0], math.Float32bits(got[0]), tc.want, math.Float32bits(tc.want))
			}
		})
	}
	if got := f32(0x33800000); float64(got) != math.Ldexp(1, -24) {
		t.Fatalf("test bug: %g", got)
	}
	if got := f32(0x00010000); float64(got) != math.Ldexp(1, -133) {
		t.Fatalf("test bug: %g", got)
	}
}

// TestF16Exhaustive checks every binary16 value against an independent
// arithmetic definition.
func TestF16Exhaustive(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		got := f16ToF32(uint16(h))
		sign, exp, mant := h>>15, (h>>10)&0x1f, h&0x3ff
		var want float64
		switch exp {
		case 0:
			want = math.Ldexp(float64(mant), -24)
		case 0x1f:
			if mant == 0 {
				want = math.Inf(1)
			} else {
				want = math.NaN()
			}
		default:
			want = math.Ldexp(float64(mant|0x400), exp-25)
		}
		if sign == 1 {
			want = -want
		}
		if math.IsNaN(want) {
			if !math.IsNaN(float64(got)) || math.Signbit(float64(got)) != (sign == 1) {
				t.Fatalf("%#04x -> %g, want NaN", h, got)
			}
			continue
		}
		if float64(got) != want || math.Signbit(float64(got)) != math.Signbit(want) {
			t.Fatalf("%#04x -> %g, want %g", h, got, want)
		}
	}
}

func TestFloat32s(t *testing.T) {
	f64 := make([]byte, 24)
	for i, v := range []float64{1.5, -1e300, 1e-3} {
		binary.LittleEndian.PutUint64(f64[8*i:], math.Float64bits(v))
	}
	got, err := Tensor{Name: "d", DType: F64, Shape: []int{3}, Data: f64}.Float32s()
	if err != nil || got[0] != 1.5 || !math.IsInf(float64(got[1]), -1) || got[2] != float32(1e-3) {
		t.Fatalf("F64: %v %v", got, err)
	}
	src := []float32{0, 1, -3.25, float32(math.Inf(1))}
	got, err = FromFloat32("f", []int{2, 2}, src).Float32s()
	if err != nil || len(got) != 4 {
		t.Fatal(got, err)
	}
	for i := range src {
		if got[i] != src[i] {
			t.Fatalf("F32: %v", got)
		}
	}
	for _, dt := range []DType{I32, I64, U8, Bool, "X"} {
		tt := Tensor{Name: "n", DType: dt, Shape: []int{}, Data: make([]byte, dt.Size())}
		if _, err := tt.Float32s(); err == nil || !strings.Contains(err.Error(), "cannot convert") {
			t.Errorf("%s: err %v", dt, err)
		}
	}
	if _, err := (Tensor{Name: "s", DType: F32, Shape: []int{2}, Data: make([]byte, 4)}).Float32s(); err == nil {
		t.Error("short data accepted")
	}
}

func TestInt32s(t *testing.T) {
	le := binary.LittleEndian
	i64 := make([]byte, 24)
	for i, v := range []int64{-5, math.MaxInt32, math.MinInt32} {
		le.PutUint64(i64[8*i:], uint64(v))
	}
	tests := []struct {
		dt   DType
		data []byte
		want []int32
	}{
		{I64, i64, []int32{-5, math.MaxInt32, math.MinInt32}},
		{I16, bitsData16(0xffff, 0x7fff), []int32{-1, 32767}},
		{U16, bitsData16(0xffff, 1), []int32{65535, 1}},
		{I8, []byte{0xff, 3}, []int32{-1, 3}},
		{U8, []byte{0xff, 3}, []int32{255, 3}},
		{I32, FromInt32("x", []int{2}, []int32{-7, 1 << 30}).Data, []int32{-7, 1 << 30}},
	}
	for _, tc := range tests {
		tt := Tensor{Name: "x", DType: tc.dt, Shape: []int{len(tc.want)}, Data: tc.data}
		got, err := tt.Int32s()
		if err != nil {
			t.Fatalf("%s: %v", tc.dt, err)
		}
		for i := range tc.want {
			if got[i] != tc.want[i] {
				t.Fatalf("%s: got %v, want %v", tc.dt, got, tc.want)
			}
		}
	}
	for _, v := range []int64{math.MaxInt32 + 1, math.MinInt32 - 1} {
		b := make([]byte, 8)
		le.PutUint64(b, uint64(v))
		if _, err := (Tensor{Name: "big", DType: I64, Shape: []int{1}, Data: b}).Int32s(); err == nil || !strings.Contains(err.Error(), "does not fit") {
			t.Errorf("%d: err %v", v, err)
		}
	}
	for _, dt := range []DType{F32, F16, BF16, F64, Bool} {
		tt := Tensor{Name: "n", DType: dt, Shape: []int{}, Data: make([]byte, dt.Size())}
		if _, err := tt.Int32s(); err == nil {
			t.Errorf("%s accepted", dt)
		}
	}
}

func TestTensorHelpers(t *testing.T) {
	for _, tc := range []struct {
		shape []int
		want  int
	}{
		{nil, 1}, {[]int{}, 1}, {[]int{0}, 0}, {[]int{2, 3, 4}, 24}, {[]int{-1}, -1},
		{[]int{math.MaxInt, 2}, -1}, {[]int{math.MaxInt, 2, 0}, 0},
	} {
		if got := (Tensor{Shape: tc.shape}).NumElements(); got != tc.want {
			t.Errorf("NumElements(%v) = %d, want %d", tc.shape, got, tc.want)
		}
	}
	sizes := map[DType]int{F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, U16: 2, I8: 1, U8: 1, Bool: 1, "U32": 0, "": 0}
	for dt, want := range sizes {
		if got := dt.Size(); got != want {
			t.Errorf("%q.Size() = %d, want %d", dt, got, want)
		}
	}
	shape := []int{2}
	tt := FromInt32("i", shape, []int32{1, -1})
	shape[0] = 5
	if tt.DType != I32 || tt.Shape[0] != 2 || !bytes.Equal(tt.Data, []byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}) {
		t.Fatalf("FromInt32: %+v", tt)
	}
	mustPanic := func(name string, fn func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s did not panic", name)
			}
		}()
		fn()
	}
	mustPanic("FromFloat32", func() { FromFloat32("x", []int{2, 2}, make([]float32, 3)) })
	mustPanic("FromInt32", func() { FromInt32("x", []int{-1}, nil) })
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.safetensors")
	_, err := Read(missing)
	if err == nil || !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "read "+missing+": ") {
		t.Fatalf("Read(missing): %v", err)
	}
	bad := filepath.Join(dir, "bad.safetensors")
	if err := os.WriteFile(bad, []byte{1, 2}, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(bad); err == nil || !strings.HasPrefix(err.Error(), "read "+bad+": safetensors: ") {
		t.Fatalf("Read(bad): %v", err)
	}
}

// listDir returns the names in dir.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	f1 := &File{Metadata: map[string]string{"v": "1"}, Tensors: []Tensor{FromFloat32("w", []int{2}, []float32{1, 2})}}
	f2 := &File{Tensors: []Tensor{tensor("x", BF16, 3, 3), tensor("y", U8)}}

	for _, f := range []*File{f1, f2} { // create, then replace
		if err := WriteFile(path, f); err != nil {
			t.Fatal(err)
		}
		got, err := Read(path)
		if err != nil {
			t.Fatal(err)
		}
		sameTensors(t, got.Tensors, f.Tensors)
		sameMetadata(t, got.Metadata, f.Metadata)
		want, _ := Encode(f)
		if b, _ := os.ReadFile(path); !bytes.Equal(b, want) {
			t.Fatal("file content differs from Encode")
		}
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("mode: %v %v", st.Mode(), err)
	}
	if names := listDir(t, dir); len(names) != 1 {
		t.Fatalf("directory contains %v", names)
	}
	before, _ := os.ReadFile(path)

	checkUntouched := func(t *testing.T) {
		t.Helper()
		if b, err := os.ReadFile(path); err != nil || !bytes.Equal(b, before) {
			t.Fatalf("existing file changed (err %v)", err)
		}
		names := listDir(t, dir)
		for _, n := range names {
			if strings.Contains(n, ".tmp-") {
				t.Fatalf("temp file left behind: %v", names)
			}
		}
	}

	t.Run("invalid file", func(t *testing.T) {
		bad := &File{Tensors: []Tensor{{Name: "a", DType: F32, Shape: []int{2}, Data: make([]byte, 3)}}}
		if err := WriteFile(path, bad); err == nil {
			t.Fatal("no error")
		}
		checkUntouched(t)
	})
	t.Run("path is directory", func(t *testing.T) {
		sub := filepath.Join(dir, "sub")
		if err := os.Mkdir(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(sub)
		if err := os.WriteFile(filepath.Join(sub, "keep"), []byte("k"), 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(filepath.Join(sub, "keep"))
		err := WriteFile(sub, f1)
		if err == nil || !strings.Contains(err.Error(), sub) {
			t.Fatalf("error %v", err)
		}
		if st, err := os.Stat(sub); err != nil || !st.IsDir() {
			t.Fatal("directory replaced")
		}
		checkUntouched(t)
	})
	t.Run("missing directory", func(t *testing.T) {
		if err := WriteFile(filepath.Join(dir, "nope", "x.safetensors"), f1); err == nil {
			t.Fatal("no error")
		}
		checkUntouched(t)
	})
	t.Run("directory not writable", func(t *testing.T) {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(dir, 0o755)
		probe := filepath.Join(dir, "probe")
		if fh, err := os.Create(probe); err == nil {
			fh.Close()
			os.Remove(probe)
			t.Skip("permissions are not enforced (running as root?)")
		}
		if err := WriteFile(path, f2); err == nil {
			t.Fatal("no error")
		}
		checkUntouched(t)
	})
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n < len(p) {
		return 0, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

func TestWriteError(t *testing.T) {
	f := &File{Tensors: []Tensor{tensor("a", F32, 64)}}
	for _, n := range []int{0, 100} {
		if err := Write(&failWriter{n: n}, f); err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Fatalf("n=%d: %v", n, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	seeds := []*File{
		{},
		{Metadata: map[string]string{"format": "pt"}, Tensors: []Tensor{FromFloat32("a", []int{2}, []float32{1, -2})}},
		{Tensors: []Tensor{tensor("s", U8), tensor("e", F16, 0), tensor("m", BF16, 2, 3), tensor("i", I64, 1)}},
	}
	for _, s := range seeds {
		b, err := Encode(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(mk(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[3,5]},"z":{"dtype":"F32","shape":[0],"data_offsets":[9,9]}}`, seqBytes(12)))
	for _, tc := range invalidFiles() {
		f.Add(tc.file)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			return
		}
		enc, err := Encode(p)
		if err != nil {
			t.Fatalf("Encode of parsed file: %v", err)
		}
		q, err := Parse(enc)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		sameTensors(t, q.Tensors, p.Tensors)
		sameMetadata(t, q.Metadata, p.Metadata)
		enc2, err := Encode(q)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("re-encoding differs (err %v)", err)
		}
	})
}

package stload

import (
	"encoding/binary"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tformer/tformer/internal/modeltest"
	"github.com/tformer/tformer/kernels"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/safetensors"
)

// encode stores v as a tensor of dtype dt (BF16 rounded to nearest even).
func encode(name string, shape []int, v []float32, dt safetensors.DType) safetensors.Tensor {
	t := safetensors.Tensor{Name: name, DType: dt, Shape: shape, Data: make([]byte, len(v)*dt.Size())}
	le := binary.LittleEndian
	for i, x := range v {
		switch dt {
		case safetensors.F32:
			le.PutUint32(t.Data[4*i:], math.Float32bits(x))
		case safetensors.F64:
			le.PutUint64(t.Data[8*i:], math.Float64bits(float64(x)))
		case safetensors.BF16:
			h := make([]uint16, 1)
			kernels.ToBF16(h, []float32{x})
			le.PutUint16(t.Data[2*i:], h[0])
		}
	}
	return t
}

// TestFillMatchesQuantize fills models in each dtype from files in F32,
// F64 and BF16, read from memory and from disk, with chunks far smaller
// than a tensor (some smaller than a row, so a chunk is one row), and
// checks each is bitwise the float32 model of the decoded values after
// Quantize.
func TestFillMatchesQuantize(t *testing.T) {
	defer func(n int) { chunkValues = n }(chunkValues)
	c, err := model.Config{Vocab: 37, DModel: 24, Layers: 2, Heads: 4, DFF: 40, MaxSeq: 16, Tie: false, Share: model.ShareNone, Groups: 1}.Family("llama")
	if err != nil {
		t.Fatal(err)
	}
	c.KVHeads = 2
	src, err := model.New(c)
	if err != nil {
		t.Fatal(err)
	}
	src.Init(9)
	for _, chunk := range []int{1 << 18, 100, 7} {
		chunkValues = chunk
		for _, fdt := range []safetensors.DType{safetensors.F32, safetensors.F64, safetensors.BF16} {
			f := &safetensors.File{Metadata: map[string]string{}}
			for _, ti := range src.Layout.Tensors {
				f.Tensors = append(f.Tensors, encode(ti.Name, ti.Shape, src.Params[ti.Offset:ti.Offset+ti.Size], fdt))
			}
			p := filepath.Join(t.TempDir(), "w.safetensors")
			if err := safetensors.WriteFile(p, f); err != nil {
				t.Fatal(err)
			}
			r, err := safetensors.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, dt := range []model.DType{model.F32, model.BF16, model.Int8} {
				want, _ := model.New(c)
				for _, tn := range f.Tensors {
					v, _ := tn.Float32s()
					copy(want.Param(tn.Name), v)
				}
				if err := want.Quantize(dt); err != nil {
					t.Fatal(err)
				}
				for _, fromDisk := range []bool{false, true} {
					m, err := model.NewInference(c, dt)
					if err != nil {
						t.Fatal(err)
					}
					var l Loader
					for _, tn := range f.Tensors {
						s := Source{T: tn}
						if fromDisk {
							h, _ := r.File.Get(tn.Name)
							s = Source{T: h, R: r}
						}
						if err := l.Fill(m, tn.Name, 0, s, tn.Name); err != nil {
							t.Fatal(err)
						}
					}
					if err := modeltest.SameWeights(m, want); err != nil {
						t.Fatalf("chunk %d, %s file, %s model, disk %v: %v", chunk, fdt, dt, fromDisk, err)
					}
					if err := modeltest.SameDecode(m, want, []int32{0, 36, 5, 5}); err != nil {
						t.Fatalf("chunk %d, %s file, %s model: %v", chunk, fdt, dt, err)
					}
				}
			}
			r.Close()
		}
	}
}

// TestFillErrors: a non-finite value (named with its element), data of
// the wrong length, an integer dtype, and FirstDiff on equal and unequal
// tensors.
func TestFillErrors(t *testing.T) {
	c, _ := model.Config{Vocab: 11, DModel: 8, Layers: 1, Heads: 2, DFF: 16, MaxSeq: 8, Tie: true, Share: model.ShareNone, Groups: 1}.Family("llama")
	m, err := model.NewInference(c, model.Int8)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, 88)
	v[70] = float32(math.Inf(1))
	var l Loader
	for _, tc := range []struct {
		src  safetensors.Tensor
		want string
	}{
		{encode("wte", []int{11, 8}, v, safetensors.F32), "W holds a non-finite value (+Inf at element 70)"},
		{encode("wte", []int{11, 8}, v, safetensors.BF16), "W holds a non-finite value (+Inf at element 70)"},
		{safetensors.Tensor{Name: "wte", DType: safetensors.F32, Shape: []int{11, 8}, Data: make([]byte, 10)}, "has 10 bytes of data, want 352"},
		{safetensors.Tensor{Name: "wte", DType: safetensors.I32, Shape: []int{11, 8}, Data: make([]byte, 352)}, "dtype I32"},
	} {
		err := l.Fill(m, "wte", 0, Source{T: tc.src}, "W")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.src.DType, err, tc.want)
		}
	}
	a := encode("a", []int{3, 4}, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, safetensors.F32)
	b := encode("b", []int{3, 4}, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, safetensors.BF16)
	if i, _, _, err := FirstDiff(Source{T: a}, Source{T: b}); err != nil || i != -1 {
		t.Errorf("equal tensors: %d %v", i, err)
	}
	b2 := encode("b", []int{3, 4}, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9.5, 10, 11, 12}, safetensors.F32)
	defer func(n int) { chunkValues = n }(chunkValues)
	for _, chunk := range []int{1 << 18, 4, 1} { // one chunk, a row, a row
		chunkValues = chunk
		if i, x, y, err := FirstDiff(Source{T: a}, Source{T: b2}); err != nil || i != 8 || x != 9 || y != 9.5 {
			t.Errorf("chunk %d: unequal tensors: %d %g %g %v", chunk, i, x, y, err)
		}
	}
	if _, _, _, err := FirstDiff(Source{T: a}, Source{T: encode("c", []int{2}, []float32{1, 2}, safetensors.F32)}); err == nil {
		t.Error("tensors of different sizes compared")
	}
}

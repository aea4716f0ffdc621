package safetensors

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestReaderMatchesParse checks that Open reads the same header Parse
// does and that ReadData returns the bytes Parse's tensors alias, whole
// and in parts; that a file cut short is refused by Open (before any data
// is read), and one cut after Open by ReadData, each with one error.
func TestReaderMatchesParse(t *testing.T) {
	f := &File{Metadata: map[string]string{"k": "v"}, Tensors: []Tensor{
		FromFloat32("a", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}),
		{Name: "b", DType: BF16, Shape: []int{3}, Data: []byte{1, 2, 3, 4, 5, 6}},
		FromFloat32("empty", []int{0}, nil),
	}}
	b, err := Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "x.safetensors")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	want, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.File.Metadata["k"] != "v" || len(r.File.Tensors) != len(want.Tensors) {
		t.Fatalf("header %+v", r.File)
	}
	for i, wt := range want.Tensors {
		gt := r.File.Tensors[i]
		if gt.Name != wt.Name || gt.DType != wt.DType || !slices.Equal(gt.Shape, wt.Shape) || gt.Data != nil {
			t.Fatalf("tensor %d: %+v, want %+v without data", i, gt, wt)
		}
		got := make([]byte, len(wt.Data))
		if err := r.ReadData(wt.Name, 0, got); err != nil || !bytes.Equal(got, wt.Data) {
			t.Fatalf("%s: %v %v, want %v", wt.Name, got, err, wt.Data)
		}
		if len(wt.Data) > 2 {
			part := make([]byte, 2)
			if err := r.ReadData(wt.Name, 1, part); err != nil || !bytes.Equal(part, wt.Data[1:3]) {
				t.Fatalf("%s part: %v %v", wt.Name, part, err)
			}
		}
	}
	if err := r.ReadData("a", 20, make([]byte, 8)); err == nil || !strings.Contains(err.Error(), "outside") {
		t.Errorf("read past a tensor: %v", err)
	}
	if err := r.ReadData("nope", 0, nil); err == nil {
		t.Error("read of a missing tensor")
	}
	// Cut short before Open: the header's offsets do not fit.
	short := filepath.Join(t.TempDir(), "short.safetensors")
	os.WriteFile(short, b[:len(b)-3], 0o644)
	if _, err := Open(short); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("truncated file: %v", err)
	}
	for _, n := range []int{0, 5, 12} {
		os.WriteFile(short, b[:n], 0o644)
		if _, err := Open(short); err == nil {
			t.Errorf("a %d-byte file opened", n)
		}
	}
	// Cut short after Open.
	r2, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if err := os.Truncate(p, int64(len(b)-8)); err != nil {
		t.Fatal(err)
	}
	if err := r2.ReadData("b", 0, make([]byte, 6)); err == nil || !strings.Contains(err.Error(), "ends before") {
		t.Errorf("file truncated after Open: %v", err)
	}
}

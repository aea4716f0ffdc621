package safetensors

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// ReadMetadata returns the header's metadata without the data, and refuses
// a truncated or corrupt header with an error.
func TestReadMetadata(t *testing.T) {
	dir := t.TempDir()
	f := &File{Metadata: map[string]string{"format": "x/1", "note": "ok"},
		Tensors: []Tensor{FromFloat32("w", []int{2, 2}, []float32{1, 2, 3, 4})}}
	b, err := Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "a.safetensors")
	os.WriteFile(path, b, 0o644)
	md, err := ReadMetadata(path)
	if err != nil || len(md) != 2 || md["format"] != "x/1" || md["note"] != "ok" {
		t.Fatalf("ReadMetadata = %v, %v", md, err)
	}
	// The data is not read: a file cut after the header still gives it.
	hdr := 8 + int(binary.LittleEndian.Uint64(b[:8]))
	os.WriteFile(path, b[:hdr], 0o644)
	if md, err := ReadMetadata(path); err != nil || md["format"] != "x/1" {
		t.Errorf("header-only file: %v, %v", md, err)
	}
	for name, bad := range map[string][]byte{
		"short":     b[:5],
		"truncated": b[:hdr-3],
		"not json":  append([]byte{3, 0, 0, 0, 0, 0, 0, 0}, "{x}"...),
		"huge":      {0, 0, 0, 0, 0, 0, 0, 1},
	} {
		os.WriteFile(path, bad, 0o644)
		if _, err := ReadMetadata(path); err == nil {
			t.Errorf("%s header accepted", name)
		}
	}
	if _, err := ReadMetadata(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file accepted")
	}
}

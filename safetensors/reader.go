package safetensors

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// Reader is a safetensors file opened for reading tensor by tensor: Open
// reads and validates only the header (as Parse does, against the file's
// size), and ReadData reads the bytes of one tensor, or part of one, when
// they are wanted. A model loaded through it never holds the whole file in
// memory.
type Reader struct {
	// File is the header: the metadata and the tensors, sorted by offset,
	// with nil Data.
	File  *File
	r     io.ReaderAt
	c     io.Closer
	start int64            // offset of the data buffer in the file
	at    map[string]entry // by name
}

// Open opens the safetensors file at path and reads its header. Close the
// Reader when done. Errors are wrapped with the path.
func Open(path string) (*Reader, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	r, err := NewReader(fh, st.Size())
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	r.c = fh
	return r, nil
}

// NewReader reads the header of the safetensors file of size bytes held
// by ra. The Reader's Close does not close ra.
func NewReader(ra io.ReaderAt, size int64) (*Reader, error) {
	if size < 8 {
		return nil, fmt.Errorf("safetensors: file is %d bytes, too short for the 8-byte header length", size)
	}
	var lenb [8]byte
	if _, err := ra.ReadAt(lenb[:], 0); err != nil {
		return nil, fmt.Errorf("safetensors: reading the header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(lenb[:])
	if n > maxHeaderSize {
		return nil, fmt.Errorf("safetensors: header length %d exceeds the limit of %d bytes", n, maxHeaderSize)
	}
	if n > uint64(size-8) {
		return nil, fmt.Errorf("safetensors: header length %d exceeds the %d bytes remaining in the file", n, size-8)
	}
	header := make([]byte, n)
	if _, err := ra.ReadAt(header, 8); err != nil {
		return nil, fmt.Errorf("safetensors: reading the header: %w", err)
	}
	f, entries, err := parseHeader(header, int(size-8-int64(n)))
	if err != nil {
		return nil, err
	}
	r := &Reader{File: f, r: ra, start: 8 + int64(n), at: make(map[string]entry, len(entries))}
	for _, e := range entries {
		r.at[e.t.Name] = e
	}
	return r, nil
}

// ReadData reads len(dst) bytes of the named tensor's data, from byte off
// within it, into dst. A file that has become shorter than its header says
// is an error.
func (r *Reader) ReadData(name string, off int64, dst []byte) error {
	e, ok := r.at[name]
	if !ok {
		return fmt.Errorf("safetensors: no tensor %q", name)
	}
	size := int64(e.end - e.begin)
	if off < 0 || off > size || int64(len(dst)) > size-off {
		return fmt.Errorf("safetensors: tensor %q: %d bytes at %d are outside its %d", name, len(dst), off, size)
	}
	if _, err := r.r.ReadAt(dst, r.start+int64(e.begin)+off); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("safetensors: tensor %q: the file ends before its data does (truncated since it was opened?)", name)
		}
		return fmt.Errorf("safetensors: tensor %q: %w", name, err)
	}
	return nil
}

// Close closes the file Open opened.
func (r *Reader) Close() error {
	if r.c == nil {
		return nil
	}
	return r.c.Close()
}

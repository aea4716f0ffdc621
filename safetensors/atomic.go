package safetensors

import (
	"fmt"
	"io"
	"os"

	"github.com/tformer/tformer/internal/atomicfile"
)

// WriteFile atomically writes the encoding of f (see Encode) to path
// (following a symbolic link; a replaced file keeps its mode, a new one gets
// 0644 less the umask), streaming the tensor data. It uses the same mechanism as
// WriteFileAtomic: on success path holds the complete new file; on any error
// a previous file at path is left untouched and no temporary file remains.
func WriteFile(path string, f *File) error {
	return writeAtomic(path, 0o644, func(w io.Writer) error { return Write(w, f) })
}

// WriteFileAtomic atomically replaces the file at path with data. It writes
// to a temporary file in the same directory (named "."+base+".tmp-*"), sets
// its permissions to those of the file it replaces (or perm less the umask
// for a new file), fsyncs and
// closes it, renames it over path and finally fsyncs the directory. On any
// error the temporary file is removed and a previous file at path is left
// untouched (an error from the final directory fsync is reported even though
// the rename has already happened).
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	return writeAtomic(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// writeAtomic implements WriteFileAtomic with the content produced by fill.
func writeAtomic(path string, perm os.FileMode, fill func(io.Writer) error) error {
	if err := atomicfile.Write(path, perm, fill); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}

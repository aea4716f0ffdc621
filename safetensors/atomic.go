package safetensors

import (
	"fmt"
	"io"
	"os"

	"github.com/tformer/tformer/internal/atomicfile"
)

// WriteFile atomically writes the encoding of f (see Encode) to path
// (following a symbolic link; a replaced file keeps its mode, a new one gets
// 0644 less the umask), streaming the tensor data: it writes a temporary file
// in the same directory, fsyncs it, renames it over path and fsyncs the
// directory, so on success path holds the complete new file and on any error
// a previous file at path is left untouched and no temporary file remains.
func WriteFile(path string, f *File) error {
	return writeAtomic(path, 0o644, func(w io.Writer) error { return Write(w, f) })
}

// writeAtomic writes path atomically with the content produced by fill.
func writeAtomic(path string, perm os.FileMode, fill func(io.Writer) error) error {
	if err := atomicfile.Write(path, perm, fill); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}

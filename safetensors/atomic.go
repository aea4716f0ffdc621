package safetensors

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
)

// WriteFile atomically writes the encoding of f (see Encode) to path with
// permissions 0644, streaming the tensor data. It uses the same mechanism as
// WriteFileAtomic: on success path holds the complete new file; on any error
// a previous file at path is left untouched and no temporary file remains.
func WriteFile(path string, f *File) error {
	return writeAtomic(path, 0o644, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		if err := Write(bw, f); err != nil {
			return err
		}
		return bw.Flush()
	})
}

// WriteFileAtomic atomically replaces the file at path with data. It writes
// to a temporary file in the same directory (named "."+base+".tmp-*"), sets
// its permissions to exactly perm (not modified by the umask), fsyncs and
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
func writeAtomic(path string, perm os.FileMode, fill func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	tmpName := tmp.Name()
	renamed := false
	defer func() {
		if !renamed {
			tmp.Close() // may already be closed; the error is irrelevant here
			os.Remove(tmpName)
		}
	}()

	if err := fill(tmp); err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	if err := os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	renamed = true
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("safetensors: write %s: sync directory: %w", path, err)
	}
	return nil
}

// syncDir fsyncs a directory so that a rename within it is durable. Windows
// does not support syncing directories, so it is a no-op there.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}

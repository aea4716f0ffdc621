// Package atomicfile replaces files atomically: content goes to a temporary
// file in the same directory, which is fsynced, closed and renamed over the
// target, and then the directory is fsynced. A reader never sees a partial
// file, and a crash or error mid-write leaves the previous file untouched.
package atomicfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
)

// Write replaces path with what fill writes (through a 1 MiB buffer), with
// permissions exactly perm. On any error the temporary file is removed and
// a previous file at path is left as it was; an error from the final
// directory fsync is reported even though the rename has happened.
func Write(path string, perm os.FileMode, fill func(io.Writer) error) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	name := tmp.Name()
	renamed := false
	defer func() {
		if !renamed {
			tmp.Close() // may already be closed; the error is irrelevant here
			os.Remove(name)
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	steps := []func() error{
		func() error { return fill(bw) },
		bw.Flush,
		func() error { return tmp.Chmod(perm) },
		tmp.Sync,
		tmp.Close,
		func() error { return os.Rename(name, path) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	renamed = true
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("write %s: sync directory: %w", path, err)
	}
	return nil
}

// WriteFile replaces path with data atomically (see Write).
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// syncDir fsyncs a directory so that a rename within it is durable. Windows
// cannot sync directories, so it is a no-op there.
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

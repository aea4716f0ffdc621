// Package atomicfile replaces files atomically: content goes to a temporary
// file in the same directory, which is fsynced, closed and renamed over the
// target, and then the directory is fsynced. A reader never sees a partial
// file, and a crash or error mid-write leaves the previous file untouched.
//
// A symbolic link at the target is followed (the file it points to is
// replaced, the link kept); a file replaced keeps its permission bits, and a
// new one gets the permissions asked for less the process's umask, as
// os.WriteFile does. Temporary files are named "."+base+".tmp-*"; ones left
// behind by a killed process are removed by RemoveStale.
package atomicfile

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// maxLinks bounds the symbolic links followed to the target.
const maxLinks = 40

// Resolve returns the file path names after following symbolic links (the
// last one may point to a file that does not exist yet).
func Resolve(path string) (string, error) {
	for i := 0; i < maxLinks; i++ {
		st, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return path, nil
		}
		if err != nil {
			return "", err
		}
		if st.Mode()&fs.ModeSymlink == 0 {
			return path, nil
		}
		dst, err := os.Readlink(path)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(dst) {
			dst = filepath.Join(filepath.Dir(path), dst)
		}
		path = dst
	}
	return "", fmt.Errorf("%s: too many levels of symbolic links", path)
}

// tempPrefix is the name prefix of the temporary files for target base.
func tempPrefix(base string) string { return "." + base + ".tmp-" }

// Write replaces path with what fill writes (through a 1 MiB buffer). A
// file replaced keeps its permission bits; a new file gets perm less the
// umask. On any error the temporary file is removed and a previous file at
// path is left as it was; an error from the final directory fsync is
// reported even though the rename has happened.
func Write(path string, perm os.FileMode, fill func(io.Writer) error) error {
	target, err := Resolve(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	chmod := false
	if st, err := os.Stat(target); err == nil {
		if st.IsDir() {
			return fmt.Errorf("write %s: is a directory", path)
		}
		perm, chmod = st.Mode().Perm(), true
	}
	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	tmp, name, err := createTemp(dir, tempPrefix(base), perm)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
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
		func() error {
			if chmod {
				return tmp.Chmod(perm)
			}
			return nil
		},
		tmp.Sync,
		tmp.Close,
		func() error { return os.Rename(name, target) },
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

// createTemp creates a new file prefix+random in dir with permissions perm
// (less the umask, which the system applies on creation).
func createTemp(dir, prefix string, perm os.FileMode) (*os.File, string, error) {
	for i := 0; ; i++ {
		var r [6]byte
		if _, err := rand.Read(r[:]); err != nil {
			return nil, "", err
		}
		name := filepath.Join(dir, prefix+hex.EncodeToString(r[:]))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
		if errors.Is(err, fs.ErrExist) && i < 100 {
			continue
		}
		return f, name, err
	}
}

// WriteFile replaces path with data atomically (see Write).
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// RemoveStale removes the temporary files a killed writer of path left
// behind and returns their names. Call it only while no other process can
// be writing path (for example, holding a Lock on it).
func RemoveStale(path string) ([]string, error) {
	target, err := Resolve(path)
	if err != nil {
		return nil, err
	}
	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, e := range ents {
		if e.Type().IsRegular() && strings.HasPrefix(e.Name(), tempPrefix(base)) {
			p := filepath.Join(dir, e.Name())
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return removed, err
			}
			removed = append(removed, p)
		}
	}
	return removed, nil
}

// CheckWritable reports whether Write could replace path: the path is not
// empty or a directory, and a file can be created in its (existing)
// directory. It creates and removes one temporary file there.
func CheckWritable(path string) error {
	if path == "" {
		return errors.New("the path is empty")
	}
	target, err := Resolve(path)
	if err != nil {
		return err
	}
	if st, err := os.Stat(target); err == nil && st.IsDir() {
		return fmt.Errorf("%s is a directory", path)
	}
	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	f, name, err := createTemp(dir, tempPrefix(base), 0o600)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return fmt.Errorf("cannot create a file in %s: %w", dir, pe.Err)
		}
		return err
	}
	f.Close()
	return os.Remove(name)
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

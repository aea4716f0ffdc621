package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// Lock is an exclusive lock on a file path, held through a lock file beside
// it.
type Lock struct {
	f    *os.File
	path string
}

// LockPath is the lock file of path: "."+base+".lock" in its directory
// (after following symbolic links, so two names of one file share a lock).
func LockPath(path string) (string, error) {
	target, err := Resolve(path)
	if err != nil {
		return "", err
	}
	dir, base := filepath.Split(target)
	return filepath.Join(dir, "."+base+".lock"), nil
}

// ErrLocked is returned by TryLock when another process holds the lock.
type ErrLocked struct{ LockFile string }

func (e *ErrLocked) Error() string {
	return fmt.Sprintf("another process holds the lock %s", e.LockFile)
}

// TryLock takes the lock of path without waiting, or returns an *ErrLocked.
func TryLock(path string) (*Lock, error) {
	lp, err := LockPath(path)
	if err != nil {
		return nil, err
	}
	for attempt := 0; attempt < 10; attempt++ {
		flags := os.O_RDWR | os.O_CREATE
		if !lockingSupported {
			flags |= os.O_EXCL
		}
		f, err := os.OpenFile(lp, flags, 0o644)
		if os.IsExist(err) {
			return nil, &ErrLocked{lp}
		}
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		ok, err := tryLock(f)
		if err != nil || !ok {
			f.Close()
			if err != nil {
				return nil, err
			}
			return nil, &ErrLocked{lp}
		}
		if sameFile(f) {
			fmt.Fprintf(f, "%d\n", os.Getpid())
			return &Lock{f: f, path: lp}, nil
		}
		f.Close() // removed by its last holder meanwhile: take the new one
	}
	return nil, fmt.Errorf("lock %s: the lock file keeps changing", path)
}

// Unlock removes the lock file and releases the lock.
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := os.Remove(l.path)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}

//go:build unix

package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockingSupported says whether tryLock really locks.
const lockingSupported = true

// tryLock takes an exclusive advisory lock on f without waiting. The system
// releases it when the process ends, however it ends (kill -9 included), so
// a lock file left on disk never blocks a later run.
func tryLock(f *os.File) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return true, nil
}

// sameFile reports whether f is still the file at its path (a releasing
// holder may have removed it between our open and our lock).
func sameFile(f *os.File) bool {
	a, err1 := f.Stat()
	b, err2 := os.Stat(f.Name())
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

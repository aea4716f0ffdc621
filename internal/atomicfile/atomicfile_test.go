package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteReplacesAndCleansUp(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := WriteFile(p, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("two"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	st, _ := os.Stat(p)
	if string(b) != "two" || st.Mode().Perm() != 0o600 { // the replaced file's mode is kept
		t.Fatalf("got %q mode %v", b, st.Mode())
	}
	// a failing fill leaves the old content and no temporary file
	boom := errors.New("boom")
	err := Write(p, 0o644, func(w io.Writer) error { w.Write([]byte("partial")); return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	b, _ = os.ReadFile(p)
	ents, _ := os.ReadDir(dir)
	if string(b) != "two" || len(ents) != 1 {
		t.Fatalf("after failure: %q, %d entries", b, len(ents))
	}
	// a target that is a directory fails without touching it
	if err := WriteFile(dir, []byte("x"), 0o644); err == nil {
		t.Fatal("writing over a directory: want error")
	}
}

func TestCheckWritable(t *testing.T) {
	dir := t.TempDir()
	if err := CheckWritable(filepath.Join(dir, "ok")); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("CheckWritable left %d files", len(ents))
	}
	ro := filepath.Join(dir, "ro")
	os.Mkdir(ro, 0o555)
	bad := map[string]string{
		"":                            "empty",
		filepath.Join(dir, "no", "x"): "cannot create",
		dir:                           "is a directory",
	}
	if os.Getuid() != 0 { // root writes anywhere
		bad[filepath.Join(ro, "x")] = "permission denied"
	}
	for p, want := range bad {
		if err := CheckWritable(p); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckWritable(%q) = %v, want %q", p, err, want)
		}
	}
}

func TestLockExcludes(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m.st")
	l, err := TryLock(p)
	if err != nil {
		t.Fatal(err)
	}
	var locked *ErrLocked
	if _, err := TryLock(p); !errors.As(err, &locked) {
		t.Fatalf("second lock: %v", err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	l2, err := TryLock(p)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	l2.Unlock()
}

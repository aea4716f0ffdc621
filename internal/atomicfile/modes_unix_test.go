//go:build unix

package atomicfile

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestModesLinksAndStale: issue 15 item 7 — a new file respects the umask,
// a replaced one keeps its mode, a symlinked target is followed (the link
// stays a link), and RemoveStale removes a killed writer's temporary files.
func TestModesLinksAndStale(t *testing.T) {
	dir := t.TempDir()
	old := syscall.Umask(0o077)
	p := filepath.Join(dir, "new")
	err := WriteFile(p, []byte("x"), 0o644)
	syscall.Umask(old)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Fatalf("new file under umask 077: mode %v, want 0600", st.Mode().Perm())
	}
	os.Chmod(p, 0o640)
	if err := WriteFile(p, []byte("y"), 0o644); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o640 {
		t.Fatalf("rewritten 0640 file: mode %v", st.Mode().Perm())
	}
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o755)
	real := filepath.Join(sub, "real")
	link := filepath.Join(dir, "link")
	if err := os.Symlink("sub/real", link); err != nil {
		t.Fatal(err)
	}
	for _, content := range []string{"first", "second"} { // dangling, then existing
		if err := WriteFile(link, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if st, _ := os.Lstat(link); st.Mode()&os.ModeSymlink == 0 {
			t.Fatal("the symbolic link was replaced by a file")
		}
		if b, _ := os.ReadFile(real); string(b) != content {
			t.Fatalf("link target holds %q, want %q", b, content)
		}
	}
	stale := filepath.Join(sub, ".real.tmp-123abc")
	other := filepath.Join(sub, ".other.tmp-1")
	os.WriteFile(stale, []byte("partial"), 0o600)
	os.WriteFile(other, []byte("keep"), 0o600)
	removed, err := RemoveStale(link)
	if err != nil || len(removed) != 1 || removed[0] != stale {
		t.Fatalf("RemoveStale = %v, %v", removed, err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Fatal("RemoveStale removed another file's temporary file")
	}
}

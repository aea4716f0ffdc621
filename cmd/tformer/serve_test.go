package main

import (
	"bufio"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The binary serves the page without a model, answers over loopback, and
// stops cleanly on SIGTERM.
func TestServeSIGTERM(t *testing.T) {
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	br := bufio.NewReader(stderr)
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	_, url, ok := strings.Cut(strings.TrimSpace(line), " on ")
	if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("first line %q", line)
	}
	for _, p := range []string{"health", "", "api/presets"} {
		resp, err := http.Get(url + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET /%s: %d", p, resp.StatusCode)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { rest, _ := io.ReadAll(br); line = string(rest); done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil || !strings.Contains(line, "server stopped") {
			t.Errorf("after SIGTERM: %v, stderr %q", err, line)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
}

func TestServeBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--addr", "0.0.0.0:0"},
		{"serve", "--addr", "nonsense"},
		{"serve", "--concurrency", "0"},
		{"serve", "--chat-template", "x.jinja"},
	} {
		_, se, code := run(t, args...)
		if code == 0 || strings.Count(strings.TrimSpace(se), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q (want one line and a failure)", args, code, se)
		}
	}
}

package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testdata/tie.jsonl and untie.jsonl are small made-up metrics files in the
// format `train --metrics` writes (keys step, loss, val_loss — null when
// not evaluated —, lr, grad_norm, tokens_per_s, gflops, mfu).
func TestPlotMetrics(t *testing.T) {
	out := filepath.Join(t.TempDir(), "loss.png")
	var so bytes.Buffer
	o := &plotOptions{Files: []string{"testdata/tie.jsonl", "testdata/untie.jsonl"}, Out: out, Title: "Loss"}
	if err := plotRun(o, &so); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(so.String(), "wrote "+out) {
		t.Errorf("stdout %q does not say where it wrote", so.String())
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil || img.Bounds().Dx() < 600 {
		t.Fatalf("not a chart: %v %v", err, img)
	}
	r, err := readMetrics("testdata/tie.jsonl")
	if err != nil || len(r.train) != 30 || len(r.val) != 7 {
		t.Errorf("tie.jsonl: %d train, %d validation points, %v", len(r.train), len(r.val), err)
	}
}

func TestPlotBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(s), 0o644)
		return p
	}
	for _, c := range []struct {
		o    plotOptions
		want string
	}{
		{plotOptions{Files: []string{write("bad.jsonl", "{\"step\": 1, \"loss\": 2}\nnot json\n")}}, "bad.jsonl:2: not a JSON object"},
		{plotOptions{Files: []string{write("nostep.jsonl", `{"loss": 2}`)}}, `needs "step" and "loss"`},
		{plotOptions{Files: []string{write("empty.jsonl", "\n")}}, "has no metrics lines"},
		{plotOptions{Files: []string{filepath.Join(dir, "missing.jsonl")}}, "no such file"},
		{plotOptions{Files: []string{"testdata/tie.jsonl"}, Labels: []string{"a", "b"}}, "2 labels for 1 files"},
		{plotOptions{Files: []string{"testdata/tie.jsonl"}, Out: filepath.Join(dir, "x.jpg")}, "must end in .svg or .png"},
	} {
		if c.o.Out == "" {
			c.o.Out = filepath.Join(dir, "o.png")
		}
		err := plotRun(&c.o, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.o, err, c.want)
		}
	}
}

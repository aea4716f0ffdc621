package main

import (
	"bytes"
	"image/png"
	"io"
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
	if err := plotRun(o, &so, io.Discard); err != nil {
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
		err := plotRun(&c.o, &bytes.Buffer{}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.o, err, c.want)
		}
	}
}

// plot reads what train --metrics really writes: a short run, evaluated
// every 4 steps, resumed (appending to the file), then resumed again from
// an earlier copy of the checkpoint, as after a crash, so the file's steps
// go back and the later records must win.
func TestPlotRealTrainMetrics(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	shape := strings.Fields("--d-model 16 --layers 1 --heads 2 --max-seq 16 --seq 16 --batch 2 --eval-every 4 --eval-windows 2 --sample 0")
	if out, err := runTformer(append([]string{"train", "--steps", "8", "--metrics", "m.jsonl", "--out", "m.safetensors"}, shape...), ""); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	at8, err := os.ReadFile("m.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	resume := func(steps string) {
		t.Helper()
		if out, err := runTformer([]string{"train", "--resume", "m.safetensors", "--steps", steps, "--metrics", "m.jsonl"}, ""); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	resume("12")
	if err := os.WriteFile("m.safetensors", at8, 0o644); err != nil {
		t.Fatal(err)
	}
	resume("16")
	r, err := readMetrics("m.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if r.restarts != 1 || len(r.train) != 16 || r.train[0].X != 1 || r.train[15].X != 16 {
		t.Fatalf("%d restarts, train steps %v: want 1 restart and steps 1..16", r.restarts, r.train)
	}
	for i, p := range r.train {
		if p.X != float64(i+1) {
			t.Fatalf("train step %d is %v: the steps of the abandoned resume were kept", i, p.X)
		}
	}
	var vx []float64
	for _, p := range r.val {
		vx = append(vx, p.X)
	}
	if len(vx) != 4 || vx[0] != 4 || vx[1] != 8 || vx[2] != 12 || vx[3] != 16 {
		t.Errorf("validation at steps %v, want 4, 8, 12, 16", vx)
	}
	var so, se bytes.Buffer
	if err := plotRun(&plotOptions{Files: []string{"m.jsonl"}, Out: "loss.png", Title: "Loss"}, &so, &se); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(se.String(), "the steps go back 1 time(s)") {
		t.Errorf("no note about the restart: %q", se.String())
	}
	f, err := os.Open("loss.png")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Fatal(err)
	}
}

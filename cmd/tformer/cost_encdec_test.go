package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestCostEncDec(t *testing.T) {
	var b bytes.Buffer
	if err := costEncDecRun(&b, "bart-base", "64,512", "64"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "unique 139420416") || !strings.Contains(b.String(), "cross-attn") {
		t.Errorf("output:\n%s", b.String())
	}
	for _, c := range []struct{ preset, src, tgt, want string }{
		{"bart-base", "2000", "5", "max_positions"},
		{"bart-base", "-3", "5", "--src-seq"},
		{"t5-small", "5", "x", "--tgt-seq"},
		{"gpt2", "5", "5", "--preset"},
	} {
		b.Reset()
		err := costEncDecRun(&b, c.preset, c.src, c.tgt)
		if err == nil || !strings.Contains(err.Error(), c.want) || b.Len() != 0 {
			t.Errorf("%+v: err %v, output %q", c, err, b.String())
		}
	}
}

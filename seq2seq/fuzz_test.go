package seq2seq

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzReadTSV: any input gives pairs or one error line, never a panic;
// accepted pairs fit the limits, hold no tab or newline, and are one per
// line of the input.
func FuzzReadTSV(f *testing.F) {
	for _, s := range []string{"a\tb\n", "a\tb\r\nc\td", "\n", "a\n", "a\tb\tc\n", "\t\n", "ab\tcd\n\n", "x\ty\r\r\n", "é\t\xff\n"} {
		f.Add([]byte(s))
	}
	lim := Limits{MaxSrc: 16, MaxTgt: 12}
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := ReadTSV(bytes.NewReader(data), byteVocab, lim)
		if err != nil {
			if strings.Contains(err.Error(), "\n") || ps != nil {
				t.Fatalf("error %q with %d pairs", err, len(ps))
			}
			return
		}
		lines := bytes.Count(data, []byte("\n"))
		if len(data) > 0 && data[len(data)-1] != '\n' {
			lines++
		}
		if len(ps) != lines {
			t.Fatalf("%d pairs from %d lines", len(ps), lines)
		}
		if err := CheckPairs(ps, byteVocab, lim); err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			for _, ids := range [][]int32{p.Src, p.Tgt} {
				for _, id := range ids {
					if id == '\t' || id == '\n' {
						t.Fatalf("pair %v holds a separator", p)
					}
				}
			}
		}
	})
}

package seq2seq

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// MaxLineBytes is the longest TSV line ReadTSV accepts (before any
// tokenization, so nothing is allocated from a line's claimed size).
const MaxLineBytes = 1 << 20

// ReadTSV reads source<TAB>target lines ('\n' or "\r\n" ends) into pairs.
// Every line must hold exactly two non-empty fields that fit lim once
// tokenized; the first that does not is an error naming its line number
// (1-based). A file without lines is an error too.
func ReadTSV(r io.Reader, v Vocab, lim Limits) ([]Pair, error) {
	if err := lim.Validate(); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLineBytes)
	var out []Pair
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSuffix(sc.Bytes(), []byte("\r"))
		if len(line) == 0 {
			return nil, fmt.Errorf("line %d: empty line (want source<TAB>target)", n)
		}
		src, tgt, ok := bytes.Cut(line, []byte("\t"))
		if !ok {
			return nil, fmt.Errorf("line %d: one column, no tab (want source<TAB>target)", n)
		}
		if bytes.IndexByte(tgt, '\t') >= 0 {
			return nil, fmt.Errorf("line %d: %d tab-separated columns (want 2: source<TAB>target)", n, bytes.Count(line, []byte("\t"))+1)
		}
		p := Pair{Src: v.Tok.Encode(src), Tgt: v.Tok.Encode(tgt)}
		if err := lim.check(p); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("line %d: longer than %d bytes", n+1, MaxLineBytes)
		}
		return nil, fmt.Errorf("line %d: %w", n+1, err)
	}
	if len(out) == 0 {
		return nil, errors.New("no lines (want source<TAB>target lines)")
	}
	return out, nil
}

// LoadTSV reads the TSV file at path (see ReadTSV).
func LoadTSV(path string, v Vocab, lim Limits) ([]Pair, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read pairs: %w", err)
	}
	defer f.Close()
	ps, err := ReadTSV(f, v, lim)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ps, nil
}

// WriteTSV writes examples as source<TAB>target lines, which ReadTSV reads
// back; a tab, newline or carriage return inside a field is an error
// naming the example (1-based), as is an empty field.
func WriteTSV(w io.Writer, examples []Example) error {
	bw := bufio.NewWriter(w)
	for i, e := range examples {
		for _, f := range []string{e.Source, e.Target} {
			if f == "" || strings.ContainsAny(f, "\t\n\r") {
				return fmt.Errorf("example %d: %.40q is empty or holds a tab or line break", i+1, f)
			}
		}
		bw.WriteString(e.Source)
		bw.WriteByte('\t')
		bw.WriteString(e.Target)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

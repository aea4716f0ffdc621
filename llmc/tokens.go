package llmc

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/tformer/tformer/internal/atomicfile"
)

// MaxTokenVocab is the largest vocabulary a token file can hold: its tokens
// are uint16.
const MaxTokenVocab = 1 << 16

// IsTokenFile reports whether b, the start of a file, begins like an llm.c
// token file (the magic number of its uint16 or its uint32 layout).
func IsTokenFile(b []byte) bool {
	return len(b) >= 4 && (binary.LittleEndian.Uint32(b) == TokensMagic || binary.LittleEndian.Uint32(b) == Tokens32Magic)
}

// ParseTokens decodes an llm.c token file held in b.
func ParseTokens(b []byte) ([]int32, error) {
	if len(b) < HeaderBytes {
		return nil, fmt.Errorf("llm.c token file is %d bytes, shorter than its %d-byte header", len(b), HeaderBytes)
	}
	v := func(i int) int64 { return int64(int32(binary.LittleEndian.Uint32(b[4*i:]))) }
	if v(0) != TokensMagic {
		if v(0) == CheckpointMagic {
			return nil, fmt.Errorf("this is an llm.c model checkpoint (magic %d), not a token file", CheckpointMagic)
		}
		return nil, fmt.Errorf("not an llm.c token file: magic number %d, want %d", v(0), TokensMagic)
	}
	if v(1) != TokensVersion {
		return nil, fmt.Errorf("llm.c token file version %d is not supported (want %d: uint16 tokens)", v(1), TokensVersion)
	}
	n := v(2)
	if n < 0 {
		return nil, fmt.Errorf("llm.c token file: negative token count %d", n)
	}
	if got := int64(len(b) - HeaderBytes); got != 2*n {
		return nil, fmt.Errorf("llm.c token file: header says %d tokens (%d bytes) but %d bytes follow it", n, 2*n, got)
	}
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = int32(binary.LittleEndian.Uint16(b[HeaderBytes+2*i:]))
	}
	return ids, nil
}

// ReadTokens reads an llm.c token file.
func ReadTokens(path string) ([]int32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read tokens: %w", err)
	}
	ids, err := ParseTokens(b)
	if err != nil {
		return nil, fmt.Errorf("read tokens %s: %w", path, err)
	}
	return ids, nil
}

// checkTokens reports an id that a token file cannot hold.
func checkTokens(ids []int32) error {
	if int64(len(ids)) > math.MaxInt32 {
		return fmt.Errorf("%d tokens are more than a token file's int32 count can hold", len(ids))
	}
	for i, id := range ids {
		if id < 0 || id >= MaxTokenVocab {
			return fmt.Errorf("token %d has id %d; llm.c token files hold ids in [0, %d) (uint16)", i, id, MaxTokenVocab)
		}
	}
	return nil
}

func writeTokens(w io.Writer, ids []int32) error {
	hb := make([]byte, HeaderBytes)
	binary.LittleEndian.PutUint32(hb[0:], TokensMagic)
	binary.LittleEndian.PutUint32(hb[4:], TokensVersion)
	binary.LittleEndian.PutUint32(hb[8:], uint32(len(ids)))
	if _, err := w.Write(hb); err != nil {
		return err
	}
	buf := make([]byte, 0, 1<<16)
	for len(ids) > 0 {
		n := min(len(ids), cap(buf)/2)
		buf = buf[:2*n]
		for i, id := range ids[:n] {
			binary.LittleEndian.PutUint16(buf[2*i:], uint16(id))
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// EncodeTokens returns the llm.c token file holding ids. Every id must fit
// in a uint16.
func EncodeTokens(ids []int32) ([]byte, error) {
	if err := checkTokens(ids); err != nil {
		return nil, fmt.Errorf("llm.c token file: %w", err)
	}
	var b bytes.Buffer
	_ = writeTokens(&b, ids) // writing to memory cannot fail
	return b.Bytes(), nil
}

// WriteTokens writes ids to path as an llm.c token file, atomically. Every
// id must fit in a uint16.
func WriteTokens(path string, ids []int32) error {
	if err := checkTokens(ids); err != nil {
		return fmt.Errorf("write tokens %s: %w", path, err)
	}
	if err := atomicfile.Write(path, 0o644, func(w io.Writer) error { return writeTokens(w, ids) }); err != nil {
		return fmt.Errorf("write tokens: %w", err)
	}
	return nil
}

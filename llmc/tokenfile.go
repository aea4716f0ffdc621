package llmc

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/tformer/tformer/internal/atomicfile"
)

// The uint32 token file of llm.c's Llama 3 data scripts: the same 256-int32
// header with its own magic and version, then the tokens as uint32.
const (
	Tokens32Magic   = 20240801 // header[0] of a uint32 token file
	Tokens32Version = 7        // uint32 tokens
)

// Header slots in which tformer records the tokenizer of a token file.
// llm.c writes zeros there and reads only header[0..2], so files that carry
// them are still llm.c token files.
const (
	tokMarkSlot  = 3          // tokInfoMark when the slots below are set
	tokInfoMark  = 0x726d6674 // "tfmr"
	tokVocabSlot = 4          // the tokenizer's vocabulary size
	tokHashSlot  = 5          // two slots: its fingerprint, low word first
	tokNameSlot  = 7          // length of its name, then the name's bytes
	// MaxTokenizerName is the longest tokenizer name a header can hold.
	MaxTokenizerName = 4 * (HeaderInts - tokNameSlot - 1)
)

// TokenFileInfo is what a token file says about the tokenizer that made
// it. The zero value means the file does not say (llm.c's own files).
type TokenFileInfo struct {
	Tokenizer   string // the name tformer knows it by ("gpt2", a tokenizer.json path, ...)
	Vocab       int    // its vocabulary size
	Fingerprint uint64 // a hash of its vocabulary
}

// Known reports whether the file named its tokenizer.
func (i TokenFileInfo) Known() bool { return i.Vocab > 0 }

// EncodeTokenFile returns the token file holding ids, in llm.c's uint16
// layout (magic 20240520, version 1) when every id fits, else in its uint32
// layout (magic 20240801, version 7), with info in the header. It returns
// whether the uint32 layout was used.
func EncodeTokenFile(ids []int32, info TokenFileInfo) ([]byte, bool, error) {
	var b bytes.Buffer
	wide, err := writeTokenFile(&b, ids, info)
	if err != nil {
		return nil, false, fmt.Errorf("llm.c token file: %w", err)
	}
	return b.Bytes(), wide, nil
}

// WriteTokenFile writes EncodeTokenFile's result to path, atomically.
func WriteTokenFile(path string, ids []int32, info TokenFileInfo) (wide bool, err error) {
	err = atomicfile.Write(path, 0o644, func(w io.Writer) error {
		var err error
		wide, err = writeTokenFile(w, ids, info)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("write tokens %s: %w", path, err)
	}
	return wide, nil
}

func writeTokenFile(w io.Writer, ids []int32, info TokenFileInfo) (bool, error) {
	if int64(len(ids)) > math.MaxInt32 {
		return false, fmt.Errorf("%d tokens are more than a token file's int32 count can hold", len(ids))
	}
	if len(info.Tokenizer) > MaxTokenizerName {
		info.Tokenizer = "" // the fingerprint still identifies it
	}
	wide := false
	for i, id := range ids {
		if id < 0 {
			return false, fmt.Errorf("token %d has the negative id %d", i, id)
		}
		if id >= MaxTokenVocab {
			wide = true
		}
	}
	hb := make([]byte, HeaderBytes)
	put := func(slot int, v uint32) { binary.LittleEndian.PutUint32(hb[4*slot:], v) }
	if wide {
		put(0, Tokens32Magic)
		put(1, Tokens32Version)
	} else {
		put(0, TokensMagic)
		put(1, TokensVersion)
	}
	put(2, uint32(len(ids)))
	if info.Vocab > 0 && info.Vocab <= math.MaxInt32 {
		put(tokMarkSlot, tokInfoMark)
		put(tokVocabSlot, uint32(info.Vocab))
		put(tokHashSlot, uint32(info.Fingerprint))
		put(tokHashSlot+1, uint32(info.Fingerprint>>32))
		put(tokNameSlot, uint32(len(info.Tokenizer)))
		copy(hb[4*(tokNameSlot+1):], info.Tokenizer)
	}
	if _, err := w.Write(hb); err != nil {
		return false, err
	}
	width := 2
	if wide {
		width = 4
	}
	buf := make([]byte, 0, 1<<16)
	for len(ids) > 0 {
		n := min(len(ids), cap(buf)/width)
		buf = buf[:width*n]
		for i, id := range ids[:n] {
			if wide {
				binary.LittleEndian.PutUint32(buf[4*i:], uint32(id))
			} else {
				binary.LittleEndian.PutUint16(buf[2*i:], uint16(id))
			}
		}
		if _, err := w.Write(buf); err != nil {
			return false, err
		}
		ids = ids[n:]
	}
	return wide, nil
}

// ParseTokenFile decodes a token file of either layout and what its header
// says about its tokenizer.
func ParseTokenFile(b []byte) ([]int32, TokenFileInfo, error) {
	if len(b) < HeaderBytes {
		return nil, TokenFileInfo{}, fmt.Errorf("llm.c token file is %d bytes, shorter than its %d-byte header", len(b), HeaderBytes)
	}
	v := func(i int) uint32 { return binary.LittleEndian.Uint32(b[4*i:]) }
	var width int
	switch {
	case v(0) == TokensMagic && v(1) == TokensVersion:
		width = 2
	case v(0) == Tokens32Magic && v(1) == Tokens32Version:
		width = 4
	case v(0) == TokensMagic || v(0) == Tokens32Magic:
		return nil, TokenFileInfo{}, fmt.Errorf("llm.c token file: magic %d with version %d is not supported (want %d/%d for uint16 or %d/%d for uint32 tokens)",
			v(0), v(1), TokensMagic, TokensVersion, Tokens32Magic, Tokens32Version)
	case v(0) == CheckpointMagic:
		return nil, TokenFileInfo{}, fmt.Errorf("this is an llm.c model checkpoint (magic %d), not a token file", CheckpointMagic)
	default:
		return nil, TokenFileInfo{}, fmt.Errorf("not an llm.c token file: magic number %d", v(0))
	}
	n := int64(int32(v(2)))
	if n < 0 {
		return nil, TokenFileInfo{}, fmt.Errorf("llm.c token file: negative token count %d", n)
	}
	if got := int64(len(b) - HeaderBytes); got != int64(width)*n {
		return nil, TokenFileInfo{}, fmt.Errorf("llm.c token file: header says %d tokens (%d bytes) but %d bytes follow it", n, int64(width)*n, got)
	}
	var info TokenFileInfo
	if v(tokMarkSlot) == tokInfoMark {
		l := v(tokNameSlot)
		if l > MaxTokenizerName || v(tokVocabSlot) == 0 || v(tokVocabSlot) > math.MaxInt32 {
			return nil, TokenFileInfo{}, fmt.Errorf("llm.c token file: corrupt tokenizer record in the header")
		}
		info = TokenFileInfo{
			Tokenizer:   string(b[4*(tokNameSlot+1) : 4*(tokNameSlot+1)+int(l)]),
			Vocab:       int(v(tokVocabSlot)),
			Fingerprint: uint64(v(tokHashSlot)) | uint64(v(tokHashSlot+1))<<32,
		}
	}
	ids := make([]int32, n)
	for i := range ids {
		if width == 2 {
			ids[i] = int32(binary.LittleEndian.Uint16(b[HeaderBytes+2*i:]))
			continue
		}
		u := binary.LittleEndian.Uint32(b[HeaderBytes+4*i:])
		if u > math.MaxInt32 {
			return nil, TokenFileInfo{}, fmt.Errorf("llm.c token file: token %d has id %d, beyond int32", i, u)
		}
		ids[i] = int32(u)
	}
	if info.Known() {
		for i, id := range ids {
			if int(id) >= info.Vocab {
				return nil, TokenFileInfo{}, fmt.Errorf("llm.c token file: token %d has id %d, outside its tokenizer's %d tokens", i, id, info.Vocab)
			}
		}
	}
	return ids, info, nil
}

package llmc

import (
	"encoding/binary"
	"slices"
	"strings"
	"testing"
)

func TestTokenFileLayouts(t *testing.T) {
	info := TokenFileInfo{Tokenizer: "models/llama/tokenizer.json", Vocab: 128256, Fingerprint: 0x0123456789abcdef}
	for _, c := range []struct {
		ids  []int32
		wide bool
	}{
		{[]int32{0, 1, 65535, 7}, false},
		{[]int32{0, 65536, 128255, 3}, true},
		{nil, false},
	} {
		b, wide, err := EncodeTokenFile(c.ids, info)
		if err != nil {
			t.Fatal(err)
		}
		if wide != c.wide {
			t.Errorf("%v: wide %v, want %v", c.ids, wide, c.wide)
		}
		magic, version := binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:])
		if c.wide && (magic != 20240801 || version != 7 || len(b) != HeaderBytes+4*len(c.ids)) {
			t.Errorf("uint32 layout: magic %d version %d, %d bytes", magic, version, len(b))
		}
		if !c.wide && (magic != 20240520 || version != 1 || len(b) != HeaderBytes+2*len(c.ids)) {
			t.Errorf("uint16 layout: magic %d version %d, %d bytes", magic, version, len(b))
		}
		ids, got, err := ParseTokenFile(b)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids, c.ids) && len(ids)+len(c.ids) > 0 || got != info {
			t.Errorf("round trip: %v %+v, want %v %+v", ids, got, c.ids, info)
		}
		if !IsTokenFile(b) {
			t.Error("IsTokenFile is false")
		}
		if !c.wide {
			// llm.c's reader (and ParseTokens) ignore the tokenizer slots.
			if old, err := ParseTokens(b); err != nil || !slices.Equal(old, c.ids) && len(c.ids) > 0 {
				t.Errorf("ParseTokens: %v %v", old, err)
			}
		}
	}
	// A file without the record (as llm.c writes it).
	b, err := EncodeTokens([]int32{5, 6})
	if err != nil {
		t.Fatal(err)
	}
	if ids, info, err := ParseTokenFile(b); err != nil || info.Known() || !slices.Equal(ids, []int32{5, 6}) {
		t.Errorf("llm.c file: %v %+v %v", ids, info, err)
	}
}

func TestTokenFileBad(t *testing.T) {
	good, _, _ := EncodeTokenFile([]int32{1, 70000}, TokenFileInfo{Tokenizer: "x", Vocab: 80000})
	mut := func(f func(b []byte)) []byte { b := slices.Clone(good); f(b); return b }
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"short", good[:10], "shorter"},
		{"version", mut(func(b []byte) { b[4] = 9 }), "version 9"},
		{"count", mut(func(b []byte) { b[8] = 3 }), "header says 3 tokens"},
		{"negative", mut(func(b []byte) { binary.LittleEndian.PutUint32(b[8:], 1<<31) }), "negative"},
		{"name", mut(func(b []byte) { binary.LittleEndian.PutUint32(b[4*tokNameSlot:], 1<<30) }), "corrupt"},
		{"vocab", mut(func(b []byte) { binary.LittleEndian.PutUint32(b[4*tokVocabSlot:], 100) }), "outside its tokenizer's 100"},
		{"checkpoint", mut(func(b []byte) { binary.LittleEndian.PutUint32(b, CheckpointMagic) }), "checkpoint"},
	} {
		if _, _, err := ParseTokenFile(c.b); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	if _, _, err := EncodeTokenFile([]int32{-1}, TokenFileInfo{}); err == nil {
		t.Error("negative id accepted")
	}
}

func FuzzParseTokenFile(f *testing.F) {
	b, _, _ := EncodeTokenFile([]int32{1, 70000}, TokenFileInfo{Tokenizer: "x", Vocab: 80000})
	f.Add(b)
	b, _, _ = EncodeTokenFile([]int32{1, 2}, TokenFileInfo{})
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		ids, info, err := ParseTokenFile(b)
		if err != nil {
			return
		}
		out, _, err := EncodeTokenFile(ids, info)
		if err != nil {
			t.Fatal(err)
		}
		ids2, info2, err := ParseTokenFile(out)
		if err != nil || !slices.Equal(ids, ids2) || info2 != info && len(info.Tokenizer) <= MaxTokenizerName {
			t.Fatalf("round trip: %v %v", err, info2)
		}
	})
}

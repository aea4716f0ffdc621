package tokenizer

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// protoBytes appends a length-delimited field.
func protoBytes(b []byte, num int, data []byte) []byte {
	b = binary.AppendUvarint(b, uint64(num)<<3|2)
	b = binary.AppendUvarint(b, uint64(len(data)))
	return append(b, data...)
}

func protoVarint(b []byte, num int, v uint64) []byte {
	return binary.AppendUvarint(binary.AppendUvarint(b, uint64(num)<<3), v)
}

// TestSpieceMatchesTokenizerJSON writes the albert fixture's vocabulary as
// a spiece.model (ModelProto: pieces with scores and types, a unigram
// trainer_spec) and checks that LoadSpiece encodes every fixture text as
// the fixture's tokenizer.json does (whose ids the JavaScript reference
// gave).
func TestSpieceMatchesTokenizerJSON(t *testing.T) {
	dir := filepath.Join("testdata", "hf", "albert")
	b, err := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Model struct {
			Vocab [][2]any `json:"vocab"`
		} `json:"model"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	types := map[string]uint64{"<pad>": spControl, "<unk>": spUnknown, "[CLS]": spControl, "[SEP]": spControl, "[MASK]": spUserDefined}
	var model []byte
	for _, e := range f.Model.Vocab {
		s, score := e[0].(string), e[1].(float64)
		var p []byte
		p = protoBytes(p, 1, []byte(s))
		p = binary.AppendUvarint(p, 2<<3|5)
		p = binary.LittleEndian.AppendUint32(p, math.Float32bits(float32(score)))
		typ := uint64(spNormal)
		if v, ok := types[s]; ok {
			typ = v
		}
		p = protoVarint(p, 3, typ)
		model = protoBytes(model, 1, p)
	}
	model = protoBytes(model, 2, protoVarint(nil, 3, 1))
	tmp := t.TempDir()
	if err := os.WriteFile(filepath.Join(tmp, "spiece.model"), model, 0o644); err != nil {
		t.Fatal(err)
	}
	if !IsHFPath(tmp) {
		t.Fatal("IsHFPath false for a spiece.model directory")
	}
	sp, err := LoadHF(tmp)
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		Cases []hfCase `json:"cases"`
	}
	b, _ = os.ReadFile(filepath.Join(dir, "ids.json"))
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatal(err)
	}
	bad := 0
	for _, c := range fx.Cases {
		got, _ := sp.EncodeSpecial([]byte(c.Text), nil)
		if !slices.Equal(got, c.Special) {
			if bad++; bad <= 5 {
				t.Errorf("%q: %v, want %v", c.Text, got, c.Special)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d differ", bad, len(fx.Cases))
	}
	// Bad files.
	for _, c := range []struct {
		b    []byte
		want string
	}{
		{[]byte{0x0a, 0x7f}, "length beyond the data"},
		{protoBytes(model, 2, protoVarint(nil, 3, 2)), "model_type 2"},
		{protoBytes(nil, 1, protoBytes(nil, 1, []byte("a"))), "no piece of type UNKNOWN"},
	} {
		p := filepath.Join(tmp, "bad.model")
		os.WriteFile(p, c.b, 0o644)
		if _, err := LoadSpiece(p, true, false); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
}

func FuzzParseSpiece(f *testing.F) {
	var p []byte
	p = protoBytes(p, 1, []byte("<unk>"))
	p = protoVarint(p, 3, spUnknown)
	m := protoBytes(nil, 1, p)
	p = protoBytes(nil, 1, []byte("\u2581a"))
	p = binary.AppendUvarint(p, 2<<3|5)
	p = binary.LittleEndian.AppendUint32(p, math.Float32bits(-1.5))
	m = protoBytes(m, 1, p)
	m = protoBytes(m, 2, protoVarint(protoVarint(nil, 3, 1), 35, 1))
	f.Add(m)
	f.Fuzz(func(t *testing.T, b []byte) {
		sm, err := parseSpiece(b)
		if err != nil {
			return
		}
		j, err := sm.tokenizerJSON(true, false)
		if err != nil {
			return
		}
		tok, err := ParseHF(j, nil)
		if err != nil {
			return
		}
		_ = tok.Decode(tok.Encode([]byte("a b [CLS] é")))
	})
}

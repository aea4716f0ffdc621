package llmc

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/safetensors"
)

const fixtures = "../testdata/interop"

func tinyConfig() model.Config {
	return model.Config{Vocab: 61, DModel: 16, Layers: 2, Heads: 4, DFF: 64, MaxSeq: 12, Tie: true, Share: model.ShareNone, Groups: 1}
}

func newModel(t testing.TB, c model.Config, seed uint64) *model.Model {
	t.Helper()
	m, err := model.New(c)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(seed)
	// Init leaves biases 0 and LayerNorm gains 1; make every value distinct
	// so that a misplaced tensor cannot go unnoticed.
	for i := range m.Params {
		m.Params[i] += float32(i%977) * 1e-4
	}
	return m
}

func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func compare(t *testing.T, what string, got, want []float32) {
	t.Helper()
	var maxWant, maxDiff float64
	for i := range want {
		maxWant = math.Max(maxWant, math.Abs(float64(want[i])))
		maxDiff = math.Max(maxDiff, math.Abs(float64(got[i])-float64(want[i])))
	}
	t.Logf("%s: relative error %.2g", what, maxDiff/maxWant)
	if len(got) != len(want) || maxWant == 0 || maxDiff > 1e-5*maxWant {
		t.Errorf("%s: max |diff| %.3g vs max |want| %.3g (%d vs %d values)", what, maxDiff, maxWant, len(got), len(want))
	}
}

// TestGoldenLLMC reads llm.c checkpoints written by reference/interop_ref.py
// (float32 version 3 with zero padding rows, bfloat16 version 5 with junk in
// them) and compares logits and loss with its PyTorch GPT-2.
func TestGoldenLLMC(t *testing.T) {
	for _, c := range []struct {
		name    string
		version int
	}{{"llmc_f32", VersionF32}, {"llmc_bf16", VersionBF16}} {
		t.Run(c.name, func(t *testing.T) {
			m, h, err := ReadCheckpoint(filepath.Join(fixtures, c.name+".bin"))
			if err != nil {
				t.Fatal(err)
			}
			if h.Version != c.version || h.Vocab != 61 || h.PaddedVocab != 128 || m.Config != tinyConfig() {
				t.Errorf("header %+v, config %+v", h, m.Config)
			}
			f, err := safetensors.Read(filepath.Join(fixtures, "expect", c.name+".safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			tok, _ := f.Get("tokens")
			tokens, _ := tok.Int32s()
			tg, _ := f.Get("targets")
			targets, _ := tg.Int32s()
			lg, _ := f.Get("logits")
			logits, _ := lg.Float32s()
			ls, _ := f.Get("loss")
			loss, _ := ls.Float32s()
			got, err := m.Forward(tokens, targets, tok.Shape[0], tok.Shape[1])
			if err != nil {
				t.Fatal(err)
			}
			compare(t, "logits", m.Logits(), logits)
			compare(t, "loss", []float32{got}, loss)
		})
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	for _, c := range []model.Config{
		tinyConfig(),
		{Vocab: 128, DModel: 8, Layers: 1, Heads: 1, DFF: 32, MaxSeq: 3, Tie: true, Share: model.ShareNone, Groups: 1}, // no padding needed
		{Vocab: 300, DModel: 12, Layers: 3, Heads: 3, DFF: 48, MaxSeq: 5, Tie: true, Share: model.ShareNone, Groups: 1},
	} {
		m := newModel(t, c, 7)
		b, err := EncodeCheckpoint(m, Options{})
		if err != nil {
			t.Fatal(err)
		}
		back, h, err := ParseCheckpoint(b)
		if err != nil {
			t.Fatal(err)
		}
		if back.Config != c || !sameBits(back.Params, m.Params) {
			t.Errorf("%+v: round trip changed the model", c)
		}
		if want := (c.Vocab + 127) / 128 * 128; h.PaddedVocab != want || h.Version != VersionF32 {
			t.Errorf("header %+v, want padded vocab %d", h, want)
		}
		// The padding rows are zero and the file size is exact.
		wteEnd := HeaderBytes + 4*h.PaddedVocab*c.DModel
		pad := b[HeaderBytes+4*c.Vocab*c.DModel : wteEnd]
		if !bytes.Equal(pad, make([]byte, len(pad))) {
			t.Error("padding rows are not zero")
		}
		if int64(len(b)) != HeaderBytes+4*h.NumParams() {
			t.Errorf("file is %d bytes", len(b))
		}
		// An explicit padding.
		b2, err := EncodeCheckpoint(m, Options{PaddedVocab: c.Vocab + 3})
		if err != nil {
			t.Fatal(err)
		}
		if back2, h2, err := ParseCheckpoint(b2); err != nil || h2.PaddedVocab != c.Vocab+3 || !sameBits(back2.Params, m.Params) {
			t.Errorf("explicit padding: %v, header %+v", err, h2)
		}
	}
}

func TestWriteCheckpointFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.bin")
	m := newModel(t, tinyConfig(), 3)
	if err := WriteCheckpoint(path, m, Options{}); err != nil {
		t.Fatal(err)
	}
	back, _, err := ReadCheckpoint(path)
	if err != nil || !sameBits(back.Params, m.Params) {
		t.Fatalf("read back: %v", err)
	}
	// A failed write leaves the previous file alone and no temporary file.
	untied := tinyConfig()
	untied.Tie = false
	if err := WriteCheckpoint(path, newModel(t, untied, 1), Options{}); err == nil {
		t.Fatal("wrote an untied model")
	}
	if err := WriteCheckpoint(filepath.Join(dir, "missing", "m.bin"), m, Options{}); err == nil {
		t.Fatal("wrote into a missing directory")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only m.bin", len(entries))
	}
	if back, _, err := ReadCheckpoint(path); err != nil || !sameBits(back.Params, m.Params) {
		t.Errorf("previous file damaged: %v", err)
	}
}

func TestWriteRefusals(t *testing.T) {
	untied := tinyConfig()
	untied.Tie = false
	ffn := tinyConfig()
	ffn.DFF = 40
	shared := tinyConfig()
	shared.Share, shared.Groups = model.ShareAll, 1
	for _, c := range []struct {
		cfg  model.Config
		opts Options
		want string
	}{
		{untied, Options{}, "always tied"},
		{ffn, Options{}, "4·d_model"},
		{shared, Options{}, "ExpandShared"},
		{tinyConfig(), Options{PaddedVocab: 60}, "smaller than the vocabulary"},
	} {
		_, err := EncodeCheckpoint(newModel(t, c.cfg, 1), c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one containing %q", c.cfg, err, c.want)
		}
	}
}

// TestExpandShared writes a model with ALBERT-style sharing as an unshared
// llm.c model: the function it computes is unchanged.
func TestExpandShared(t *testing.T) {
	for _, share := range []model.Share{model.ShareAll, model.ShareAttention, model.ShareFFN} {
		c := tinyConfig()
		c.Layers, c.Share, c.Groups = 4, share, 2
		m := newModel(t, c, 5)
		b, err := EncodeCheckpoint(m, Options{ExpandShared: true})
		if err != nil {
			t.Fatal(err)
		}
		back, _, err := ParseCheckpoint(b)
		if err != nil {
			t.Fatal(err)
		}
		if back.Config.Share != model.ShareNone || back.Config.Layers != 4 {
			t.Fatalf("config %+v", back.Config)
		}
		// Layer l's blocks are copies of the block it used.
		for l := 0; l < 4; l++ {
			if !sameBits(back.Param(blockName("attn", l, "qkv.w")), m.Param(blockName("attn", c.AttnIndex(l), "qkv.w"))) ||
				!sameBits(back.Param(blockName("ffn", l, "down.b")), m.Param(blockName("ffn", c.FFNIndex(l), "down.b"))) {
				t.Errorf("%s: layer %d holds the wrong block", share, l)
			}
		}
		tokens := []int32{1, 5, 9, 60, 0, 33}
		if _, err := m.Forward(tokens, nil, 1, len(tokens)); err != nil {
			t.Fatal(err)
		}
		if _, err := back.Forward(tokens, nil, 1, len(tokens)); err != nil {
			t.Fatal(err)
		}
		if !sameBits(m.Logits(), back.Logits()) {
			t.Errorf("%s: expanded model computes different logits", share)
		}
	}
}

func blockName(kind string, i int, suffix string) string {
	return kind + "." + string(rune('0'+i)) + "." + suffix
}

// header returns a valid version-3 header for tinyConfig with field i set
// to v (i < 0: unchanged).
func headerWith(i int, v int32) []byte {
	h := make([]byte, HeaderBytes)
	for j, x := range []int32{CheckpointMagic, VersionF32, 12, 61, 2, 4, 16, 128} {
		binary.LittleEndian.PutUint32(h[4*j:], uint32(x))
	}
	if i >= 0 {
		binary.LittleEndian.PutUint32(h[4*i:], uint32(v))
	}
	return h
}

func TestCheckpointErrors(t *testing.T) {
	good, err := EncodeCheckpoint(newModel(t, tinyConfig(), 1), Options{})
	if err != nil {
		t.Fatal(err)
	}
	withHeader := func(h []byte) []byte { return append(h, good[HeaderBytes:]...) }
	tokens, _ := EncodeTokens([]int32{1, 2, 3})
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "shorter than the 1024-byte"},
		{"short header", good[:1000], "shorter than the 1024-byte"},
		{"header only", good[:HeaderBytes], "needs"},
		{"truncated", good[:len(good)-1], "needs"},
		{"extra bytes", append(slices.Clone(good), 0, 0, 0, 0), "needs"},
		{"wrong magic", withHeader(headerWith(0, 12345)), "magic number 12345"},
		{"token file", tokens, "token file"},
		{"version 1", withHeader(headerWith(1, 1)), "version 1 is not supported"},
		{"version 4", withHeader(headerWith(1, 4)), "version 4"},
		{"zero layers", withHeader(headerWith(4, 0)), "num_layers = 0"},
		{"negative vocab", withHeader(headerWith(3, -5)), "vocab_size = -5"},
		{"huge channels", withHeader(headerWith(6, 1<<30)), "channels"},
		{"padded < vocab", withHeader(headerWith(7, 60)), "smaller than vocab_size"},
		{"heads", withHeader(headerWith(5, 3)), "does not divide"},
		{"shape disagrees", withHeader(headerWith(6, 32)), "needs"},
		{"size 2^40", withHeader(headerWith(2, 1<<24)), "needs"},
	} {
		m, _, err := ParseCheckpoint(c.b)
		if err == nil || m != nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	if _, _, err := ReadCheckpoint(filepath.Join(t.TempDir(), "nope.bin")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
}

func TestTokensRoundTrip(t *testing.T) {
	for _, ids := range [][]int32{{}, {0}, {1, 65535, 50256, 2, 0}} {
		b, err := EncodeTokens(ids)
		if err != nil {
			t.Fatal(err)
		}
		if !IsTokenFile(b) || len(b) != HeaderBytes+2*len(ids) {
			t.Fatalf("file of %d bytes", len(b))
		}
		back, err := ParseTokens(b)
		if err != nil || !slices.Equal(back, ids) {
			t.Errorf("round trip of %v gave %v, %v", ids, back, err)
		}
	}
	path := filepath.Join(t.TempDir(), "t.bin")
	if err := WriteTokens(path, []int32{7, 8, 9}); err != nil {
		t.Fatal(err)
	}
	if back, err := ReadTokens(path); err != nil || !slices.Equal(back, []int32{7, 8, 9}) {
		t.Errorf("ReadTokens = %v, %v", back, err)
	}
}

func TestTokensErrors(t *testing.T) {
	good, _ := EncodeTokens([]int32{1, 2, 3})
	set := func(i int, v int32) []byte {
		b := slices.Clone(good)
		binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
		return b
	}
	ckpt := headerWith(-1, 0)
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "shorter than its 1024-byte header"},
		{"truncated header", good[:100], "shorter than its 1024-byte header"},
		{"truncated tokens", good[:len(good)-1], "header says 3 tokens"},
		{"count larger than file", set(2, 1000), "header says 1000 tokens"},
		{"extra bytes", append(slices.Clone(good), 1, 2), "header says 3 tokens"},
		{"negative count", set(2, -1), "negative token count"},
		{"wrong magic", set(0, 42), "magic number 42"},
		{"checkpoint", ckpt, "model checkpoint"},
		{"wrong version", set(1, 2), "version 2 is not supported"},
	} {
		_, err := ParseTokens(c.b)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	for _, ids := range [][]int32{{65536}, {-1}, {1, 2, 1 << 20}} {
		if _, err := EncodeTokens(ids); err == nil || !strings.Contains(err.Error(), "uint16") {
			t.Errorf("EncodeTokens(%v): %v", ids, err)
		}
		if err := WriteTokens(filepath.Join(t.TempDir(), "x.bin"), ids); err == nil {
			t.Errorf("WriteTokens(%v) succeeded", ids)
		}
	}
}

func FuzzReadLLMC(f *testing.F) {
	good, _ := os.ReadFile(filepath.Join(fixtures, "llmc_f32.bin"))
	bf, _ := os.ReadFile(filepath.Join(fixtures, "llmc_bf16.bin"))
	f.Add(good)
	f.Add(bf)
	f.Add(headerWith(-1, 0))
	f.Add(good[:2000])
	tiny := model.Config{Vocab: 3, DModel: 2, Layers: 1, Heads: 1, DFF: 8, MaxSeq: 2, Tie: true, Share: model.ShareNone, Groups: 1}
	m, _ := model.New(tiny)
	small, _ := EncodeCheckpoint(m, Options{PaddedVocab: 4})
	f.Add(small)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, h, err := ParseCheckpoint(b)
		if err != nil {
			if m != nil {
				t.Fatal("model with error")
			}
			return
		}
		if m.Config != h.Config() || int64(len(b)) != HeaderBytes+h.NumParams()*h.elemSize() {
			t.Fatalf("accepted an inconsistent file: %+v", h)
		}
		if h.Version == VersionF32 {
			// Re-encoding with the same padding gives the same parameters.
			out, err := EncodeCheckpoint(m, Options{PaddedVocab: h.PaddedVocab})
			if err != nil {
				t.Fatal(err)
			}
			back, _, err := ParseCheckpoint(out)
			if err != nil || !sameBits(back.Params, m.Params) {
				t.Fatalf("re-encode: %v", err)
			}
		}
	})
}

func FuzzParseTokens(f *testing.F) {
	good, _ := EncodeTokens([]int32{1, 2, 65535})
	f.Add(good)
	f.Add(good[:1030])
	f.Fuzz(func(t *testing.T, b []byte) {
		ids, err := ParseTokens(b)
		if err != nil {
			return
		}
		out, err := EncodeTokens(ids)
		if err != nil || !bytes.Equal(out[HeaderBytes:], b[HeaderBytes:]) {
			t.Fatalf("re-encode: %v", err)
		}
	})
}

// TestCheckWritableMatchesReader: the writer refuses what the reader would.
func TestCheckWritableMatchesReader(t *testing.T) {
	c := model.Config{Vocab: 3, DModel: 2, Layers: 1, Heads: 1, DFF: 8, MaxSeq: 2, Tie: true, Share: model.ShareNone, Groups: 1}
	m, err := model.New(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckWritable(m, Options{PaddedVocab: maxDim + 1}); err == nil || !strings.Contains(err.Error(), "padded_vocab_size") {
		t.Fatalf("padded vocabulary beyond the reader's limit: %v", err)
	}
	if err := CheckWritable(m, Options{PaddedVocab: 4}); err != nil {
		t.Fatal(err)
	}
}

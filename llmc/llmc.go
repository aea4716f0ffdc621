// Package llmc reads and writes the binary files of llm.c, Andrej Karpathy's
// GPT-2 trainer in C: model checkpoints and token files.
//
// A checkpoint is a header of 256 little-endian int32s — magic 20240326,
// version, max_seq_len, vocab_size, num_layers, num_heads, channels,
// padded_vocab_size, then zeros — followed by the parameters, float32 for
// version 3 and bfloat16 for version 5, in llm.c's order: wte (Vp×C), wpe
// (maxT×C), ln1w, ln1b (L×C), qkvw (L×3C×C), qkvb (L×3C), attprojw (L×C×C),
// attprojb, ln2w, ln2b (L×C), fcw (L×4C×C), fcb (L×4C), fcprojw (L×C×4C),
// fcprojb (L×C), lnfw, lnfb (C). Matrices are (out, in), like PyTorch's
// Linear and tformer's layout. llm.c's model is always tied (wte is the
// output projection) and unshared, with a 4·C FFN; its vocabulary is padded
// to Vp rows (50304 for GPT-2's 50257) which the loss never uses. Reading
// drops the padding rows; writing fills them with zeros.
//
// A token file is a header of 256 int32s — magic 20240520, version 1, the
// number of tokens — followed by the tokens as little-endian uint16.
package llmc

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/tformer/tformer/internal/atomicfile"
	"github.com/tformer/tformer/internal/gpt2arch"
	"github.com/tformer/tformer/model"
)

// File format constants.
const (
	CheckpointMagic = 20240326 // header[0] of a model checkpoint
	VersionF32      = 3        // float32 parameters, padded vocabulary
	VersionBF16     = 5        // bfloat16 parameters, padded vocabulary
	TokensMagic     = 20240520 // header[0] of a token file
	TokensVersion   = 1        // uint16 tokens
	HeaderInts      = 256      // int32s in either header
	HeaderBytes     = 4 * HeaderInts
)

// Header is the configuration stored in a checkpoint's header.
type Header struct {
	Version     int // VersionF32 or VersionBF16
	MaxSeq      int // max_seq_len
	Vocab       int // vocab_size
	Layers      int // num_layers
	Heads       int // num_heads
	Channels    int // channels (d_model)
	PaddedVocab int // padded_vocab_size (>= Vocab)
}

// Config returns the tformer configuration of a checkpoint with header h.
func (h Header) Config() model.Config {
	return model.Config{Vocab: h.Vocab, DModel: h.Channels, Layers: h.Layers, Heads: h.Heads,
		DFF: 4 * h.Channels, MaxSeq: h.MaxSeq, Tie: true, Share: model.ShareNone, Groups: 1}
}

// tensor is one of llm.c's parameter tensors: its size and the tformer
// tensor it holds. A per-layer tensor (kind "attn" or "ffn") holds one
// tformer tensor "kind.i.suffix" per layer, back to back.
type tensor struct {
	name   string
	size   func(h Header) int64 // elements (per layer for a per-layer tensor)
	kind   string               // "", "attn" or "ffn"
	suffix string               // the tformer name, or its suffix after "kind.i."
}

// order is llm.c's parameter order.
var order = []tensor{
	{"wte", func(h Header) int64 { return int64(h.PaddedVocab) * int64(h.Channels) }, "", "wte"},
	{"wpe", func(h Header) int64 { return int64(h.MaxSeq) * int64(h.Channels) }, "", "wpe"},
	{"ln1w", c1, "attn", "ln.w"},
	{"ln1b", c1, "attn", "ln.b"},
	{"qkvw", func(h Header) int64 { return 3 * c2(h) }, "attn", "qkv.w"},
	{"qkvb", func(h Header) int64 { return 3 * c1(h) }, "attn", "qkv.b"},
	{"attprojw", c2, "attn", "proj.w"},
	{"attprojb", c1, "attn", "proj.b"},
	{"ln2w", c1, "ffn", "ln.w"},
	{"ln2b", c1, "ffn", "ln.b"},
	{"fcw", func(h Header) int64 { return 4 * c2(h) }, "ffn", "up.w"},
	{"fcb", func(h Header) int64 { return 4 * c1(h) }, "ffn", "up.b"},
	{"fcprojw", func(h Header) int64 { return 4 * c2(h) }, "ffn", "down.w"},
	{"fcprojb", c1, "ffn", "down.b"},
	{"lnfw", c1, "", "lnf.w"},
	{"lnfb", c1, "", "lnf.b"},
}

// target returns the tformer tensor that layer l's part of t comes from
// (or goes to) in a model with config c; for an unshared model that is
// block l, for a shared one the block layer l uses.
func (t tensor) target(c model.Config, l int) string {
	switch t.kind {
	case "attn":
		return fmt.Sprintf("attn.%d.%s", c.AttnIndex(l), t.suffix)
	case "ffn":
		return fmt.Sprintf("ffn.%d.%s", c.FFNIndex(l), t.suffix)
	}
	return t.suffix
}

func c1(h Header) int64 { return int64(h.Channels) }
func c2(h Header) int64 { return int64(h.Channels) * int64(h.Channels) }

// maxDim bounds every header dimension, so that the sizes computed from
// them cannot overflow an int64.
const maxDim = 1 << 24

// NumParams returns the number of stored parameters (with the padding rows)
// of a checkpoint with header h.
func (h Header) NumParams() int64 {
	var n int64
	for _, t := range order {
		s := t.size(h)
		if t.kind != "" {
			s *= int64(h.Layers)
		}
		n += s
	}
	return n
}

func (h Header) elemSize() int64 {
	if h.Version == VersionBF16 {
		return 2
	}
	return 4
}

// parseHeader validates a checkpoint header.
func parseHeader(b []byte) (Header, error) {
	if len(b) < HeaderBytes {
		return Header{}, fmt.Errorf("file is %d bytes, shorter than the %d-byte llm.c header", len(b), HeaderBytes)
	}
	v := func(i int) int { return int(int32(binary.LittleEndian.Uint32(b[4*i:]))) }
	if v(0) != CheckpointMagic {
		if v(0) == TokensMagic {
			return Header{}, fmt.Errorf("this is an llm.c token file (magic %d), not a model checkpoint", TokensMagic)
		}
		return Header{}, fmt.Errorf("not an llm.c checkpoint: magic number %d, want %d", v(0), CheckpointMagic)
	}
	h := Header{Version: v(1), MaxSeq: v(2), Vocab: v(3), Layers: v(4), Heads: v(5), Channels: v(6), PaddedVocab: v(7)}
	return h, h.validate()
}

// validate checks a header's version, sizes and consistency; the reader and
// the writer use it, so every file tformer writes is one it can read.
func (h Header) validate() error {
	if h.Version != VersionF32 && h.Version != VersionBF16 {
		return fmt.Errorf("llm.c checkpoint version %d is not supported (want %d for float32 or %d for bfloat16)", h.Version, VersionF32, VersionBF16)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"max_seq_len", h.MaxSeq}, {"vocab_size", h.Vocab}, {"num_layers", h.Layers}, {"num_heads", h.Heads}, {"channels", h.Channels}, {"padded_vocab_size", h.PaddedVocab}} {
		if f.v <= 0 || f.v > maxDim {
			return fmt.Errorf("llm.c header: %s = %d is out of range [1, %d]", f.name, f.v, maxDim)
		}
	}
	if h.PaddedVocab < h.Vocab {
		return fmt.Errorf("llm.c header: padded_vocab_size %d is smaller than vocab_size %d", h.PaddedVocab, h.Vocab)
	}
	if h.Channels%h.Heads != 0 {
		return fmt.Errorf("llm.c header: num_heads %d does not divide channels %d", h.Heads, h.Channels)
	}
	if err := h.Config().Validate(); err != nil {
		return fmt.Errorf("llm.c header: %w", err)
	}
	return nil
}

// ReadCheckpoint reads an llm.c checkpoint (version 3 or 5) into a tied,
// unshared tformer model. The bfloat16 values of version 5 are widened to
// float32 exactly.
func ReadCheckpoint(path string) (*model.Model, Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, Header{}, fmt.Errorf("read llm.c checkpoint: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, Header{}, fmt.Errorf("read llm.c checkpoint: %w", err)
	}
	m, h, err := readCheckpoint(bufio.NewReaderSize(f, 1<<20), st.Size())
	if err != nil {
		return nil, h, fmt.Errorf("read llm.c checkpoint %s: %w", path, err)
	}
	return m, h, nil
}

// ParseCheckpoint is ReadCheckpoint for a file held in memory.
func ParseCheckpoint(b []byte) (*model.Model, Header, error) {
	m, h, err := readCheckpoint(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, h, fmt.Errorf("llm.c checkpoint: %w", err)
	}
	return m, h, nil
}

// readCheckpoint reads a checkpoint of size bytes from r. It checks the
// header against the size before allocating anything.
func readCheckpoint(r io.Reader, size int64) (*model.Model, Header, error) {
	hb := make([]byte, HeaderBytes)
	if size < HeaderBytes {
		return nil, Header{}, fmt.Errorf("file is %d bytes, shorter than the %d-byte llm.c header", size, HeaderBytes)
	}
	if _, err := io.ReadFull(r, hb); err != nil {
		return nil, Header{}, err
	}
	h, err := parseHeader(hb)
	if err != nil {
		return nil, h, err
	}
	want := HeaderBytes + h.NumParams()*h.elemSize()
	if size != want {
		return nil, h, fmt.Errorf("file is %d bytes but its header (version %d, vocab %d padded to %d, %d layers, %d channels, context %d) needs %d",
			size, h.Version, h.Vocab, h.PaddedVocab, h.Layers, h.Channels, h.MaxSeq, want)
	}
	m, err := model.New(h.Config())
	if err != nil {
		return nil, h, err
	}
	rd := &valueReader{r: r, bf16: h.Version == VersionBF16}
	for _, t := range order {
		n := int(t.size(h))
		if t.name == "wte" {
			if err := rd.read(m.Param("wte")); err != nil {
				return nil, h, fmt.Errorf("wte: %w", err)
			}
			if err := rd.skip(int64(h.PaddedVocab-h.Vocab) * int64(h.Channels)); err != nil {
				return nil, h, fmt.Errorf("wte padding: %w", err)
			}
			continue
		}
		layers := 1
		if t.kind != "" {
			layers = h.Layers
		}
		for l := 0; l < layers; l++ {
			name := t.target(m.Config, l)
			dst := m.Param(name)
			if len(dst) != n {
				return nil, h, fmt.Errorf("internal error: %s has %d values, tformer's %s %d", t.name, n, name, len(dst))
			}
			if err := rd.read(dst); err != nil {
				return nil, h, fmt.Errorf("%s: %w", t.name, err)
			}
		}
	}
	return m, h, nil
}

// valueReader decodes float32 or bfloat16 values.
type valueReader struct {
	r    io.Reader
	bf16 bool
	buf  []byte
}

func (v *valueReader) read(dst []float32) error {
	es := 4
	if v.bf16 {
		es = 2
	}
	const chunk = 1 << 16
	if v.buf == nil {
		v.buf = make([]byte, chunk*4)
	}
	for len(dst) > 0 {
		n := min(len(dst), chunk)
		b := v.buf[:n*es]
		if _, err := io.ReadFull(v.r, b); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		if v.bf16 {
			for i := range n {
				dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
			}
		} else {
			for i := range n {
				dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			}
		}
		dst = dst[n:]
	}
	return nil
}

func (v *valueReader) skip(n int64) error {
	es := int64(4)
	if v.bf16 {
		es = 2
	}
	k, err := io.CopyN(io.Discard, v.r, n*es)
	if err == io.EOF || (err == nil && k != n*es) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Options control writing a checkpoint.
type Options struct {
	// ExpandShared writes a model with cross-layer sharing as the equivalent
	// unshared model, one copy of each shared block per layer. Without it
	// such a model is refused, since llm.c cannot express sharing.
	ExpandShared bool
	// PaddedVocab is the padded vocabulary size to write (0: the vocabulary
	// rounded up to a multiple of 128, as llm.c does).
	PaddedVocab int
}

// CheckWritable reports why m cannot be written as an llm.c checkpoint
// with opts, or nil if it can.
func CheckWritable(m *model.Model, opts Options) error {
	if err := gpt2arch.Check(m); err != nil {
		return err
	}
	c := m.Config
	if !c.Tie {
		return errors.New("llm.c checkpoints are always tied (wte is also the output layer) but this model has a separate output matrix; write it as a Hugging Face directory or a tformer checkpoint instead")
	}
	if c.DFF != 4*c.DModel {
		return fmt.Errorf("llm.c checkpoints need an FFN of width 4·d_model = %d, this model's is %d", 4*c.DModel, c.DFF)
	}
	unshared := c
	unshared.Share, unshared.Groups = model.ShareNone, 1
	if c.Share != model.ShareNone && !opts.ExpandShared {
		return fmt.Errorf("llm.c cannot express cross-layer sharing (this model shares %s in %d group(s)); Options.ExpandShared writes one copy of each shared block per layer (same outputs, %d instead of %d stored parameters)",
			c.Share, c.Groups, unshared.UniqueParams(), c.UniqueParams())
	}
	if opts.PaddedVocab != 0 && opts.PaddedVocab < c.Vocab {
		return fmt.Errorf("padded vocabulary %d is smaller than the vocabulary %d", opts.PaddedVocab, c.Vocab)
	}
	if err := header(c, opts).validate(); err != nil {
		return fmt.Errorf("llm.c cannot hold this model: %w", err)
	}
	return nil
}

// header returns the version-3 header for m's config.
func header(c model.Config, opts Options) Header {
	vp := opts.PaddedVocab
	if vp == 0 {
		vp = (c.Vocab + 127) / 128 * 128
	}
	return Header{Version: VersionF32, MaxSeq: c.MaxSeq, Vocab: c.Vocab, Layers: c.Layers, Heads: c.Heads, Channels: c.DModel, PaddedVocab: vp}
}

// WriteCheckpoint writes m to path as a float32 (version 3) llm.c
// checkpoint, atomically: a previous file at path is replaced only once the
// new one is complete.
func WriteCheckpoint(path string, m *model.Model, opts Options) error {
	if err := CheckWritable(m, opts); err != nil {
		return fmt.Errorf("write llm.c checkpoint %s: %w", path, err)
	}
	err := atomicfile.Write(path, 0o644, func(w io.Writer) error { return writeCheckpoint(w, m, opts) })
	if err != nil {
		return fmt.Errorf("write llm.c checkpoint: %w", err)
	}
	return nil
}

// EncodeCheckpoint returns the bytes WriteCheckpoint would write.
func EncodeCheckpoint(m *model.Model, opts Options) ([]byte, error) {
	if err := CheckWritable(m, opts); err != nil {
		return nil, fmt.Errorf("llm.c checkpoint: %w", err)
	}
	var b bytes.Buffer
	if err := writeCheckpoint(&b, m, opts); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeCheckpoint(w io.Writer, m *model.Model, opts Options) error {
	c := m.Config
	h := header(c, opts)
	hb := make([]byte, HeaderBytes)
	for i, v := range []int{CheckpointMagic, h.Version, h.MaxSeq, h.Vocab, h.Layers, h.Heads, h.Channels, h.PaddedVocab} {
		binary.LittleEndian.PutUint32(hb[4*i:], uint32(int32(v)))
	}
	if _, err := w.Write(hb); err != nil {
		return err
	}
	buf := make([]byte, 0, 1<<16)
	put := func(x []float32) error {
		for len(x) > 0 {
			n := min(len(x), cap(buf)/4)
			buf = buf[:4*n]
			for i, v := range x[:n] {
				binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
			}
			if _, err := w.Write(buf); err != nil {
				return err
			}
			x = x[n:]
		}
		return nil
	}
	for _, t := range order {
		if t.name == "wte" {
			if err := put(m.Param("wte")); err != nil {
				return err
			}
			if err := put(make([]float32, (h.PaddedVocab-h.Vocab)*h.Channels)); err != nil {
				return err
			}
			continue
		}
		layers := 1
		if t.kind != "" {
			layers = c.Layers
		}
		for l := 0; l < layers; l++ {
			if err := put(m.Param(t.target(c, l))); err != nil {
				return err
			}
		}
	}
	return nil
}

// Package modelio opens a model stored in any format tformer reads — a
// tformer checkpoint (.safetensors), a Hugging Face GPT-2, Llama-family
// (Llama, Mistral, Qwen2, Gemma) or BART (BartForConditionalGeneration,
// an encoder–decoder) directory or an llm.c checkpoint (.bin) —
// telling the format from the path and the file's first bytes, and finds
// the tokenizer that goes with it.
package modelio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tformer/tformer/checkpoint"
	"github.com/tformer/tformer/hf"
	"github.com/tformer/tformer/hfbart"
	"github.com/tformer/tformer/hfgpt2"
	"github.com/tformer/tformer/llmc"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/safetensors"
	"github.com/tformer/tformer/tokenizer"
)

// Model file formats.
const (
	Tformer = "tformer" // tformer checkpoint: one .safetensors file
	HF      = "hf"      // Hugging Face directory (GPT-2, Llama family or BART)
	LLMC    = "llmc"    // llm.c .bin checkpoint
)

// ErrNoTokenizer is returned (wrapped) by Load when a model neither names a
// tokenizer nor has a vocabulary that implies one.
var ErrNoTokenizer = errors.New("no known tokenizer")

// Loaded is a model read from any supported format, with its tokenizer.
type Loaded struct {
	Model         *model.Model
	Format        string              // Tformer, HF or LLMC
	Detail        string              // e.g. the stored dtype and model_type; may be ""
	Tokenizer     tokenizer.Tokenizer // nil when unknown
	TokenizerName string              // "" when unknown
	Notes         []string            // what the reader assumed or changed
	// Seq2SeqIDs are a BART directory's pad, bos, eos and decoder start
	// ids (nil for other models, or when its config.json lacks them).
	Seq2SeqIDs *hfbart.SpecialIDs
}

// Detect tells the format of an existing model file or directory.
func Detect(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if st.IsDir() {
		return HF, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, 4)
	if _, err := io.ReadFull(f, head); err != nil {
		return "", fmt.Errorf("%s is too short to be a model (%d bytes)", path, st.Size())
	}
	if format, err := detectHead(head, path); format != "" || err != nil {
		return format, err
	}
	if filepath.Base(path) == hf.IndexFile {
		return HF, nil // a sharded directory's index
	}
	if filepath.Base(path) == hfgpt2.WeightsFile {
		// Hugging Face's name: its model, unless the file's header says it
		// is a tformer checkpoint that happens to sit next to a config.json.
		if _, err := os.Stat(filepath.Join(filepath.Dir(path), hfgpt2.ConfigFile)); err == nil {
			if md, err := safetensors.ReadMetadata(path); err == nil && md["format"] == checkpoint.Format {
				return Tformer, nil
			}
			return HF, nil
		}
	}
	return Tformer, nil
}

// detectHead tells an llm.c file from its first 4 bytes ("" when it is
// not one).
func detectHead(head []byte, path string) (string, error) {
	if len(head) < 4 {
		return "", fmt.Errorf("%s is too short to be a model (%d bytes)", path, len(head))
	}
	switch binary.LittleEndian.Uint32(head) {
	case llmc.CheckpointMagic:
		return LLMC, nil
	case llmc.TokensMagic:
		return "", fmt.Errorf("%s is an llm.c token file, not a model", path)
	}
	return "", nil
}

// MaxStreamBytes bounds a model read from a pipe or device (/dev/stdin),
// which cannot be stat'ed for its size.
var MaxStreamBytes int64 = 16 << 30

// readStream reads a model from a pipe or device once, whole (bounded by
// MaxStreamBytes), so that telling its format consumes nothing.
func readStream(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxStreamBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(b)) > MaxStreamBytes {
		return nil, fmt.Errorf("%s streams more than %d bytes, the most a model read from a pipe may have", path, MaxStreamBytes)
	}
	return b, nil
}

// guessTokenizer names the tokenizer a model of vocabulary v most likely
// uses when its file does not say: GPT-2's for 50257, the byte tokenizer
// for 256. For other sizes it stays unknown.
func guessTokenizer(l *Loaded, where string) {
	switch v := l.Model.Config.Vocab; v {
	case tokenizer.GPT2Vocab:
		l.TokenizerName = "gpt2"
		l.Notes = append(l.Notes, fmt.Sprintf("%s carries no tokenizer; assuming GPT-2's, since the vocabulary has %d tokens", where, v))
	case 256:
		l.TokenizerName = "byte"
		l.Notes = append(l.Notes, fmt.Sprintf("%s carries no tokenizer; assuming the byte tokenizer, since the vocabulary has 256 tokens", where))
	default:
		return
	}
	l.Tokenizer, _ = tokenizer.New(l.TokenizerName)
}

// Open reads a tformer checkpoint, a Hugging Face GPT-2, Llama-family or
// BART directory or an llm.c checkpoint, telling which from the path and the file's first bytes.
// The tokenizer may be unknown (nil); Load requires one.
func Open(path string) (*Loaded, error) { return open(path, model.F32, false) }

// OpenAs is Open for inference with the weights in dtype dt: the model is
// what Open then Model.Quantize(dt) gives, bit for bit, built without the
// float32 copy where the format allows it. A tformer checkpoint and a
// Llama-family directory are read tensor by tensor straight into the
// narrow storage (checkpoint.LoadAs, hf.LoadAs: BF16 weights keep their
// stored bits, others are narrowed a chunk at a time), and so is a GPT-2
// directory (hfgpt2.LoadAs; each Conv1D weight is transposed through one
// tensor of float32 scratch); a BART directory and an llm.c checkpoint
// are read in float32 and then converted. A narrow dtype for an encoder or encoder–decoder is an error
// wrapping model.ErrDType. The model has no gradients.
func OpenAs(path string, dt model.DType) (*Loaded, error) { return open(path, dt, true) }

// LoadAs is OpenAs for a model that is to be used on text (see Load).
func LoadAs(path string, dt model.DType) (*Loaded, error) {
	l, err := OpenAs(path, dt)
	if err != nil {
		return nil, err
	}
	if err := needTokenizer(l, path); err != nil {
		return nil, err
	}
	return l, nil
}

// open is Open, or OpenAs(path, dt) when inference is set.
func open(path string, dt model.DType, inference bool) (*Loaded, error) {
	// A pipe or device (--model /dev/stdin) is read once into memory and
	// parsed from there: peeking at its first bytes would consume them.
	var stream []byte
	var format string
	if st, err := os.Stat(path); err == nil && !st.IsDir() && !st.Mode().IsRegular() {
		if stream, err = readStream(path); err != nil {
			return nil, fmt.Errorf("load model: %w", err)
		}
		if format, err = detectHead(stream, path); err != nil {
			return nil, fmt.Errorf("load model: %w", err)
		}
		if format == "" {
			format = Tformer
		}
	} else if format, err = Detect(path); err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	l := &Loaded{Format: format}
	direct := false // built in dt already
	switch format {
	case Tformer:
		if inference {
			if err := openCheckpointAs(l, path, stream, dt); err != nil {
				return nil, err
			}
			direct = true
			break
		}
		var f *safetensors.File
		var err error
		if stream != nil {
			f, err = safetensors.Parse(stream)
		} else {
			f, err = safetensors.Read(path)
		}
		if err != nil {
			return nil, fmt.Errorf("%s is not a model file (a tformer .safetensors checkpoint, a Hugging Face GPT-2 or Llama-family directory or an llm.c .bin checkpoint): %w", path, err)
		}
		ck, err := checkpoint.FromFile(f)
		if err != nil {
			return nil, fmt.Errorf("load checkpoint %s: %w", path, err)
		}
		l.Model, l.TokenizerName = ck.Model, ck.Tokenizer
		if t, err := tokenizer.New(ck.Tokenizer); err == nil {
			l.Tokenizer = t
		}
	case HF:
		if dir := hfDir(path); hfbart.IsBART(dir) {
			if inference {
				// A BART model is an encoder-decoder: refuse a dtype it
				// cannot run in before its weights are read.
				if err := model.CheckDType(model.Config{Arch: model.ArchEncDec}, dt); err != nil {
					return nil, err
				}
			}
			if err := openBART(l, dir); err != nil {
				return nil, err
			}
			break
		}
		if dir := hfDir(path); hf.IsLlamaFamily(dir) {
			if err := openLlama(l, dir, dt, inference); err != nil {
				return nil, err
			}
			direct = inference
			break
		}
		var h *hfgpt2.Loaded
		var err error
		if inference {
			h, err = hfgpt2.LoadAs(path, dt)
			direct = true
		} else {
			h, err = hfgpt2.Load(path)
		}
		if err != nil {
			return nil, err
		}
		l.Model, l.Notes, l.Detail = h.Model, h.Notes, string(h.DType)
		switch {
		case h.Tokenizer != nil:
			l.Tokenizer, l.TokenizerName = h.Tokenizer, h.Tokenizer.Name()
		case tokenizer.IsHFPath(path):
			// No vocab.json/merges.txt: the directory's tokenizer.json.
			t, err := tokenizer.LoadHF(path)
			if err != nil {
				return nil, err
			}
			l.Tokenizer, l.TokenizerName = t, t.Name()
		default:
			guessTokenizer(l, "the directory")
		}
	case LLMC:
		var m *model.Model
		var h llmc.Header
		var err error
		if stream != nil {
			m, h, err = llmc.ParseCheckpoint(stream)
		} else {
			m, h, err = llmc.ReadCheckpoint(path)
		}
		if err != nil {
			return nil, err
		}
		l.Model = m
		l.Detail = map[int]string{llmc.VersionF32: "float32", llmc.VersionBF16: "bfloat16"}[h.Version]
		if h.Version == llmc.VersionBF16 {
			l.Notes = append(l.Notes, "bfloat16 weights were widened to float32 (exactly)")
		}
		guessTokenizer(l, "an llm.c checkpoint")
	}
	if inference && !direct {
		if err := l.Model.Quantize(dt); err != nil {
			return nil, err
		}
		if dt != model.F32 {
			l.Notes = append(l.Notes, fmt.Sprintf("this format is read in float32, then its weight matrices converted to %s", dt))
		}
	}
	return l, nil
}

// openCheckpointAs reads a tformer checkpoint (from path, or from stream
// when not nil) into l directly in dtype dt.
func openCheckpointAs(l *Loaded, path string, stream []byte, dt model.DType) error {
	var ck *checkpoint.Checkpoint
	if stream != nil {
		f, err := safetensors.Parse(stream)
		if err != nil {
			return fmt.Errorf("%s is not a model file (a tformer .safetensors checkpoint, a Hugging Face GPT-2 or Llama-family directory or an llm.c .bin checkpoint): %w", path, err)
		}
		if ck, err = checkpoint.FromFileAs(f, dt); err != nil {
			return fmt.Errorf("load checkpoint %s: %w", path, err)
		}
	} else {
		r, err := safetensors.Open(path)
		if err != nil {
			return fmt.Errorf("%s is not a model file (a tformer .safetensors checkpoint, a Hugging Face GPT-2 or Llama-family directory or an llm.c .bin checkpoint): %w", path, err)
		}
		defer r.Close()
		if ck, err = checkpoint.FromReaderAs(r, dt); err != nil {
			return fmt.Errorf("load checkpoint %s: %w", path, err)
		}
	}
	l.Model, l.TokenizerName = ck.Model, ck.Tokenizer
	if t, err := tokenizer.New(ck.Tokenizer); err == nil {
		l.Tokenizer = t
	}
	return nil
}

// hfDir is the directory of a Hugging Face model given as the directory or
// as a file in it.
func hfDir(path string) string {
	if st, err := os.Stat(path); err == nil && !st.IsDir() {
		return filepath.Dir(path)
	}
	return path
}

// openLlama reads a Llama-family directory into l, with the directory's
// tokenizer.json (or GPT-2-style vocab.json and merges.txt) when it has one.
func openLlama(l *Loaded, dir string, dt model.DType, inference bool) error {
	if !inference {
		h, err := hf.Load(dir)
		if err != nil {
			return err
		}
		l.Model, l.Notes, l.Detail = h.Model, h.Notes, h.Config.ModelType+", "+string(h.DType)
		return dirTokenizer(l, dir)
	}
	// The tokenizer first: the garbage its parsing leaves is collected
	// while the heap is small, instead of piling up to the collector's
	// target of twice the model (the peak would be that).
	tok, err := readDirTokenizer(dir)
	if err != nil {
		return err
	}
	h, err := hf.LoadAs(dir, dt)
	if err != nil {
		return err
	}
	l.Model, l.Notes, l.Detail = h.Model, h.Notes, h.Config.ModelType+", "+string(h.DType)
	return setTokenizer(l, dir, tok)
}

// openBART reads a BartForConditionalGeneration directory into l, with its
// special ids and the directory's vocab.json and merges.txt (or
// tokenizer.json) when it has them.
func openBART(l *Loaded, dir string) error {
	h, err := hfbart.Load(dir)
	if err != nil {
		return err
	}
	l.Model, l.Notes, l.Detail = h.Model, h.Notes, "bart, "+string(h.DType)
	if ids, ok := h.IDs(); ok {
		l.Seq2SeqIDs = &ids
	}
	return dirTokenizer(l, dir)
}

// dirTokenizer sets l's tokenizer from dir's tokenizer.json, or its
// GPT-2-style vocab.json and merges.txt, or (when it has neither) guesses
// it from the vocabulary size.
func dirTokenizer(l *Loaded, dir string) error {
	tok, err := readDirTokenizer(dir)
	if err != nil {
		return err
	}
	return setTokenizer(l, dir, tok)
}

// readDirTokenizer reads dir's tokenizer.json, or its GPT-2-style
// vocab.json and merges.txt (nil when it has neither).
func readDirTokenizer(dir string) (tokenizer.Tokenizer, error) {
	switch {
	case exists(filepath.Join(dir, "tokenizer.json")):
		t, err := tokenizer.LoadHF(dir)
		if err != nil {
			return nil, err
		}
		return t, nil
	case exists(filepath.Join(dir, "vocab.json")) && exists(filepath.Join(dir, "merges.txt")):
		t, err := tokenizer.LoadGPT2Dir(dir)
		if err != nil {
			return nil, err
		}
		return t, nil
	}
	return nil, nil
}

// setTokenizer gives l the tokenizer tok read from dir, checked against
// the model's vocabulary, or a guessed one when tok is nil.
func setTokenizer(l *Loaded, dir string, tok tokenizer.Tokenizer) error {
	if tok == nil {
		guessTokenizer(l, "the directory")
		return nil
	}
	if tok.VocabSize() > l.Model.Config.Vocab {
		return fmt.Errorf("%s: the tokenizer has %d tokens but the model only %d", dir, tok.VocabSize(), l.Model.Config.Vocab)
	}
	l.Tokenizer, l.TokenizerName = tok, tok.Name()
	return nil
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// Load is Open for a model that is to be used on text: it fails, with an
// error wrapping ErrNoTokenizer, when the model's tokenizer is unknown.
func Load(path string) (*Loaded, error) {
	l, err := Open(path)
	if err != nil {
		return nil, err
	}
	if err := needTokenizer(l, path); err != nil {
		return nil, err
	}
	return l, nil
}

// needTokenizer is Load's error for a model without a known tokenizer.
func needTokenizer(l *Loaded, path string) error {
	if l.Tokenizer == nil {
		if l.TokenizerName != "" {
			return fmt.Errorf("%s: unknown tokenizer %q: %w", path, l.TokenizerName, ErrNoTokenizer)
		}
		return fmt.Errorf("%s names no tokenizer and its vocabulary of %d matches none tformer knows: %w", path, l.Model.Config.Vocab, ErrNoTokenizer)
	}
	return nil
}

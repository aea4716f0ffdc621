package tokenizer

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/tformer/tformer/internal/hfdir"
)

// SentencePiece piece types (sentencepiece_model.proto).
const (
	spNormal      = 1
	spUnknown     = 2
	spControl     = 3
	spUserDefined = 4
	spUnused      = 5
	spByte        = 6
)

// spModel is what LoadSpiece needs of a spiece.model (ModelProto).
type spModel struct {
	pieces       []spPiece
	modelType    int64 // TrainerSpec.model_type: 1 unigram, 2 BPE
	byteFallback bool
	charsmap     []byte
}

type spPiece struct {
	piece string
	score float32
	typ   int64
}

// protoFields calls f for each field of a protobuf message: wire type 0
// (varint), 1 and 5 (fixed 64 and 32 bits, as uint64) or 2 (bytes).
func protoFields(b []byte, f func(num int, wire int, v uint64, data []byte) error) error {
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return errors.New("bad field key")
		}
		b = b[n:]
		num, wire := int(key>>3), int(key&7)
		switch wire {
		case 0:
			v, n := binary.Uvarint(b)
			if n <= 0 {
				return fmt.Errorf("field %d: bad varint", num)
			}
			b = b[n:]
			if err := f(num, wire, v, nil); err != nil {
				return err
			}
		case 1, 5:
			size := 8
			if wire == 5 {
				size = 4
			}
			if len(b) < size {
				return fmt.Errorf("field %d: truncated", num)
			}
			var v uint64
			if size == 4 {
				v = uint64(binary.LittleEndian.Uint32(b))
			} else {
				v = binary.LittleEndian.Uint64(b)
			}
			b = b[size:]
			if err := f(num, wire, v, nil); err != nil {
				return err
			}
		case 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return fmt.Errorf("field %d: length beyond the data", num)
			}
			data := b[n : n+int(l)]
			b = b[n+int(l):]
			if err := f(num, wire, 0, data); err != nil {
				return err
			}
		default:
			return fmt.Errorf("field %d: wire type %d is not supported", num, wire)
		}
	}
	return nil
}

func parseSpiece(b []byte) (*spModel, error) {
	m := &spModel{modelType: 1}
	err := protoFields(b, func(num, wire int, _ uint64, data []byte) error {
		switch {
		case num == 1 && wire == 2: // pieces
			p := spPiece{typ: spNormal}
			if err := protoFields(data, func(num, wire int, v uint64, data []byte) error {
				switch {
				case num == 1 && wire == 2:
					p.piece = string(data)
				case num == 2 && wire == 5:
					p.score = math.Float32frombits(uint32(v))
				case num == 3 && wire == 0:
					p.typ = int64(v)
				}
				return nil
			}); err != nil {
				return fmt.Errorf("pieces[%d]: %w", len(m.pieces), err)
			}
			if len(m.pieces) >= MaxHFVocab {
				return fmt.Errorf("more than %d pieces", MaxHFVocab)
			}
			m.pieces = append(m.pieces, p)
		case num == 2 && wire == 2: // trainer_spec
			return protoFields(data, func(num, wire int, v uint64, _ []byte) error {
				switch {
				case num == 3 && wire == 0:
					m.modelType = int64(v)
				case num == 35 && wire == 0:
					m.byteFallback = v != 0
				}
				return nil
			})
		case num == 3 && wire == 2: // normalizer_spec
			return protoFields(data, func(num, wire int, _ uint64, data []byte) error {
				if num == 2 && wire == 2 {
					m.charsmap = data
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("spiece.model: %w", err)
	}
	return m, nil
}

// LoadSpiece reads ALBERT's SentencePiece model file (spiece.model) as
// Hugging Face's ALBERT converter would turn it into a tokenizer.json:
// "“" and "”" become '"', then NFKD and accent stripping unless
// keepAccents, lower-casing if lower, the model's own charsmap; whitespace
// splitting and ▁ before each word; Viterbi over the pieces' scores; [CLS]
// A [SEP] (B [SEP]) around the text. Control, unknown and user-defined
// pieces are matched in the text as special tokens. Only unigram models
// are accepted.
func LoadSpiece(path string, lower, keepAccents bool) (*HF, error) {
	b, err := hfdir.ReadLimited(path, MaxHFFileBytes)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	m, err := parseSpiece(b)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	j, err := m.tokenizerJSON(lower, keepAccents)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	t, err := ParseHF(j, nil)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	t.name = path
	return t, nil
}

// tokenizerJSON writes the tokenizer.json equivalent of m.
func (m *spModel) tokenizerJSON(lower, keepAccents bool) ([]byte, error) {
	if m.modelType != 1 {
		return nil, fmt.Errorf("trainer_spec.model_type %d is not supported (only unigram, 1)", m.modelType)
	}
	if len(m.pieces) == 0 {
		return nil, errors.New("no pieces")
	}
	unk := -1
	vocab := make([][2]any, len(m.pieces))
	var added []map[string]any
	special := map[string]int{}
	for i, p := range m.pieces {
		if math.IsNaN(float64(p.score)) || math.IsInf(float64(p.score), 0) {
			return nil, fmt.Errorf("pieces[%d]: score %v is not finite", i, p.score)
		}
		vocab[i] = [2]any{p.piece, float64(p.score)}
		switch p.typ {
		case spUnknown:
			if unk < 0 {
				unk = i
			}
			fallthrough
		case spControl, spUserDefined:
			if p.piece != "" {
				added = append(added, map[string]any{"id": i, "content": p.piece, "special": true, "normalized": false})
				special[p.piece] = i
			}
		}
	}
	if unk < 0 {
		return nil, errors.New("no piece of type UNKNOWN")
	}
	norms := []any{
		map[string]any{"type": "Replace", "pattern": map[string]any{"String": "``"}, "content": "\""},
		map[string]any{"type": "Replace", "pattern": map[string]any{"String": "''"}, "content": "\""},
	}
	if !keepAccents {
		norms = append(norms, map[string]any{"type": "NFKD"}, map[string]any{"type": "StripAccents"})
	}
	if lower {
		norms = append(norms, map[string]any{"type": "Lowercase"})
	}
	if len(m.charsmap) > 0 {
		norms = append(norms, map[string]any{"type": "Precompiled", "precompiled_charsmap": base64.StdEncoding.EncodeToString(m.charsmap)})
	}
	meta := map[string]any{"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": true}
	t := map[string]any{
		"added_tokens":  added,
		"normalizer":    map[string]any{"type": "Sequence", "normalizers": norms},
		"pre_tokenizer": map[string]any{"type": "Sequence", "pretokenizers": []any{map[string]any{"type": "WhitespaceSplit"}, meta}},
		"decoder":       meta,
		"model":         map[string]any{"type": "Unigram", "unk_id": unk, "vocab": vocab, "byte_fallback": m.byteFallback},
	}
	cls, ok1 := special["[CLS]"]
	sep, ok2 := special["[SEP]"]
	if ok1 && ok2 {
		t["post_processor"] = bertTemplate("[CLS]", cls, "[SEP]", sep)
	}
	return json.Marshal(t)
}

// loadSpieceDir loads dir/spiece.model with the lower-casing and accent
// options of dir/tokenizer_config.json (ALBERT's defaults, lower-case and
// strip accents, when it does not say).
func loadSpieceDir(dir string) (*HF, error) {
	lower, keep := true, false
	if b, err := hfdir.ReadLimited(filepath.Join(dir, "tokenizer_config.json"), MaxHFFileBytes); err == nil {
		var c struct {
			Lower *bool `json:"do_lower_case"`
			Keep  *bool `json:"keep_accents"`
		}
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("tokenizer: %s: %w", filepath.Join(dir, "tokenizer_config.json"), err)
		}
		if c.Lower != nil {
			lower = *c.Lower
		}
		if c.Keep != nil {
			keep = *c.Keep
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := LoadSpiece(filepath.Join(dir, "spiece.model"), lower, keep)
	if err != nil {
		return nil, err
	}
	t.name = dir
	return t, nil
}

package cost

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tformer/tformer/hfconfig"
)

// ErrEncoderDecoder is returned by ParseHFConfig and LoadHFConfig for an
// encoder–decoder config (model_type bart, marian, t5): read those with
// ParseHFEncDec or LoadHFEncDec.
var ErrEncoderDecoder = errors.New("an encoder-decoder, not a decoder or encoder")

// EncDecFromHF is the EncDecSpec of a decoded encoder–decoder config.json.
func EncDecFromHF(h hfconfig.Config) (EncDecSpec, error) {
	e := h.EncDec
	if e == nil {
		return EncDecSpec{}, fmt.Errorf("config.json: model_type %s is not an encoder-decoder (want bart, marian or t5)", h.ModelType)
	}
	s := EncDecSpec{Name: h.Name, Vocab: e.Vocab, DModel: e.DModel, EncLayers: e.EncLayers, DecLayers: e.DecLayers,
		Heads: e.Heads, HeadDim: e.HeadDim, DFF: e.DFF, Gated: e.Gated, Bias: e.Bias, RMSNorm: e.RMSNorm, PreLN: e.PreLN,
		Positions: Positions(e.Positions), PosOffset: e.PosOffset, RelBuckets: e.RelBuckets,
		LNEmbedding: e.LNEmbedding, FinalLogits: e.FinalLogitsBias, ScaleEmbed: e.ScaleEmbed, ScaleOutput: e.ScaleOutput,
		Act: e.Activation, Tie: EncDecTie(e.Tie)}
	if s.Positions == PosLearned {
		s.MaxPositions = e.MaxPositions
	}
	if err := s.Validate(); err != nil {
		return EncDecSpec{}, fmt.Errorf("config.json: %w", err)
	}
	return s, nil
}

// ParseHFEncDec builds an EncDecSpec from the JSON of a Hugging Face
// config.json of model_type bart, marian or t5.
func ParseHFEncDec(data []byte) (EncDecSpec, error) {
	h, err := hfconfig.Parse(data)
	if err != nil {
		return EncDecSpec{}, err
	}
	return EncDecFromHF(h)
}

// LoadHFEncDec reads an encoder–decoder's config.json (see ParseHFEncDec),
// or the config.json inside path when path is a directory.
func LoadHFEncDec(path string) (EncDecSpec, error) {
	data, path, err := readConfig(path)
	if err != nil {
		return EncDecSpec{}, err
	}
	s, err := ParseHFEncDec(data)
	if err != nil {
		return EncDecSpec{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// readConfig reads path, or path/config.json when path is a directory.
func readConfig(path string) ([]byte, string, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "config.json") // a model directory, as every other command takes
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, path, fmt.Errorf("read config: %w", err)
	}
	return data, path, nil
}

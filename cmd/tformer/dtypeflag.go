package main

import (
	"errors"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/spf13/pflag"

	"github.com/tformer/tformer/internal/textfmt"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/modelio"
	"github.com/tformer/tformer/tokenizer"
)

// dtypeUsage is the --dtype flag's help, shared by generate, eval and serve.
const dtypeUsage = "weight type for inference: f32, bf16 (half the memory) or int8 (a quarter, one scale per row); activations stay float32"

// addDTypeFlag declares --dtype on fs into p (default f32).
func addDTypeFlag(fs *pflag.FlagSet, p *string) {
	fs.StringVar(p, "dtype", "f32", dtypeUsage)
}

// parseDTypeFlag reads --dtype's value ("" is f32, for options built
// without the flag).
func parseDTypeFlag(s string) (model.DType, error) {
	if s == "" {
		return model.F32, nil
	}
	dt, err := model.ParseDType(s)
	if err != nil {
		return 0, fmt.Errorf("--dtype: %w", err)
	}
	return dt, nil
}

// loadModelAs is loadModel for inference with the weights in dtype dt
// (--dtype, already parsed), through modelio.LoadAs: a tformer checkpoint
// or a GPT-2 or Llama-family directory is read straight into bf16 or int8
// storage (BF16 files keep their bits), so no float32 copy of the narrowed
// weights is held; other formats are read in float32 and converted. The
// model carries no gradients. For a narrow dtype a note on w gives the
// weights' memory.
func loadModelAs(path string, dt model.DType, w io.Writer) (*model.Model, tokenizer.Tokenizer, error) {
	l, err := modelio.LoadAs(path, dt)
	l, err = loaded(l, err, w)
	if errors.Is(err, model.ErrDType) {
		return nil, nil, fmt.Errorf("--dtype %s: %w", dt, err)
	}
	if err != nil {
		return nil, nil, err
	}
	m := l.Model
	// What the loader let go (file chunks; for converted formats the
	// float32 weights) is garbage now: collect it and give the memory back
	// before serving tokens, rather than have the collector do it during
	// generation.
	debug.FreeOSMemory()
	if dt != model.F32 {
		fmt.Fprintf(w, "note: weights in %s: %s (f32: %s)\n", dt, textfmt.Bytes(m.WeightBytes(), 1), textfmt.Bytes(model.WeightBytes(m.Config, model.F32), 1))
	}
	return m, l.Tokenizer, nil
}

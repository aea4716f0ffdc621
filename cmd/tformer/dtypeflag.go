package main

import (
	"fmt"
	"io"
	"runtime/debug"

	"github.com/spf13/pflag"

	"github.com/tformer/tformer/internal/textfmt"
	"github.com/tformer/tformer/model"
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

// loadModelAs is loadModel followed by the conversion of the model's
// weights to dtype (--dtype, already parsed) for inference: the float32
// weight matrices are replaced by bf16 or int8 ones and the gradients
// released (and returned to the OS). For a narrow dtype a note on w gives the weights' memory.
func loadModelAs(path string, dt model.DType, w io.Writer) (*model.Model, tokenizer.Tokenizer, error) {
	m, tok, err := loadModel(path, w)
	if err != nil {
		return nil, nil, err
	}
	f32 := m.WeightBytes()
	if dt != model.F32 {
		// Let the loader's garbage (the file's bytes) go first, so the
		// narrow copy reuses that memory instead of raising the peak.
		debug.FreeOSMemory()
	}
	if err := m.Quantize(dt); err != nil {
		return nil, nil, fmt.Errorf("--dtype %s: %w", dt, err)
	}
	// The float32 weights (narrow dtypes) and the gradients are garbage
	// now: collect them and give the memory back before serving tokens,
	// rather than have the collector do it during generation.
	debug.FreeOSMemory()
	if dt != model.F32 {
		fmt.Fprintf(w, "note: weights in %s: %s (f32: %s)\n", dt, textfmt.Bytes(m.WeightBytes(), 1), textfmt.Bytes(f32, 1))
	}
	return m, tok, nil
}

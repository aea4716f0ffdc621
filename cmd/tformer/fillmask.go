package main

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/modelio"
	"github.com/tformer/tformer/tokenizer"
)

// maskCandidate is one predicted token for a mask.
type maskCandidate struct {
	Token string  `json:"token"`
	ID    int32   `json:"id"`
	Prob  float64 `json:"prob"`
}

// maskPrediction is the top-k for the mask at Position (in the ids, [CLS]
// included).
type maskPrediction struct {
	Position   int             `json:"position"`
	Candidates []maskCandidate `json:"candidates"`
}

func newFillMaskCmd() *cobra.Command {
	var (
		modelDir, tokPath string
		top               int
		asJSON            bool
	)
	cmd := &cobra.Command{
		Use:   "fill-mask --model DIR TEXT",
		Short: "The most likely tokens for each [MASK] in a text, from a Hugging Face BERT or ALBERT masked LM",
		Long: `Encode TEXT with the model's tokenizer.json (with its post-processor's special
tokens, [CLS] ... [SEP]), run the masked-LM encoder in DIR (BertForMaskedLM or
AlbertForMaskedLM: config.json + model.safetensors) and print, for each mask token
([MASK] or <mask>) in the text, the --top most probable tokens and their
probabilities. With a downloaded bert-base-uncased or albert-base-v2 directory:
tformer fill-mask --model ./bert-base-uncased "The capital of France is [MASK]."
(the examples below use the repository's tiny test model, whose vocabulary is
the letters a-y).`,
		Example: `  tformer fill-mask --model testdata/golden/hf/bert_tiny --tokenizer testdata/fillmask/tokenizer.json "a b [MASK] c"
  tformer fill-mask --model testdata/golden/hf/albert_tiny --tokenizer testdata/fillmask/tokenizer.json --top 3 --json "[MASK] e"`,
		Args: cobra.ExactArgs(1),
	}
	fs := cmd.Flags()
	fs.StringVar(&modelDir, "model", "", "Hugging Face BertForMaskedLM or AlbertForMaskedLM directory (required)")
	fs.StringVar(&tokPath, "tokenizer", "", "tokenizer.json, or a directory with it, spiece.model or vocab.txt (default: the one in --model)")
	fs.IntVar(&top, "top", 5, "candidates per mask")
	fs.BoolVar(&asJSON, "json", false, `print [{"position": .., "candidates": [{"token", "id", "prob"}, ...]}, ...]`)
	_ = cmd.MarkFlagRequired("model")
	applyThreads := addThreadsFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := applyThreads(); err != nil {
			return err
		}
		if top <= 0 {
			return fmt.Errorf("--top must be positive, got %d", top)
		}
		l, err := modelio.LoadMaskedLM(modelDir, tokPath)
		if err != nil {
			if errors.Is(err, modelio.ErrNoTokenizer) {
				return fmt.Errorf("--model %s has no tokenizer.json, spiece.model or vocab.txt; pass --tokenizer", modelDir)
			}
			return fmt.Errorf("--model: %w", err)
		}
		preds, err := fillMask(l.Model, l.Tokenizer, args[0], top)
		if err != nil {
			return err
		}
		if asJSON {
			return printJSON(cmd.OutOrStdout(), preds)
		}
		for k, p := range preds {
			fmt.Fprintf(cmd.OutOrStdout(), "mask %d (token %d):\n", k+1, p.Position)
			for _, c := range p.Candidates {
				fmt.Fprintf(cmd.OutOrStdout(), "  %-16s %.4f\n", c.Token, c.Prob)
			}
		}
		return nil
	}
	return cmd
}

// fillMask encodes text with tok's special tokens and predicts every mask
// token in it.
func fillMask(m *model.Model, tok *tokenizer.HF, text string, k int) ([]maskPrediction, error) {
	mask, ok := tok.MaskToken()
	if !ok {
		return nil, errors.New("the tokenizer has no [MASK] (or <mask>) token")
	}
	ids, types := tok.EncodeSpecial([]byte(text), nil)
	var pos []int32
	for i, id := range ids {
		if id == mask {
			pos = append(pos, int32(i))
		}
	}
	if len(pos) == 0 {
		s, _ := tok.TokenString(mask)
		return nil, fmt.Errorf("the text has no %s token to fill", s)
	}
	return predictMasks(m, tok, ids, types, pos, k)
}

// predictMasks runs the encoder on one sequence and returns the top k
// tokens at each of positions.
func predictMasks(m *model.Model, tok *tokenizer.HF, ids, types, positions []int32, k int) ([]maskPrediction, error) {
	c := m.Config
	if !c.IsEncoder() {
		return nil, errors.New("the model is not a masked-LM encoder")
	}
	if len(ids) > c.MaxSeq {
		return nil, fmt.Errorf("the text is %d tokens, more than the model's %d positions", len(ids), c.MaxSeq)
	}
	for _, id := range ids {
		if int(id) >= c.Vocab {
			return nil, fmt.Errorf("the tokenizer gives id %d, outside the model's %d-token vocabulary", id, c.Vocab)
		}
	}
	for i := range types {
		if c.TypeVocab > 0 && int(types[i]) >= c.TypeVocab {
			types[i] = 0
		}
	}
	if _, err := m.ForwardMLM(model.MLMBatch{B: 1, T: len(ids), Tokens: ids, Types: types, Positions: positions}); err != nil {
		return nil, err
	}
	logits := m.Logits()
	v := c.Vocab
	if len(logits) < len(positions)*v {
		return nil, fmt.Errorf("the model gave %d logits for %d positions", len(logits), len(positions))
	}
	var out []maskPrediction
	for r, p := range positions {
		row := logits[r*v : (r+1)*v]
		hi := math.Inf(-1)
		for _, z := range row {
			hi = math.Max(hi, float64(z))
		}
		sum := 0.0
		for _, z := range row {
			sum += math.Exp(float64(z) - hi)
		}
		order := make([]int, v)
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return row[order[a]] > row[order[b]] })
		pred := maskPrediction{Position: int(p)}
		for _, id := range order[:min(k, v)] {
			s, ok := tok.TokenString(int32(id))
			if !ok {
				s = fmt.Sprintf("<id %d>", id)
			}
			s = strings.TrimPrefix(s, "\u2581")
			pred.Candidates = append(pred.Candidates, maskCandidate{Token: s, ID: int32(id), Prob: math.Exp(float64(row[id])-hi) / sum})
		}
		out = append(out, pred)
	}
	return out, nil
}

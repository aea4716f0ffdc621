package modelio_test

import (
	"fmt"

	"github.com/tformer/tformer/modelio"
	"github.com/tformer/tformer/train"
)

// Score a Hugging Face BERT masked LM on text with its own tokenizer: here
// the repository's tiny test BERT (vocabulary [PAD] [UNK] [CLS] [SEP]
// [MASK] and the letters a-y); a downloaded bert-base-uncased directory,
// which holds its tokenizer, loads with LoadMaskedLM(dir, "").
func ExampleLoadMaskedLM() {
	l, err := modelio.LoadMaskedLM("../testdata/golden/hf/bert_tiny", "../testdata/fillmask/tokenizer.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("type", l.Type, "mask id", l.Model.Config.MaskID(), "frame", l.Prefix, l.Suffix)

	ids := l.Tokenizer.Encode([]byte("a b c d e f g h i j k l m n o p q r s t u v w x y"))
	r, err := train.EvaluateMLMWith(l.Model, ids, train.MLMEvalOptions{Seq: 12, Batch: 4, Seed: train.EvalMaskSeed, Prefix: l.Prefix, Suffix: l.Suffix})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d masked of %d tokens\n", r.Masked, r.Tokens)
	// Output:
	// type bert mask id 4 frame [2] [3]
	// 4 masked of 20 tokens
}

package train

import (
	"testing"

	"github.com/tformer/tformer/model"
)

// An encoder's evaluation reports its progress (eval shows it on stderr for
// long runs, as for decoders): after every forward pass, up to all windows.
func TestEvaluateMLMProgress(t *testing.T) {
	c := model.Config{Arch: model.ArchEncoder, Vocab: 20, DModel: 8, Layers: 1, Heads: 2, DFF: 16, MaxSeq: 8, Tie: true, Share: model.ShareNone, Groups: 1}
	m, err := model.New(c)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	tokens := make([]int32, 8*7)
	for i := range tokens {
		tokens[i] = int32(i % 19)
	}
	var calls [][2]int
	if _, err := EvaluateMLMWith(m, tokens, MLMEvalOptions{Seq: 8, Batch: 3, Seed: 1, Progress: func(done, total int) { calls = append(calls, [2]int{done, total}) }}); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 3 || calls[0] != [2]int{3, 7} || calls[1] != [2]int{6, 7} || calls[2] != [2]int{7, 7} {
		t.Errorf("progress calls %v, want (3,7) (6,7) (7,7)", calls)
	}
}

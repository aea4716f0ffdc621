package model_test

import (
	"fmt"

	"github.com/tformer/tformer/model"
)

// An encoder–decoder at toy size: parameters stored and applied (its one
// tied matrix serves the source lookup, the target lookup and the output),
// a teacher-forced pass over two padded pairs, and beam search.
func ExampleModel_ForwardSeq2Seq() {
	c := model.TinyEncDec()
	m, err := model.New(c)
	if err != nil {
		panic(err)
	}
	m.Init(1)
	fmt.Println("unique", c.UniqueParams(), "applied", c.AppliedParams())
	x := model.Seq2SeqBatch{B: 2, SrcT: 3, TgtT: 3,
		Src: []int32{'a', 'b', 'c', 'd', 0, 0}, SrcLens: []int32{3, 1},
		Tgt: []int32{256, 'c', 'b', 256, 'd', 0}, TgtLens: []int32{3, 2},
		Targets: []int32{'c', 'b', 'a', 'd', 257, 0}}
	r, err := m.ForwardSeq2Seq(x)
	if err != nil {
		panic(err)
	}
	fmt.Println("predicted rows", r.Count, "loss finite", r.Loss > 0)
	if err := m.Backward(); err != nil {
		panic(err)
	}
	hs, err := m.BeamSearch([]int32{'a', 'b'}, model.GenerateOptions{BOS: 256, EOS: 257, MaxLen: 4, Beam: 2, LengthPenalty: 1})
	if err != nil {
		panic(err)
	}
	fmt.Println("hypotheses", len(hs), "best first", hs[0].Score >= hs[len(hs)-1].Score)
	// Output:
	// unique 958976 applied 1025536
	// predicted rows 5 loss finite true
	// hypotheses 2 best first true
}

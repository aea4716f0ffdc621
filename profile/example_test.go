package profile_test

import (
	"fmt"

	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/profile"
)

// Profile a small model's training step at two sequence lengths and print
// each component's analytical share of the FLOPs (the measured times vary
// from run to run; see Row.TimeShare and Row.GFLOPS).
func ExampleRun() {
	cfg := model.Config{Vocab: 64, DModel: 32, Layers: 2, Heads: 2, DFF: 128, MaxSeq: 32, Tie: true, Share: model.ShareNone, Groups: 1}
	r, err := profile.Run(cfg, []int{16, 32}, 2, 1, 3, true)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range r.PerSeq {
		fmt.Printf("n=%d:", s.Seq)
		for _, row := range s.Rows {
			if row.FLOPShare > 0.05 {
				fmt.Printf(" %s %.1f%%", row.Key, 100*row.FLOPShare)
			}
		}
		fmt.Println()
	}
	fmt.Println("counted FLOPs equal the cost model's:", r.PerSeq[0].FLOPsMatch && r.PerSeq[1].FLOPsMatch)
	// Output:
	// n=16: qkv 20.6% attn_out 6.9% ffn_up 27.5% ffn_down 27.3% logits 6.8%
	// n=32: qkv 19.8% attention_core 8.3% attn_out 6.6% ffn_up 26.4% ffn_down 26.2% logits 6.5%
	// counted FLOPs equal the cost model's: true
}

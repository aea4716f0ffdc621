package cost_test

import (
	"fmt"

	"github.com/tformer/tformer/cost"
	"github.com/tformer/tformer/kernels"
)

func ExampleSpec_Parameters() {
	s, _ := cost.Preset("albert-base")
	p := s.Parameters()
	fmt.Println(p.Total.Unique, p.Total.Applied, p.SavedBySharing)
	// Output: 11683584 89650176 77966592
}

func ExampleSpec_MatmulCrossovers() {
	s, _ := cost.Preset("transformer-base-decoder")
	x := s.MatmulCrossovers()
	fmt.Println(*x.MHAEqualsFFN, *x.CoreEqualsFFN)
	// Output: 1024 2048
}

func ExampleSpec_FLOPs() {
	s, _ := cost.Preset("gpt2")
	f := s.FLOPs(1024, 1, true)
	fmt.Println(f.Forward[kernels.Scores], f.Backward[kernels.Scores], f.Forward.Total())
	// Output: 9673113600 29019340800 273631769600
}

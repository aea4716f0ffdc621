package llmc_test

import (
	"fmt"

	"github.com/tformer/tformer/llmc"
)

func ExampleEncodeTokens() {
	b, err := llmc.EncodeTokens([]int32{15496, 995, 50256})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(b), llmc.IsTokenFile(b))
	ids, err := llmc.ParseTokens(b)
	fmt.Println(ids, err)
	_, err = llmc.EncodeTokens([]int32{70000})
	fmt.Println(err)
	// Output:
	// 1030 true
	// [15496 995 50256] <nil>
	// llm.c token file: token 0 has id 70000; llm.c token files hold ids in [0, 65536) (uint16)
}

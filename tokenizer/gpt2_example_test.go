package tokenizer_test

import (
	"fmt"

	"github.com/tformer/tformer/tokenizer"
)

func ExampleNewGPT2() {
	tok, err := tokenizer.NewGPT2()
	if err != nil {
		panic(err)
	}
	ids := tok.Encode([]byte("Hello world, it's 2024!"))
	fmt.Println(ids)
	fmt.Printf("%q\n", tok.Decode(ids))
	// Output:
	// [15496 995 11 340 338 48609 0]
	// "Hello world, it's 2024!"
}

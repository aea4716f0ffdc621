//go:build !race

// The race detector makes sync.Pool drop values at random, so allocation
// counts mean nothing under it.

package model

import (
	"testing"

	"github.com/tformer/tformer/internal/alloctest"
	"github.com/tformer/tformer/kernels"
)

// TestDecoderStepNoAllocs: after the first token, a KV-cache decoding step
// allocates nothing, plain or with a factorized embedding and head, with
// float32, bf16 or int8 weights, on one thread or two, with products big
// enough for the parallel paths.
func TestDecoderStepNoAllocs(t *testing.T) {
	old := kernels.Threads()
	defer kernels.SetThreads(old)
	for _, run := range []struct {
		e  int
		dt DType
	}{{0, F32}, {64, F32}, {0, BF16}, {64, BF16}, {0, Int8}, {64, Int8}} {
		e := run.e
		c := Config{Vocab: 4096, DModel: 256, Layers: 2, Heads: 4, DFF: 1024, MaxSeq: 64, Tie: true, Share: ShareNone, Groups: 1, EmbedDim: e}
		m, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		m.Init(1)
		if err := m.Quantize(run.dt); err != nil {
			t.Fatal(err)
		}
		dec := m.NewDecoder()
		for _, th := range []int{1, 2} {
			kernels.SetThreads(th)
			tok := int32(1)
			step := func() {
				if dec.Pos() == c.MaxSeq {
					dec.Reset()
				}
				if _, err := dec.Step(tok); err != nil {
					t.Fatal(err)
				}
				tok = (tok*31 + 7) % int32(c.Vocab)
			}
			step()
			if n := testing.AllocsPerRun(40, step); n != 0 {
				t.Errorf("embed %d, %s, threads %d: %v allocations per token", e, run.dt, th, n)
			}
		}
	}
}

// TestDecoderPrefillNoAllocs: after the first Prefill, prefilling a prompt
// (one chunk, or two from an offset) and stepping on from it allocate
// nothing, plain, factorized or Llama-shaped, in every dtype, on one
// thread or two, with products big enough for the parallel paths.
func TestDecoderPrefillNoAllocs(t *testing.T) {
	old := kernels.Threads()
	defer kernels.SetThreads(old)
	llama, _ := Config{Vocab: 4096, DModel: 256, Layers: 2, Heads: 4, DFF: 768, MaxSeq: PrefillChunk + 40, Tie: false, Share: ShareNone, Groups: 1}.Family("llama")
	llama.KVHeads = 2
	for _, c := range []Config{
		{Vocab: 4096, DModel: 256, Layers: 2, Heads: 4, DFF: 1024, MaxSeq: PrefillChunk + 40, Tie: true, Share: ShareNone, Groups: 1},
		{Vocab: 4096, DModel: 256, Layers: 2, Heads: 4, DFF: 1024, MaxSeq: PrefillChunk + 40, Tie: true, Share: ShareNone, Groups: 1, EmbedDim: 64},
		llama,
	} {
		for _, dt := range []DType{F32, BF16, Int8} {
			m, err := New(c)
			if err != nil {
				t.Fatal(err)
			}
			m.Init(1)
			if err := m.Quantize(dt); err != nil {
				t.Fatal(err)
			}
			dec := m.NewDecoder()
			prompt := make([]int32, PrefillChunk+3)
			for i := range prompt {
				prompt[i] = int32(i*97+5) % int32(c.Vocab)
			}
			for _, th := range []int{1, 2} {
				kernels.SetThreads(th)
				for _, run := range []struct{ before, n int }{{0, 40}, {7, PrefillChunk + 3}} {
					prefill := func() {
						dec.Reset()
						for _, tok := range prompt[:run.before] {
							if _, err := dec.Step(tok); err != nil {
								t.Fatal(err)
							}
						}
						if _, err := dec.Prefill(prompt[:run.n]); err != nil {
							t.Fatal(err)
						}
						if _, err := dec.Step(3); err != nil {
							t.Fatal(err)
						}
					}
					if n := alloctest.WarmAllocsPerRun(20, prefill); n != 0 {
						t.Errorf("%s e %d kv %d, threads %d, %d steps then prefill %d: %v allocations", dt, c.E(), c.KV(), th, run.before, run.n, n)
					}
				}
			}
		}
	}
}

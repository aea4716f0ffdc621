package cost

import (
	"testing"

	"github.com/tformer/tformer/model"
)

// The cache KVCache counts is what the engine's decoder allocates for
// MaxSeq positions.
func TestKVCacheMatchesDecoder(t *testing.T) {
	c := model.Config{Vocab: 50, DModel: 24, Layers: 3, Heads: 2, DFF: 40, MaxSeq: 16, Tie: true, Share: model.ShareAll, Groups: 1}
	m, err := model.New(c)
	if err != nil {
		t.Fatal(err)
	}
	dec := m.NewDecoder()
	floats := dec.CacheFloats()
	if got, want := ForModel(c).KVCache(c.MaxSeq, 1), floats*BytesPerValue; got != want {
		t.Errorf("KVCache(%d, 1) = %d bytes, the decoder holds %d", c.MaxSeq, got, want)
	}
	if got := ForModel(c).KVCache(8, 3); got != 2*3*3*8*24*4 {
		t.Errorf("KVCache(8, 3) = %d", got)
	}
	// Grouped-query attention caches the key/value heads only.
	g := c
	g.Heads, g.KVHeads, g.DHead = 4, 1, 8
	gm, err := model.New(g)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ForModel(g).KVCache(g.MaxSeq, 1), gm.NewDecoder().CacheFloats()*BytesPerValue; got != want || want != 2*3*16*8*4 {
		t.Errorf("GQA: KVCache = %d bytes, the decoder holds %d (want %d)", got, want, 2*3*16*8*4)
	}
	enc := c
	enc.Arch = model.ArchEncoder
	if got := ForModel(enc).KVCache(8, 1); got != 0 {
		t.Errorf("encoder KV cache = %d, want 0", got)
	}
}

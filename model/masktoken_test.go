package model

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

// A config without MaskToken keeps the reserved [MASK] (vocab − 1) and
// serialises as before the field existed; one with it masks with the
// tokenizer's id, draws random replacements from the whole vocabulary, and
// round-trips through JSON.
func TestMaskToken(t *testing.T) {
	c := Config{Arch: ArchEncoder, Vocab: 30, DModel: 8, Layers: 1, Heads: 2, DFF: 16, MaxSeq: 8, Tie: true, Share: ShareNone, Groups: 1}
	if c.MaskID() != 29 || !c.MaskReserved() {
		t.Fatalf("default MaskID %d reserved %v, want 29 true", c.MaskID(), c.MaskReserved())
	}
	b, _ := json.Marshal(c)
	if strings.Contains(string(b), "mask") {
		t.Errorf("a config without a mask token serialises it: %s", b)
	}
	if mk := NewMasker(c); mk.MaskID != 29 || mk.RandomVocab != 29 {
		t.Errorf("reserved masker %+v", mk)
	}
	b4 := c.WithMask(4)
	if err := b4.Validate(); err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(b4)
	var back Config
	if err := json.Unmarshal(b, &back); err != nil || back.MaskID() != 4 || !strings.Contains(string(b), `"mask_id":4`) {
		t.Errorf("round trip %s: MaskID %d, %v", b, back.MaskID(), err)
	}
	if mk := NewMasker(b4); mk.MaskID != 4 || mk.RandomVocab != 30 {
		t.Errorf("tokenizer-mask masker %+v", mk)
	}
	for _, bad := range []struct {
		c    Config
		want string
	}{
		{c.WithMask(30), "outside the vocab"},
		{c.WithMask(-1), "outside the vocab"},
		{Tiny().WithMask(3), "encoders only"},
	} {
		if err := bad.c.Validate(); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("Validate(mask %d) = %v, want %q", bad.c.MaskID(), err, bad.want)
		}
	}
}

// Keep's ids are never chosen; the masked ones become MaskID.
func TestMaskerKeep(t *testing.T) {
	mk := &Masker{MaskID: 4, RandomVocab: 30, Keep: []int32{2, 3}}
	tokens := []int32{2, 9, 10, 11, 12, 13, 14, 3}
	for seed := range uint64(50) {
		in := append([]int32(nil), tokens...)
		pos, _, err := mk.Mask(rand.New(rand.NewPCG(seed, 1)), in, 1, len(in), nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pos {
			if p == 0 || p == 7 {
				t.Fatalf("seed %d: kept position %d was chosen", seed, p)
			}
		}
	}
	if _, _, err := mk.Mask(rand.New(rand.NewPCG(1, 1)), []int32{2, 3, 4}, 1, 3, nil, nil, nil); err == nil {
		t.Error("a sequence of kept tokens and [MASK] only was masked")
	}
}

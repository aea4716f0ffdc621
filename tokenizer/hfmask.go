package tokenizer

// MaskToken returns the id of the tokenizer's mask token — BERT's and
// ALBERT's "[MASK]", RoBERTa's "<mask>" — and false when it has none.
func (t *HF) MaskToken() (int32, bool) {
	for _, s := range []string{"[MASK]", "<mask>"} {
		if id, ok := t.ids[s]; ok {
			return id, true
		}
	}
	return -1, false
}

// Frame returns the special tokens the post-processor puts before and after
// a single sequence: BERT's and ALBERT's [CLS] and [SEP], RoBERTa's <s> and
// </s>; none without a post-processor.
func (t *HF) Frame() (prefix, suffix []int32) {
	const text = -1 // stands for the sequence; no special token has a negative id
	ids, _ := t.post.apply([]int32{text}, nil, false)
	for i, id := range ids {
		if id == text {
			return ids[:i:i], ids[i+1:]
		}
	}
	return nil, nil
}

package cost

// KVCache returns the bytes of the float32 key/value cache that cached
// generation keeps for batch sequences of seq tokens: per layer and
// position, a key and a value of kv_heads · head_dim values each
// (KVValuesPerToken). The engine's model.Decoder allocates it for
// Config.MaxSeq positions when it is made. Encoders do not generate: their
// cache is 0.
func (s Spec) KVCache(seq, batch int) int64 {
	if s.Arch != Decoder {
		return 0
	}
	return s.KVValuesPerToken() * int64(batch) * int64(seq) * BytesPerValue
}

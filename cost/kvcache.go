package cost

// KVCache returns the bytes of the key/value cache that cached generation
// keeps for batch sequences of seq tokens: per layer and position, the
// key and the value, d_model values each. The engine's model.Decoder
// allocates it for Config.MaxSeq positions when it is made. Encoders do
// not generate: their cache is 0.
func (s Spec) KVCache(seq, batch int) int64 {
	if s.Arch != Decoder {
		return 0
	}
	c := s.Config
	return 2 * int64(c.Layers) * int64(batch) * int64(seq) * int64(c.DModel) * BytesPerValue
}

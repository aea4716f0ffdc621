package model

// CacheFloats is the number of float32 values in the decoder's key/value
// cache (allocated for MaxSeq positions when the decoder is made).
func (dec *Decoder) CacheFloats() int64 {
	var n int64
	for l := range dec.kc {
		n += int64(len(dec.kc[l]) + len(dec.vc[l]))
	}
	return n
}

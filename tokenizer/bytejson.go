package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// ByteTokenizerJSON is the byte tokenizer (id = byte value, vocabulary 256)
// written as a Hugging Face tokenizer.json, so that a directory tformer
// writes for a byte-level model carries its tokenizer for other tools: a
// byte-level BPE with no merges whose 256 tokens are GPT-2's characters for
// the bytes (token id b is byte b), the ByteLevel pre-tokenizer without its
// split regex (the text is not split into words: no merge could join them
// anyway) and the ByteLevel decoder. Encoding any text with it gives the
// byte tokenizer's ids.
func ByteTokenizerJSON() []byte {
	var vocab bytes.Buffer
	vocab.WriteByte('{')
	for b := 0; b < 256; b++ {
		if b > 0 {
			vocab.WriteByte(',')
		}
		k, _ := json.Marshal(string(byteToUnit[b]))
		fmt.Fprintf(&vocab, "%s:%d", k, b)
	}
	vocab.WriteByte('}')
	const byteLevel = `{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":false}`
	return fmt.Appendf(nil, `{"version":"1.0","truncation":null,"padding":null,"added_tokens":[],"normalizer":null,`+
		`"pre_tokenizer":%s,"post_processor":null,"decoder":%s,`+
		`"model":{"type":"BPE","dropout":null,"unk_token":null,"continuing_subword_prefix":null,"end_of_word_suffix":null,`+
		`"fuse_unk":false,"byte_fallback":false,"ignore_merges":false,"vocab":%s,"merges":[]}}`+"\n", byteLevel, byteLevel, vocab.Bytes())
}

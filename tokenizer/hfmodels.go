package tokenizer

import (
	"container/heap"
	"fmt"
	"math"
	"sync"
	"unicode/utf8"
)

// hfModel is the model stage of a tokenizer.json pipeline: it turns one
// pre-token into ids.
type hfModel interface {
	encode(dst []int32, piece string, w *bpeWork) []int32
}

// byteTokenName is the spelling of byte b's fallback token: <0x41>.
func byteTokenName(b byte) string { return fmt.Sprintf("<0x%02X>", b) }

// byteTokens looks up the 256 fallback tokens; missing ones are -1.
func byteTokens(vocab map[string]int32) (t [256]int32) {
	for b := range t {
		id, ok := vocab[byteTokenName(byte(b))]
		if !ok {
			id = -1
		}
		t[b] = id
	}
	return t
}

// appendBytes appends the fallback tokens of s, or returns false if one is
// missing.
func appendBytes(dst []int32, s string, bt *[256]int32) ([]int32, bool) {
	for i := 0; i < len(s); i++ {
		if bt[s[i]] < 0 {
			return dst, false
		}
	}
	for i := 0; i < len(s); i++ {
		dst = append(dst, bt[s[i]])
	}
	return dst, true
}

// hfBPE is the BPE model: each character of a pre-token is a symbol (a
// character outside the vocabulary becomes its byte tokens under
// byte_fallback, else the unknown token), and adjacent symbols are merged
// lowest merge rank first, leftmost first among equal ranks.
type hfBPE struct {
	vocab        map[string]int32
	merges       map[uint64]merge
	unk          int32 // -1: none
	fuseUnk      bool
	byteFallback bool
	ignoreMerges bool
	bytes        [256]int32

	mu    sync.Mutex
	cache map[string][]int32 // piece -> ids, for pieces of at most maxCachedPiece bytes
}

func (m *hfBPE) encode(dst []int32, piece string, w *bpeWork) []int32 {
	if piece == "" {
		return dst
	}
	if len(piece) > maxCachedPiece {
		return m.encodeUncached(dst, piece, w)
	}
	m.mu.Lock()
	got, ok := m.cache[piece]
	m.mu.Unlock()
	if ok {
		return append(dst, got...)
	}
	start := len(dst)
	dst = m.encodeUncached(dst, piece, w)
	m.mu.Lock()
	if m.cache == nil || len(m.cache) >= maxCache {
		m.cache = make(map[string][]int32)
	}
	m.cache[piece] = append([]int32(nil), dst[start:]...)
	m.mu.Unlock()
	return dst
}

func (m *hfBPE) encodeUncached(dst []int32, piece string, w *bpeWork) []int32 {
	if m.ignoreMerges {
		if id, ok := m.vocab[piece]; ok {
			return append(dst, id)
		}
	}
	w.id = w.id[:0]
	lastUnk := false
	for i := 0; i < len(piece); {
		_, size := utf8.DecodeRuneInString(piece[i:])
		c := piece[i : i+size]
		i += size
		if id, ok := m.vocab[c]; ok {
			w.id = append(w.id, id)
			lastUnk = false
			continue
		}
		if m.byteFallback {
			var ok bool
			if w.id, ok = appendBytes(w.id, c, &m.bytes); ok {
				lastUnk = false
				continue
			}
		}
		if m.unk >= 0 && !(m.fuseUnk && lastUnk) {
			w.id = append(w.id, m.unk)
		}
		lastUnk = m.unk >= 0
	}
	if len(w.id) == 0 {
		return dst
	}
	return mergeSymbols(dst, m.merges, w)
}

// mergeSymbols merges the symbols w.id (set by the caller) by the merge
// table and appends the result to ids.
//
// The reference algorithm repeatedly takes the adjacent pair with the best
// (lowest) merge rank, leftmost first, and merges it. This does the same
// with a priority queue ordered by (rank, position); a candidate that an
// earlier merge consumed or changed is found stale and skipped.
func mergeSymbols(ids []int32, merges map[uint64]merge, w *bpeWork) []int32 {
	n := len(w.id)
	w.prev = w.prev[:0]
	w.next = w.next[:0]
	for i := 0; i < n; i++ {
		w.prev = append(w.prev, i-1)
		w.next = append(w.next, i+1)
	}
	w.next[n-1] = -1
	w.h = w.h[:0]
	push := func(l, r int) {
		if l < 0 || r < 0 {
			return
		}
		if m, ok := merges[uint64(uint32(w.id[l]))<<32|uint64(uint32(w.id[r]))]; ok {
			heap.Push(&w.h, pairCand{rank: m.rank, left: l, right: r, a: w.id[l], b: w.id[r]})
		}
	}
	for i := 0; i+1 < n; i++ {
		push(i, i+1)
	}
	for w.h.Len() > 0 {
		c := heap.Pop(&w.h).(pairCand)
		l, r := c.left, c.right
		if w.id[l] != c.a || w.id[r] != c.b || w.next[l] != r {
			continue
		}
		m := merges[uint64(uint32(c.a))<<32|uint64(uint32(c.b))]
		w.id[l] = m.id
		w.id[r] = -1
		nr := w.next[r]
		w.next[l] = nr
		if nr >= 0 {
			w.prev[nr] = l
		}
		push(w.prev[l], l)
		push(l, nr)
	}
	for i := 0; i >= 0; i = w.next[i] {
		ids = append(ids, w.id[i])
	}
	return ids
}

// hfWordPiece is BERT's WordPiece: greedy longest-match-first, pieces after
// the first spelled with the continuation prefix (##), and the unknown token
// for a word that cannot be covered or is longer than maxChars characters.
type hfWordPiece struct {
	vocab    map[string]int32
	unk      int32 // -1: none
	prefix   string
	maxChars int
}

func (m *hfWordPiece) encode(dst []int32, word string, _ *bpeWork) []int32 {
	if word == "" {
		return dst
	}
	unk := func() []int32 {
		if m.unk >= 0 {
			return append(dst, m.unk)
		}
		return dst
	}
	if utf8.RuneCountInString(word) > m.maxChars {
		return unk()
	}
	mark := len(dst)
	for start := 0; start < len(word); {
		end := len(word)
		found := int32(-1)
		for end > start {
			sub := word[start:end]
			if start > 0 {
				sub = m.prefix + sub
			}
			if id, ok := m.vocab[sub]; ok {
				found = id
				break
			}
			_, size := utf8.DecodeLastRuneInString(word[start:end])
			end -= size
		}
		if found < 0 {
			dst = dst[:mark]
			return unk()
		}
		dst = append(dst, found)
		start = end
	}
	return dst
}

// hfUnigram is SentencePiece's unigram model: the segmentation of a
// pre-token into vocabulary pieces with the highest total score (Viterbi),
// a character no piece starts with being unknown (scored min-10, runs of
// unknowns fused), and unknown runs spelled as byte tokens under
// byte_fallback.
type hfUnigram struct {
	vocab        map[string]int32
	scores       []float64 // by id
	unk          int32
	unkScore     float64
	maxLen       int // longest piece, in bytes
	byteFallback bool
	bytes        [256]int32
}

func (m *hfUnigram) encode(dst []int32, s string, _ *bpeWork) []int32 {
	n := len(s)
	if n == 0 {
		return dst
	}
	type best struct {
		score float64
		from  int
		id    int32
		ok    bool
		unk   bool // no piece: an unknown character
	}
	b := make([]best, n+1)
	b[0].ok = true
	for start := 0; start < n; {
		_, first := utf8.DecodeRuneInString(s[start:])
		if b[start].ok {
			single := false
			for end := start + first; end <= n && end-start <= m.maxLen; {
				if id, ok := m.vocab[s[start:end]]; ok {
					if cand := b[start].score + m.scores[id]; !b[end].ok || cand > b[end].score {
						b[end] = best{cand, start, id, true, false}
					}
					if end == start+first {
						single = true
					}
				}
				if end == n {
					break
				}
				_, size := utf8.DecodeRuneInString(s[end:])
				end += size
			}
			if !single {
				end := start + first
				if cand := b[start].score + m.unkScore; !b[end].ok || cand > b[end].score {
					b[end] = best{cand, start, m.unk, true, true}
				}
			}
		}
		start += first
	}
	// Walk back, then emit forward, fusing runs of unknowns.
	var path []int // piece ends, last first
	for end := n; end > 0; end = b[end].from {
		path = append(path, end)
	}
	for k := len(path) - 1; k >= 0; k-- {
		end := path[k]
		start := b[end].from
		if !b[end].unk {
			dst = append(dst, b[end].id)
			continue
		}
		for k > 0 && b[path[k-1]].unk {
			k--
			end = path[k]
		}
		if m.byteFallback {
			var ok bool
			if dst, ok = appendBytes(dst, s[start:end], &m.bytes); ok {
				continue
			}
		}
		dst = append(dst, m.unk)
	}
	return dst
}

// unigramMinScore returns the lowest finite score.
func unigramMinScore(scores []float64) float64 {
	lo := math.Inf(1)
	for _, s := range scores {
		lo = math.Min(lo, s)
	}
	if math.IsInf(lo, 1) {
		return 0
	}
	return lo
}

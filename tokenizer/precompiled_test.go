package tokenizer

import (
	"encoding/base64"
	"encoding/binary"
	"sort"
	"strings"
	"testing"
)

// buildCharsmap writes a charsmap blob for m in darts-clone's unit layout:
// a node's unit holds its label (the byte leading to it), a has-leaf bit
// and the XOR offset from its position to the base of its children; a
// child c sits at base^c, and a node's value in a leaf unit (bit 31 set)
// at base itself. Every node has its own base, so that a path that
// leaves the trie cannot land on another node's child.
func buildCharsmap(t *testing.T, m map[string]string) []byte {
	t.Helper()
	type node struct {
		kids  map[byte]*node
		value int
		leaf  bool
	}
	root := &node{kids: map[byte]*node{}}
	var repl []byte
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		n := root
		for i := 0; i < len(k); i++ {
			c := n.kids[k[i]]
			if c == nil {
				c = &node{kids: map[byte]*node{}}
				n.kids[k[i]] = c
			}
			n = c
		}
		n.leaf, n.value = true, len(repl)
		repl = append(append(repl, m[k]...), 0)
	}
	units := make([]uint32, 1)
	used := map[uint32]bool{0: true}
	bases := map[uint32]bool{} // darts-clone gives every node its own base
	var place func(n *node, pos uint32)
	place = func(n *node, pos uint32) {
		var labels []uint32
		for c := range n.kids {
			labels = append(labels, uint32(c))
		}
		if n.leaf {
			labels = append(labels, 0)
		}
		if len(labels) == 0 {
			return
		}
		base := uint32(1)
	search:
		for ; ; base++ {
			if bases[base] {
				continue
			}
			for _, l := range labels {
				if used[base^l] {
					continue search
				}
			}
			break
		}
		bases[base] = true
		for _, l := range labels {
			used[base^l] = true
			for int(base^l) >= len(units) {
				units = append(units, 0)
			}
		}
		units[pos] |= (pos ^ base) << 10
		if n.leaf {
			units[base] = 1<<31 | uint32(n.value)
		}
		cs := make([]int, 0, len(n.kids))
		for c := range n.kids {
			cs = append(cs, int(c))
		}
		sort.Ints(cs)
		for _, c := range cs {
			k := n.kids[byte(c)]
			p := base ^ uint32(c)
			units[p] |= uint32(c)
			if k.leaf {
				units[p] |= 1 << 8
			}
			place(k, p)
		}
	}
	place(root, 0)
	b := binary.LittleEndian.AppendUint32(nil, uint32(4*len(units)))
	for _, u := range units {
		b = binary.LittleEndian.AppendUint32(b, u)
	}
	return append(b, repl...)
}

func TestPrecompiledCharsmap(t *testing.T) {
	blob := buildCharsmap(t, map[string]string{
		"\uff21": "A", "\u2160": "I", "ab": "X", "a": "Y", "\u00a0": " ", "\u3000": " ", "ﬁ": "fi",
	})
	cm, err := parseCharsmap(blob)
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"abaＡ\u00a0Ⅰz": "XYA Iz", "": "", "b": "b", "ﬁne\u3000ab": "fine X", "中ａ": "中ａ", "\xff": "\xff",
	} {
		if got := cm.normalize(in); got != want {
			t.Errorf("normalize(%q) = %q, want %q", in, got, want)
		}
	}
	j := `{"model":{"type":"WordPiece","vocab":{"[UNK]":0,"fine":1,"x":2},"unk_token":"[UNK]"},` +
		`"normalizer":{"type":"Sequence","normalizers":[{"type":"Precompiled","precompiled_charsmap":"` + base64.StdEncoding.EncodeToString(blob) + `"},{"type":"Lowercase"}]},` +
		`"pre_tokenizer":{"type":"WhitespaceSplit"}}`
	tok, err := ParseHF([]byte(j), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.Encode([]byte("ﬁne\u3000ab")); len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Errorf("Encode = %v, want [1 2]", got)
	}
	for _, bad := range [][]byte{{1, 2}, {8, 0, 0, 0, 1}, {3, 0, 0, 0, 1, 2, 3, 4}} {
		if _, err := parseCharsmap(bad); err == nil {
			t.Errorf("charsmap %v accepted", bad)
		}
	}
	if _, err := ParseHF([]byte(strings.Replace(j, base64.StdEncoding.EncodeToString(blob), "!!", 1)), nil); err == nil || !strings.Contains(err.Error(), "normalizer.normalizers[0].precompiled_charsmap") {
		t.Errorf("bad base64: %v", err)
	}
}

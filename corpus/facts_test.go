package corpus

import (
	"strings"
	"testing"
)

// Every fact's answer is a sentence of the corpus, word for word, and no
// (subject, relation) is listed twice.
func TestFactsInCorpus(t *testing.T) {
	text := string(text())
	seen := map[[2]string]bool{}
	fs := Facts()
	if len(fs) != 24*6+16*3+7+12*2 {
		t.Fatalf("%d facts", len(fs))
	}
	for _, f := range fs {
		k := [2]string{f.Subject, f.Relation}
		if seen[k] {
			t.Errorf("%v listed twice", k)
		}
		seen[k] = true
		if !strings.Contains(text, f.Answer) {
			t.Errorf("%q is not in the corpus", f.Answer)
		}
	}
}

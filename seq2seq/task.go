package seq2seq

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tformer/tformer/corpus"
)

// Tasks lists the built-in tasks.
func Tasks() []string { return []string{"facts", "reverse"} }

// Task returns a built-in task's training and held-out examples, generated
// from the built-in corpus and split by seed:
//
//   - "facts": questions about the corpus's world (its animals, people, days
//     and months; corpus.Facts) in four wordings each, answered with the
//     corpus's own sentence ("What colour is the cat?" → "The cat is
//     grey."). For about half of the facts (chosen by seed) one wording is
//     held out; every fact and every wording is still in the training
//     split, so the held-out questions test a new combination of known
//     parts. 223 facts, 892 examples, ~110 held out.
//   - "reverse": sentences of the corpus of 3 to 10 words (up to 60 bytes)
//     → the same words in reverse order ("The cat is grey." → "grey. is
//     cat The"): 4,000 distinct sentences drawn by seed, a tenth held out.
//
// The two splits never share a source. In bytes, facts' sources are at most
// 37 long and its targets 32; reverse's 60 and 60 (FitLimits gives the
// limits that hold a set of pairs).
func Task(name string, seed uint64) (train, heldOut []Example, err error) {
	switch name {
	case "facts":
		train, heldOut = factsTask(seed)
	case "reverse":
		train, heldOut = reverseTask(seed)
	default:
		return nil, nil, fmt.Errorf("unknown task %q (want %s)", name, strings.Join(Tasks(), " or "))
	}
	return train, heldOut, nil
}

// questionForms are four wordings per relation; %s is the subject.
var questionForms = map[string][4]string{
	"colour": {"What colour is the %s?", "Which colour is the %s?", "Tell me the colour of the %s.", "What is the colour of the %s?"},
	"sound":  {"What does the %s say?", "What sound does the %s make?", "Tell me what the %s says.", "How does the %s sound?"},
	"home":   {"Where does the %s live?", "Where is the home of the %s?", "Tell me where the %s lives.", "Where can you find the %s?"},
	"food":   {"What does the %s eat?", "What food does the %s like?", "Tell me what the %s eats.", "What is the food of the %s?"},
	"legs":   {"How many legs does the %s have?", "How many legs has the %s?", "Tell me how many legs the %s has.", "Count the legs of the %s."},
	"size":   {"Is the %s big or small?", "How big is the %s?", "Tell me the size of the %s.", "What size is the %s?"},
	"job":    {"What does %s do?", "What is the job of %s?", "Tell me the job of %s.", "What work does %s do?"},
	"town":   {"Where does %s live?", "Which town is %s from?", "Tell me where %s lives.", "In which town does %s live?"},
	"pet":    {"What pet does %s have?", "Which animal is the pet of %s?", "Tell me about the pet of %s.", "What animal does %s keep?"},
	"next":   {"What comes after %s?", "What follows %s?", "Tell me what comes after %s.", "Which comes next after %s?"},
	"season": {"In which season is %s?", "What season is %s in?", "Tell me the season of %s.", "Which season has %s?"},
}

func factsTask(seed uint64) (train, held []Example) {
	r := newRNG(seed, 0x66616374)
	for _, f := range corpus.Facts() {
		forms, ok := questionForms[f.Relation]
		if !ok {
			panic("seq2seq: no question forms for relation " + f.Relation) // a corpus change this package must follow
		}
		out := -1
		if r.intn(2) == 0 {
			out = r.intn(len(forms))
		}
		for i, q := range forms {
			e := Example{Source: fmt.Sprintf(q, f.Subject), Target: f.Answer}
			if i == out {
				held = append(held, e)
			} else {
				train = append(train, e)
			}
		}
	}
	shuffle(r, train)
	return train, held
}

// ReverseWords is the "reverse" task's target for a source.
func ReverseWords(s string) string {
	w := strings.Fields(s)
	for i, j := 0, len(w)-1; i < j; i, j = i+1, j-1 {
		w[i], w[j] = w[j], w[i]
	}
	return strings.Join(w, " ")
}

func reverseTask(seed uint64) (train, held []Example) {
	seen := map[string]bool{}
	var sents []string
	for _, line := range strings.Split(string(corpus.Default()), "\n") {
		line = strings.TrimPrefix(strings.TrimPrefix(line, "Q: "), "A: ")
		start := 0
		for i := 0; i < len(line); i++ {
			if c := line[i]; c != '.' && c != '?' && c != '!' || (i+1 < len(line) && line[i+1] != ' ') {
				continue
			}
			s := strings.TrimSpace(line[start : i+1])
			start = i + 1
			if n := len(strings.Fields(s)); n >= 3 && n <= 10 && len(s) <= 60 && !seen[s] {
				seen[s] = true
				sents = append(sents, s)
			}
		}
	}
	sort.Strings(sents) // independent of the corpus's order of first use
	r := newRNG(seed, 0x72657665)
	shuffle(r, sents)
	sents = sents[:min(len(sents), 4000)]
	nh := len(sents) / 10
	for i, s := range sents {
		e := Example{Source: s, Target: ReverseWords(s)}
		if i < nh {
			held = append(held, e)
		} else {
			train = append(train, e)
		}
	}
	return train, held
}

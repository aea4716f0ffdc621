package corpus

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// wantSHA256 is the SHA-256 of Default(). It guards against accidental
// changes to the corpus: a change to the seed, the tables or the templates
// alters it. If a change is intended, update this constant.
const wantSHA256 = "6f9a1a1ac50db7224468f342ae29e2e4faaa074a0e16d3d1701b23ca1ee1873b"

// flat returns the corpus with every newline replaced by a space, so that
// patterns can match sentences that were wrapped across lines.
func flat(t *testing.T) string {
	t.Helper()
	return strings.ReplaceAll(string(text()), "\n", " ")
}

func TestDeterministic(t *testing.T) {
	a, b := Default(), Default()
	if !bytes.Equal(a, b) {
		t.Fatal("two calls to Default returned different bytes")
	}
	if fresh := generate(seed, targetSize); !bytes.Equal(a, fresh) {
		t.Fatal("a fresh generation differs from the cached corpus")
	}
	sum := sha256.Sum256(a)
	if got := hex.EncodeToString(sum[:]); got != wantSHA256 {
		t.Errorf("corpus SHA-256 = %s, want %s\n(if the corpus was changed on purpose, update wantSHA256)", got, wantSHA256)
	}
}

func TestDefaultReturnsCopy(t *testing.T) {
	a := Default()
	want := a[0]
	a[0] ^= 0xff
	if b := Default(); b[0] != want {
		t.Fatal("modifying the result of Default changed the cached corpus")
	}
}

func TestSize(t *testing.T) {
	n := len(Default())
	if n < 1_000_000 || n > 2_000_000 {
		t.Fatalf("corpus is %d bytes, want between 1 MB and 2 MB", n)
	}
}

func TestASCII(t *testing.T) {
	for i, c := range text() {
		if c != '\n' && (c < 0x20 || c > 0x7e) {
			t.Fatalf("byte %d is %#x, want printable ASCII or newline", i, c)
		}
	}
}

func TestLayout(t *testing.T) {
	s := string(text())
	if strings.HasPrefix(s, "\n") || !strings.HasSuffix(s, "\n") || strings.HasSuffix(s, "\n\n") {
		t.Error("corpus should start with text and end with exactly one newline")
	}
	if strings.Contains(s, "\n\n\n") {
		t.Error("paragraphs should be separated by exactly one blank line")
	}
	for i, l := range strings.Split(s, "\n") {
		if strings.HasSuffix(l, " ") || strings.HasPrefix(l, " ") {
			t.Fatalf("line %d has leading or trailing spaces: %q", i+1, l)
		}
	}
	if n := strings.Count(s, "\n\n"); n < 5000 {
		t.Errorf("corpus has %d paragraphs, want many more", n+1)
	}
}

func TestDescribe(t *testing.T) {
	d := Describe()
	if strings.Contains(d, "\n") {
		t.Errorf("Describe() should be one line, got %q", d)
	}
	if !strings.Contains(d, strconv.Itoa(len(text()))+" bytes") {
		t.Errorf("Describe() = %q, want it to state the size", d)
	}
}

// TestSections checks that every kind of paragraph appears many times.
func TestSections(t *testing.T) {
	s := "\n" + string(text())
	kinds := []struct {
		name string
		re   string
	}{
		{"animal story", `(?m)^(Once upon a time, there was|There once was a little|This is a story about|(In|On|By|Among) the \w+, there lived)`},
		{"person story", `(?m)^([A-Z]\w+ was an? \w+ who lived in|[A-Z]\w+ lived in [A-Z]\w+ with|There once was an? \w+ named)`},
		{"animal facts", `(?m)^The \w+ (is|says|lives|eats|has) `},
		{"colour facts", `(?m)^These animals are \w+: `},
		{"person facts", `(?m)^[A-Z]\w+ is an? \w+\. (She|He) lives in `},
		{"questions", `(?m)^Q: .*\?\nA: .*\.$`},
		{"dialogue", `(?m)^[A-Z]\w+: Hello, [A-Z]\w+!\n[A-Z]\w+: Hello, [A-Z]\w+! Where are you going\?$`},
		{"pet dialogue", `(?m)^[A-Z]\w+: Good morning, [A-Z]\w+\. How is your \w+\?$`},
		{"sum dialogue", `(?m)^[A-Z]\w+: How many \w+ do we have together\?$`},
		{"day dialogue", `(?m)^[A-Z]\w+: What day is it today, [A-Z]\w+\?$`},
		{"addition", `(?m)^\d+ \+ \d+ = \d+\.$`},
		{"subtraction", `(?m)^\d+ - \d+ = \d+\.$`},
		{"multiplication", `(?m)^\d+ \* \d+ = \d+\.$`},
		{"arithmetic in words", `(?m)^[A-Z][a-z]+ (plus|minus) [a-z]+ is [a-z]+\.$`},
		{"counting", `(?m)^Count (from|by|down from|to) `},
		{"alphabet", `(?m)^The (letters of the|whole) alphabet: `},
		{"days of the week", `The days of the week are Monday, Tuesday, Wednesday,\sThursday,\sFriday,\sSaturday\sand\sSunday\.`},
		{"months", `The months of the year are January,\s`},
		{"seasons", `The months of (winter|spring|summer|autumn) are`},
	}
	for _, k := range kinds {
		n := 0
		if strings.HasPrefix(k.re, "(?m)^") {
			// Try the pattern at each line start only: much faster than
			// a search through the whole text.
			eachAt(s, []string{"\n"}, k.re, func(string, []string) { n++ })
		} else {
			n = len(regexp.MustCompile(k.re).FindAllStringIndex(s, -1))
		}
		if n < 20 {
			t.Errorf("%s: %d paragraphs or lines match %s, want at least 20", k.name, n, k.re)
		}
	}
}

// TestArithmetic checks every sum, difference and product in the corpus,
// whether written in digits or in words.
func TestArithmetic(t *testing.T) {
	s := flat(t)
	digits := regexp.MustCompile(`(\d+) ([-+*]) (\d+) = (\d+)\.`).FindAllStringSubmatch(s, -1)
	if len(digits) < 1000 {
		t.Fatalf("found %d arithmetic statements, want at least 1000", len(digits))
	}
	for _, m := range digits {
		x, _ := strconv.Atoi(m[1])
		y, _ := strconv.Atoi(m[3])
		z, _ := strconv.Atoi(m[4])
		want := map[string]int{"+": x + y, "-": x - y, "*": x * y}[m[2]]
		if z != want {
			t.Errorf("wrong arithmetic: %q", m[0])
		}
	}

	value := func(w string) int {
		i := slices.Index(numberWords, strings.ToLower(w))
		if i < 0 {
			t.Fatalf("not a number word: %q", w)
		}
		return i
	}
	words := regexp.MustCompile(`(?m)^([A-Z][a-z]+) (plus|minus) ([a-z]+) is ([a-z]+)\.$`).FindAllStringSubmatch(string(text()), -1)
	if len(words) < 100 {
		t.Fatalf("found %d arithmetic statements in words, want at least 100", len(words))
	}
	for _, m := range words {
		x, y, z := value(m[1]), value(m[3]), value(m[4])
		if (m[2] == "plus" && z != x+y) || (m[2] == "minus" && z != x-y) {
			t.Errorf("wrong arithmetic: %q", m[0])
		}
	}

	shop := regexp.MustCompile(`bought (\w+) (\w+)\. Then (?:he|she) bought (\w+) more\. Now (?:he|she) had (\w+) (\w+)\.`).FindAllStringSubmatch(s, -1)
	if len(shop) < 100 {
		t.Fatalf("found %d shopping sums, want at least 100", len(shop))
	}
	for _, m := range shop {
		if value(m[1])+value(m[3]) != value(m[4]) || m[2] != m[5] {
			t.Errorf("wrong shopping sum: %q", m[0])
		}
	}
}

// check fails the test if got != want, and counts the comparison.
func check(t *testing.T, n *int, what, got, want string) {
	t.Helper()
	*n++
	if got != want {
		t.Errorf("%s: got %q, want %q", what, got, want)
	}
}

// eachAt calls f for every occurrence in s of one of the prefixes that
// starts a word and is followed by a match of the regular expression re.
// f receives the prefix and the submatches of re (m[0] is the whole match,
// prefix included). Finding prefixes with strings.Index and matching re
// only on a short window keeps these tests fast.
func eachAt(s string, prefixes []string, re string, f func(prefix string, m []string)) {
	rx := regexp.MustCompile(`^(?:` + re + `)`)
	for _, p := range prefixes {
		for i := 0; ; {
			j := strings.Index(s[i:], p)
			if j < 0 {
				break
			}
			j += i
			i = j + 1
			if j > 0 && isLetter(s[j-1]) {
				continue
			}
			rest := s[j+len(p) : min(len(s), j+len(p)+200)]
			if m := rx.FindStringSubmatch(rest); m != nil {
				m[0] = p + m[0]
				f(p, m)
			}
		}
	}
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// prefixed returns each of names with prefix added.
func prefixed(prefix string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + n
	}
	return out
}

// TestAnimalFacts checks that each animal is always described with the
// same colour, sound, home, food and number of legs.
func TestAnimalFacts(t *testing.T) {
	s := flat(t)
	byName := map[string]animal{}
	allColours := map[string]bool{}
	for _, c := range colours {
		allColours[c] = true
	}
	var names []string
	for _, a := range animals {
		byName[a.name] = a
		byName["The "+a.name] = a
		byName["the "+a.name] = a
		byName[upper(a.plural)] = a
		names = append(names, a.name)
		allColours[a.colour] = true
	}
	n := 0

	// A colour word directly before an animal's name must be its colour.
	singular := map[string]animal{}
	for _, a := range animals {
		singular[a.name] = a
	}
	words := strings.FieldsFunc(s, func(r rune) bool { return r > 0x7f || !isLetter(byte(r)) && r != '-' })
	for i := 1; i < len(words); i++ {
		if a, ok := singular[words[i]]; ok && allColours[words[i-1]] {
			check(t, &n, words[i-1]+" "+words[i], words[i-1], a.colour)
		}
	}

	The := prefixed("The ", names)
	eachAt(s, The, ` is (\w+)\.`, func(p string, m []string) { check(t, &n, m[0], m[1], byName[p].colour) })
	eachAt(s, append(prefixed("the ", names), The...), ` (?:says|said) "([^"]*)"`, func(p string, m []string) {
		check(t, &n, m[0], m[1], byName[p].sound)
	})
	eachAt(s, []string{`"`}, `([^"]*)!" said the (\w+)\.`, func(p string, m []string) {
		if a, ok := byName[m[2]]; ok {
			check(t, &n, m[0], m[1], upper(a.sound))
		}
	})
	eachAt(s, The, ` lives (\w+ the \w+)\.`, func(p string, m []string) { check(t, &n, m[0], m[1], byName[p].where()) })
	eachAt(s, The, ` eats (\w+)\.`, func(p string, m []string) { check(t, &n, m[0], m[1], byName[p].food) })
	eachAt(s, The, ` (?:was|felt) hungry, so it ate some (\w+)\.`, func(p string, m []string) { check(t, &n, m[0], m[1], byName[p].food) })
	eachAt(s, The, ` has (\w+ legs)\.`, func(p string, m []string) { check(t, &n, m[0], m[1], byName[p].legsPhrase()) })
	var plurals []string
	for _, a := range animals {
		plurals = append(plurals, upper(a.plural))
	}
	eachAt(s, plurals, ` are (\w+)\.`, func(p string, m []string) { check(t, &n, m[0], m[1], byName[p].colour) })
	if n < 5000 {
		t.Errorf("checked only %d animal facts, want at least 5000", n)
	}
}

// TestPeopleFacts checks that each person always has the same job, town,
// pet and favourite food.
func TestPeopleFacts(t *testing.T) {
	s := flat(t)
	byName := map[string]person{}
	var names []string
	for _, p := range people {
		byName[p.name] = p
		names = append(names, p.name)
	}
	n := 0
	eachAt(s, names, ` (?:is|was) an? (\w+)\b`, func(p string, m []string) { check(t, &n, m[0], m[1], byName[p].job) })
	eachAt(s, []string{"There once was "}, `an? (\w+) named (\w+)\.`, func(_ string, m []string) {
		if p, ok := byName[m[2]]; ok {
			check(t, &n, m[0], m[1], p.job)
		}
	})
	eachAt(s, names, ` (?:lives|lived) in (\w+)\b`, func(p string, m []string) { check(t, &n, m[0], m[1], byName[p].town) })
	eachAt(s, names, ` went home to (\w+)\b`, func(p string, m []string) { check(t, &n, m[0], m[1], byName[p].town) })
	eachAt(s, names, ` ate (\w+)`, func(p string, m []string) { check(t, &n, m[0], m[1], byName[p].food) })
	eachAt(s, names, ` has an? (\w+ \w+)\.`, func(p string, m []string) {
		pet := byName[p].petAnimal()
		check(t, &n, m[0], m[1], pet.colour+" "+pet.name)
	})
	eachAt(s, names, ` gave (\w+ \w+) some (\w+)`, func(p string, m []string) {
		q := byName[p]
		_, his := q.pronouns()
		check(t, &n, m[0], m[1]+" "+m[2], his+" "+q.pet+" "+q.petAnimal().food)
	})
	eachAt(s, append(prefixed("Hello, ", names), prefixed("Good morning, ", names)...),
		`[.,] (?:said \w+\. )?"?How is your (\w+)\?`, func(p string, m []string) {
			_, name, _ := strings.Cut(p, ", ")
			check(t, &n, m[0], m[1], byName[name].pet)
		})
	if n < 2000 {
		t.Errorf("checked only %d facts about people, want at least 2000", n)
	}
}

// TestCalendar checks that days, months and seasons always follow each
// other correctly.
func TestCalendar(t *testing.T) {
	s := flat(t)
	next := func(xs []string, x string, k int) string {
		i := slices.Index(xs, x)
		if i < 0 {
			t.Fatalf("unknown name %q", x)
		}
		return xs[(i+k)%len(xs)]
	}
	n := 0
	// Any day or month followed by ", " or " and " and another day or
	// month must be followed by the next one.
	for _, names := range [][]string{days, months} {
		eachAt(s, names, `(?:, | and )(\w+)`, func(p string, m []string) {
			if slices.Contains(names, m[1]) {
				check(t, &n, m[0], m[1], next(names, p, 1))
			}
		})
	}
	eachAt(s, []string{"After "}, `(\w+) comes (\w+)`, func(_ string, m []string) {
		names := days
		if slices.Contains(months, m[1]) {
			names = months
		}
		check(t, &n, m[0], m[2], next(names, m[1], 1))
	})
	eachAt(s, []string{"Today is "}, `(\w+)\. (?:Tomorrow will be|\w+: So tomorrow will be) (\w+)[.!] (?:Yesterday was|\w+: Yes, and yesterday was) (\w+)\.`,
		func(_ string, m []string) {
			check(t, &n, m[0], m[2]+" "+m[3], next(days, m[1], 1)+" "+next(days, m[1], 6))
		})
	eachAt(s, months, ` has (\d+) days`, func(p string, m []string) {
		check(t, &n, m[0], m[1], strconv.Itoa(monthDays[slices.Index(months, p)]))
	})
	eachAt(s, months, ` is in (\w+)\.`, func(p string, m []string) {
		check(t, &n, m[0], m[1], seasonOf(slices.Index(months, p)))
	})
	eachAt(s, []string{"The months of "}, `(\w+) are (\w+), (\w+) and (\w+)\.`, func(_ string, m []string) {
		for _, month := range m[2:] {
			check(t, &n, m[0], seasonOf(slices.Index(months, month)), m[1])
		}
	})
	if n < 2000 {
		t.Errorf("checked only %d calendar facts, want at least 2000", n)
	}
}

// TestCounting checks every counting line.
func TestCounting(t *testing.T) {
	lines := regexp.MustCompile(`(?m)^(Count [^:]*|The [a-z ]*alphabet): (.*)\.$`).FindAllStringSubmatch(string(text()), -1)
	if len(lines) < 200 {
		t.Fatalf("found %d counting lines, want at least 200", len(lines))
	}
	for _, m := range lines {
		seq := strings.Split(m[2], ", ")
		var want []string
		switch intro := m[1]; {
		case strings.HasPrefix(intro, "Count from "):
			var from, to int
			f := strings.Fields(intro)
			from, _ = strconv.Atoi(f[2])
			to, _ = strconv.Atoi(f[4])
			for i := from; i <= to; i++ {
				want = append(want, strconv.Itoa(i))
			}
		case strings.HasPrefix(intro, "Count by "):
			step := map[string]int{"twos": 2, "threes": 3, "fives": 5, "tens": 10}[strings.TrimPrefix(intro, "Count by ")]
			for i := range seq {
				want = append(want, strconv.Itoa(step*(i+1)))
			}
		case strings.HasPrefix(intro, "Count down from "):
			from, _ := strconv.Atoi(strings.TrimPrefix(intro, "Count down from "))
			for i := from; i >= 0; i-- {
				want = append(want, strconv.Itoa(i))
			}
		case strings.HasPrefix(intro, "Count to "):
			to := slices.Index(numberWords, strings.TrimPrefix(intro, "Count to "))
			want = numberWords[1 : to+1]
		default:
			c := seq[0][0]
			for i := range seq {
				want = append(want, string(rune(c)+rune(i)))
			}
			if intro == "The whole alphabet" && len(seq) != 26 {
				t.Errorf("%q: not the whole alphabet", m[0])
			}
		}
		if !slices.Equal(seq, want) {
			t.Errorf("wrong counting line: %q", m[0])
		}
	}
}

// TestGenerationTime checks that building the corpus is cheap: it happens
// on the first call to Default, for example at the start of training.
func TestGenerationTime(t *testing.T) {
	if raceEnabled {
		t.Skip("timing is meaningless under the race detector")
	}
	best := time.Hour
	for range 3 {
		start := time.Now()
		generate(seed, targetSize)
		best = min(best, time.Since(start))
	}
	if best > 200*time.Millisecond {
		t.Errorf("generating the corpus took %v, want under 200ms", best)
	}
}

func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		generate(seed, targetSize)
	}
}

package corpus

import (
	"fmt"
	"strconv"
	"strings"
)

// wrapWidth is the column at which prose paragraphs are wrapped.
const wrapWidth = 72

// gen writes the corpus. Prose sentences are collected in para and
// wrapped into buf by flush; line-oriented sections write to buf directly.
type gen struct {
	r    rng
	buf  []byte
	para []string
}

// generate returns a corpus of at least target bytes produced from seed.
// It finishes the paragraph that crosses target, and separates paragraphs
// with one blank line.
func generate(seed uint64, target int) []byte {
	g := &gen{r: rng{s: seed}, buf: make([]byte, 0, target+4096)}
	for len(g.buf) < target {
		if len(g.buf) > 0 {
			g.buf = append(g.buf, '\n')
		}
		g.section()
	}
	return g.buf
}

// sectionKind is one kind of paragraph and how often it is chosen.
type sectionKind struct {
	weight int
	write  func(*gen)
}

var sectionKinds = []sectionKind{
	{30, (*gen).animalStory},
	{20, (*gen).personStory},
	{10, (*gen).facts},
	{10, (*gen).questions},
	{12, (*gen).dialogue},
	{8, (*gen).arithmetic},
	{5, (*gen).counting},
	{5, (*gen).calendar},
}

// section writes one paragraph of a randomly chosen kind.
func (g *gen) section() {
	total := 0
	for _, k := range sectionKinds {
		total += k.weight
	}
	n := g.r.intn(total)
	for _, k := range sectionKinds {
		if n < k.weight {
			k.write(g)
			return
		}
		n -= k.weight
	}
}

// say adds a sentence to the current prose paragraph.
func (g *gen) say(format string, args ...any) {
	g.para = append(g.para, fmt.Sprintf(format, args...))
}

// flush wraps the current prose paragraph into buf.
func (g *gen) flush() {
	col := 0
	for _, s := range g.para {
		for w := range strings.FieldsSeq(s) {
			switch {
			case col == 0:
			case col+1+len(w) > wrapWidth:
				g.buf = append(g.buf, '\n')
				col = 0
			default:
				g.buf = append(g.buf, ' ')
				col++
			}
			g.buf = append(g.buf, w...)
			col += len(w)
		}
	}
	if col > 0 {
		g.buf = append(g.buf, '\n')
	}
	g.para = g.para[:0]
}

// line writes one line of a line-oriented section.
func (g *gen) line(format string, args ...any) {
	g.buf = fmt.Appendf(g.buf, format, args...)
	g.buf = append(g.buf, '\n')
}

// an returns the indefinite article for a word.
func an(word string) string {
	if word != "" && strings.IndexByte("aeiou", word[0]) >= 0 {
		return "an"
	}
	return "a"
}

// upper returns s with its first letter in upper case.
func upper(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// list joins words as "a, b and c".
func list(words []string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

// number returns n in words when it is small and in digits otherwise.
func number(n int) string {
	if n >= 0 && n < len(numberWords) {
		return numberWords[n]
	}
	return strconv.Itoa(n)
}

// legsPhrase says how many legs a has, e.g. "four legs" or "no legs".
func (a animal) legsPhrase() string {
	if a.legs == 0 {
		return "no legs"
	}
	return numberWords[a.legs] + " legs"
}

// where returns the animal's home with its preposition, e.g. "on the farm".
func (a animal) where() string {
	return a.prep + " the " + a.home
}

// size returns "big" or "small".
func (a animal) size() string {
	if a.big {
		return "big"
	}
	return "small"
}

// fill replaces the {food}, {home} and {where} placeholders in s.
func (a animal) fill(s string) string {
	s = strings.ReplaceAll(s, "{food}", a.food)
	s = strings.ReplaceAll(s, "{home}", a.home)
	return strings.ReplaceAll(s, "{where}", a.where())
}

// pronouns returns the subject and possessive pronouns for p.
func (p person) pronouns() (he, his string) {
	if p.male {
		return "he", "his"
	}
	return "she", "her"
}

// petAnimal returns the animal kind of p's pet.
func (p person) petAnimal() animal {
	return animals[animalIndex(p.pet)]
}

// otherAnimal returns an animal index different from i.
func (g *gen) otherAnimal(i int) int {
	j := g.r.intn(len(animals) - 1)
	if j >= i {
		j++
	}
	return j
}

// otherPerson returns a person index different from i.
func (g *gen) otherPerson(i int) int {
	j := g.r.intn(len(people) - 1)
	if j >= i {
		j++
	}
	return j
}

// animalStory writes a short story about an animal that meets another.
func (g *gen) animalStory() {
	r := &g.r
	ai := r.intn(len(animals))
	a, b := animals[ai], animals[g.otherAnimal(ai)]
	A, B := a.name, b.name

	switch r.intn(4) {
	case 0:
		g.say("Once upon a time, there was %s %s %s who lived %s.", an(a.colour), a.colour, A, a.where())
	case 1:
		g.say("There once was a little %s. It lived %s and ate %s every day.", A, a.where(), a.food)
	case 2:
		g.say("%s the %s, there lived %s %s %s %s.", upper(a.prep), a.home, an(a.size()), a.size(), a.colour, A)
	default:
		g.say("This is a story about %s %s %s. It lived %s.", an(a.colour), a.colour, A, a.where())
	}

	met := false
	meet := func() {
		g.say("One %s, the %s went to the %s. There it met %s %s %s.",
			pick(r, timesOfDay), A, pick(r, places).name, an(b.colour), b.colour, B)
		switch r.intn(4) {
		case 0:
			g.say(`"Hello, %s," said the %s. "%s!" said the %s.`, B, A, upper(b.sound), B)
		case 1:
			g.say(`"Where do you live?" asked the %s. "I live %s," said the %s.`, A, b.where(), B)
		case 2:
			g.say(`"What do you eat?" asked the %s. "I eat %s," said the %s.`, A, b.food, B)
		default:
			g.say(`The %s said "%s" and the %s said "%s".`, A, a.sound, B, b.sound)
		}
		met = true
	}
	if r.chance(1, 2) {
		meet()
	}
	// Each kind of event happens at most once per story.
	for _, ev := range perm(r, 8)[:r.between(2, 5)] {
		switch ev {
		case 0:
			if met {
				g.say("The %s and the %s played by the %s until the sun went down.", A, B, pick(r, places).name)
			} else {
				meet()
			}
		case 1:
			g.say("The %s was hungry, so it ate some %s.", A, a.food)
		case 2:
			o, c := pick(r, objects), pick(r, colours)
			g.say("Near the %s, the %s found %s %s %s.", pick(r, places).name, A, an(c), c, o)
			if met && r.chance(1, 2) {
				g.say("It gave the %s to the %s.", o, B)
			}
		case 3:
			w := pick(r, weathers)
			g.say("The day was %s, so the %s %s.", w.kind, A, a.fill(w.action))
		case 4:
			g.say(`The %s said "%s" %s.`, A, a.sound, pick(r, manners))
		case 5:
			c := animals[r.intn(len(animals))]
			g.say("The %s saw %s %s by the %s.", A, numberWords[r.between(2, 10)], c.plural, pick(r, places).name)
		case 6:
			f := pick(r, feelings)
			g.say("The %s felt %s, %s.", A, f.mood, a.fill(f.action))
		default:
			if met {
				g.say("The %s told the %s about the %s.", B, A, b.home)
			} else {
				meet()
			}
		}
	}

	switch r.intn(4) {
	case 0:
		g.say("When the sun went down, the %s went home to the %s and fell asleep.", A, a.home)
	case 1:
		if met {
			g.say("From that day on, the %s and the %s were good friends.", A, B)
		} else {
			g.say("From that day on, the %s was never %s again.", A, pick(r, []string{"sad", "scared", "bored", "lonely"}))
		}
	case 2:
		g.say("The %s was happy. The end.", A)
	default:
		g.say("At night the %s slept %s, and dreamed of %s.", A, a.where(), a.food)
	}
	g.flush()
}

// personStory writes a short story about a villager.
func (g *gen) personStory() {
	r := &g.r
	pi := r.intn(len(people))
	p := people[pi]
	pet := p.petAnimal()
	he, his := p.pronouns()
	N := p.name

	switch r.intn(3) {
	case 0:
		g.say("%s was %s %s who lived in %s.", N, an(p.job), p.job, p.town)
	case 1:
		g.say("%s lived in %s with %s %s %s.", N, p.town, his, pet.colour, pet.name)
	default:
		g.say("There once was %s %s named %s.", an(p.job), p.job, N)
	}

	for _, ev := range perm(r, 7)[:r.between(2, 5)] {
		switch ev {
		case 0:
			g.say("Every %s, %s went to the %s with %s %s.", pick(r, days), N, pick(r, places).name, his, pet.name)
		case 1:
			a := animals[r.intn(len(animals))]
			g.say("One %s day, %s saw %s %s %s near the %s. The %s said \"%s\".",
				pick(r, weathers).kind, N, an(a.colour), a.colour, a.name, pick(r, places).name, a.name, a.sound)
		case 2:
			g.say("%s gave %s %s some %s, and the %s said \"%s\".", N, his, pet.name, pet.food, pet.name, pet.sound)
		case 3:
			q := people[g.otherPerson(pi)]
			g.say("At the %s, %s met %s.", pick(r, places).name, N, q.name)
			if r.chance(1, 2) {
				g.say(`"Hello, %s," said %s. "How is your %s?" "My %s is very well, thank you," said %s.`,
					q.name, N, q.pet, q.pet, q.name)
			} else {
				g.say(`"Where are you going?" asked %s. "I am going home to %s," said %s.`, N, q.town, q.name)
			}
		case 4:
			it := pick(r, items)
			x, y := r.between(2, 9), r.between(2, 9)
			g.say("%s went to the market and bought %s %s. Then %s bought %s more. Now %s had %s %s.",
				N, number(x), it, he, number(y), he, number(x+y), it)
		case 5:
			g.say("%s %s all day, because %s was %s %s.", N, jobs[jobIndex(p.job)].does, he, an(p.job), p.job)
		default:
			g.say("For dinner, %s ate %s, because %s likes %s best.", N, p.food, he, p.food)
		}
	}

	switch r.intn(3) {
	case 0:
		g.say("In the evening, %s went home to %s and went to sleep.", N, p.town)
	case 1:
		g.say("It was a good day, and %s was happy.", N)
	default:
		g.say("That night, %s and %s %s slept well.", N, his, pet.name)
	}
	g.flush()
}

// animalFact returns one fact about a, in a fixed wording.
func animalFact(a animal, k int) string {
	switch k {
	case 0:
		return fmt.Sprintf("The %s is %s.", a.name, a.colour)
	case 1:
		return fmt.Sprintf("The %s says \"%s\".", a.name, a.sound)
	case 2:
		return fmt.Sprintf("The %s lives %s.", a.name, a.where())
	case 3:
		return fmt.Sprintf("The %s eats %s.", a.name, a.food)
	case 4:
		return fmt.Sprintf("The %s has %s.", a.name, a.legsPhrase())
	default:
		return fmt.Sprintf("The %s is a %s animal.", a.name, a.size())
	}
}

// numAnimalFacts is the number of kinds of fact animalFact knows.
const numAnimalFacts = 6

// facts writes a paragraph of facts about animals or people.
func (g *gen) facts() {
	r := &g.r
	switch r.intn(4) {
	case 0, 1:
		for n := r.between(1, 3); n > 0; n-- {
			a := animals[r.intn(len(animals))]
			for _, k := range perm(r, numAnimalFacts) {
				g.para = append(g.para, animalFact(a, k))
			}
		}
	case 2:
		for n := r.between(1, 3); n > 0; n-- {
			p := people[r.intn(len(people))]
			pet := p.petAnimal()
			he, _ := p.pronouns()
			g.say("%s is %s %s. %s lives in %s. %s has %s %s %s. %s likes %s.",
				p.name, an(p.job), p.job, upper(he), p.town, upper(he),
				an(pet.colour), pet.colour, pet.name, upper(he), p.food)
		}
	default:
		c := pick(r, colours)
		var names []string
		for _, a := range animals {
			if a.colour == c {
				names = append(names, a.plural)
			}
		}
		switch len(names) {
		case 0:
			g.say("No animal in the stories is %s.", c)
		case 1:
			g.say("The only %s animals are %s.", c, names[0])
		default:
			g.say("These animals are %s: %s.", c, list(names))
		}
		a := animals[r.intn(len(animals))]
		g.say("%s are %s. %s eat %s. %s say \"%s\".",
			upper(a.plural), a.colour, upper(a.plural), a.food, upper(a.plural), a.sound)
	}
	g.flush()
}

// perm returns a pseudo-random permutation of [0, n).
func perm(r *rng, n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := r.intn(i + 1)
		p[i], p[j] = p[j], p[i]
	}
	return p
}

// questions writes a paragraph of question-and-answer pairs.
func (g *gen) questions() {
	r := &g.r
	for n := r.between(3, 6); n > 0; n-- {
		a := animals[r.intn(len(animals))]
		p := people[r.intn(len(people))]
		var q, ans string
		switch r.intn(13) {
		case 0:
			q, ans = fmt.Sprintf("What colour is the %s?", a.name), animalFact(a, 0)
		case 1:
			q, ans = fmt.Sprintf("What does the %s say?", a.name), animalFact(a, 1)
		case 2:
			q, ans = fmt.Sprintf("Where does the %s live?", a.name), animalFact(a, 2)
		case 3:
			q, ans = fmt.Sprintf("What does the %s eat?", a.name), animalFact(a, 3)
		case 4:
			q, ans = fmt.Sprintf("How many legs does the %s have?", a.name), animalFact(a, 4)
		case 5:
			q = fmt.Sprintf("What does %s do?", p.name)
			ans = fmt.Sprintf("%s is %s %s.", p.name, an(p.job), p.job)
		case 6:
			q = fmt.Sprintf("Where does %s live?", p.name)
			ans = fmt.Sprintf("%s lives in %s.", p.name, p.town)
		case 7:
			pet := p.petAnimal()
			q = fmt.Sprintf("What pet does %s have?", p.name)
			ans = fmt.Sprintf("%s has %s %s %s.", p.name, an(pet.colour), pet.colour, pet.name)
		case 8:
			x, y := r.between(0, 12), r.between(0, 12)
			q = fmt.Sprintf("What is %d + %d?", x, y)
			ans = fmt.Sprintf("%d + %d = %d.", x, y, x+y)
		case 9:
			x := r.between(0, 20)
			y := r.between(0, x)
			q = fmt.Sprintf("What is %d - %d?", x, y)
			ans = fmt.Sprintf("%d - %d = %d.", x, y, x-y)
		case 10:
			x, y := r.between(1, 10), r.between(1, 10)
			q = fmt.Sprintf("What is %d * %d?", x, y)
			ans = fmt.Sprintf("%d * %d = %d.", x, y, x*y)
		case 11:
			d := r.intn(7)
			q = fmt.Sprintf("What day comes after %s?", days[d])
			ans = fmt.Sprintf("After %s comes %s.", days[d], days[(d+1)%7])
		default:
			m := r.intn(12)
			if r.chance(1, 2) {
				q = fmt.Sprintf("What month comes after %s?", months[m])
				ans = fmt.Sprintf("After %s comes %s.", months[m], months[(m+1)%12])
			} else {
				q = fmt.Sprintf("In which season is %s?", months[m])
				ans = fmt.Sprintf("%s is in %s.", months[m], seasonOf(m))
			}
		}
		g.line("Q: %s", q)
		g.line("A: %s", ans)
	}
}

// dialogue writes a short conversation between two villagers.
func (g *gen) dialogue() {
	r := &g.r
	ai := r.intn(len(people))
	p, q := people[ai], people[g.otherPerson(ai)]
	P, Q := p.name, q.name
	switch r.intn(4) {
	case 0:
		pl := pick(r, places)
		g.line("%s: Hello, %s!", P, Q)
		g.line("%s: Hello, %s! Where are you going?", Q, P)
		g.line("%s: I am going to the %s to %s.", P, pl.name, pl.goal)
		if r.chance(1, 2) {
			g.line("%s: Can I come with you?", Q)
			g.line("%s: Yes, of course! Let us go together.", P)
		} else {
			g.line("%s: Have a good day, %s.", Q, P)
			g.line("%s: Thank you, %s. Goodbye!", P, Q)
		}
	case 1:
		pa, qa := p.petAnimal(), q.petAnimal()
		g.line("%s: Good morning, %s. How is your %s?", P, Q, q.pet)
		g.line("%s: My %s is very well, thank you. It is %s and it says \"%s\".", Q, q.pet, qa.colour, qa.sound)
		g.line("%s: What does it eat?", P)
		g.line("%s: It eats %s. And how is your %s?", Q, qa.food, p.pet)
		g.line("%s: My %s is happy. It likes to eat %s.", P, p.pet, pa.food)
	case 2:
		it := pick(r, items)
		x, y := r.between(2, 10), r.between(2, 10)
		g.line("%s: I have %d %s.", P, x, it)
		g.line("%s: I have %d %s.", Q, y, it)
		g.line("%s: How many %s do we have together?", P, it)
		g.line("%s: %d + %d = %d. We have %d %s.", Q, x, y, x+y, x+y, it)
	default:
		d := r.intn(7)
		g.line("%s: What day is it today, %s?", P, Q)
		g.line("%s: Today is %s.", Q, days[d])
		g.line("%s: So tomorrow will be %s!", P, days[(d+1)%7])
		g.line("%s: Yes, and yesterday was %s.", Q, days[(d+6)%7])
	}
}

// arithmetic writes a block of arithmetic lines.
func (g *gen) arithmetic() {
	r := &g.r
	n := r.between(4, 10)
	switch r.intn(6) {
	case 0, 1: // random sums, mostly of small numbers
		for ; n > 0; n-- {
			hi := 9
			if r.chance(1, 3) {
				hi = 20
			}
			x, y := r.between(0, hi), r.between(0, hi)
			g.line("%d + %d = %d.", x, y, x+y)
		}
	case 2: // random differences
		for ; n > 0; n-- {
			x := r.between(0, 20)
			y := r.between(0, x)
			g.line("%d - %d = %d.", x, y, x-y)
		}
	case 3: // a run of an addition table
		x, y := r.between(1, 10), r.between(0, 5)
		for ; n > 0; n-- {
			g.line("%d + %d = %d.", x, y, x+y)
			y++
		}
	case 4: // a run of a times table
		x, y := r.between(2, 10), r.between(1, 4)
		for ; n > 0; n-- {
			g.line("%d * %d = %d.", x, y, x*y)
			y++
		}
	default: // sums and differences in words
		for ; n > 0; n-- {
			if r.chance(1, 2) {
				x := r.between(0, 10)
				y := r.between(0, 10)
				g.line("%s plus %s is %s.", upper(numberWords[x]), numberWords[y], numberWords[x+y])
			} else {
				x := r.between(1, 20)
				y := r.between(0, min(x, 10))
				g.line("%s minus %s is %s.", upper(numberWords[x]), numberWords[y], numberWords[x-y])
			}
		}
	}
}

// counting writes counting sequences, one per line.
func (g *gen) counting() {
	r := &g.r
	for n := r.between(1, 3); n > 0; n-- {
		var seq []string
		var intro string
		switch r.intn(5) {
		case 0:
			from := r.between(0, 90)
			to := from + r.between(4, 12)
			intro = fmt.Sprintf("Count from %d to %d: ", from, to)
			for i := from; i <= to; i++ {
				seq = append(seq, strconv.Itoa(i))
			}
		case 1:
			steps := []struct {
				word string
				n    int
			}{{"twos", 2}, {"threes", 3}, {"fives", 5}, {"tens", 10}}
			s := pick(r, steps)
			intro = fmt.Sprintf("Count by %s: ", s.word)
			for i, k := s.n, r.between(5, 10); k > 0; i, k = i+s.n, k-1 {
				seq = append(seq, strconv.Itoa(i))
			}
		case 2:
			from := r.between(5, 20)
			intro = fmt.Sprintf("Count down from %d: ", from)
			for i := from; i >= 0; i-- {
				seq = append(seq, strconv.Itoa(i))
			}
		case 3:
			to := r.between(5, 20)
			intro = fmt.Sprintf("Count to %s: ", numberWords[to])
			for i := 1; i <= to; i++ {
				seq = append(seq, numberWords[i])
			}
		default:
			from := r.between(0, 18)
			to := r.between(from+5, 25)
			intro = "The letters of the alphabet: "
			if from == 0 && to == 25 {
				intro = "The whole alphabet: "
			}
			for c := from; c <= to; c++ {
				seq = append(seq, string(rune('A'+c)))
			}
		}
		g.line("%s%s.", intro, strings.Join(seq, ", "))
	}
}

// calendar writes a paragraph about days, months and seasons.
func (g *gen) calendar() {
	r := &g.r
	for _, kind := range perm(r, 8)[:r.between(2, 4)] {
		switch kind {
		case 0:
			g.say("The days of the week are %s.", list(days))
		case 1:
			d := r.intn(7)
			g.say("Today is %s. Tomorrow will be %s. Yesterday was %s.", days[d], days[(d+1)%7], days[(d+6)%7])
		case 2:
			d := r.intn(7)
			g.say("After %s comes %s, and after %s comes %s.", days[d], days[(d+1)%7], days[(d+1)%7], days[(d+2)%7])
		case 3:
			g.say("The months of the year are %s.", list(months))
		case 4:
			m := r.intn(12)
			g.say("After %s comes %s.", months[m], months[(m+1)%12])
			if m == 1 {
				g.say("February has 28 days, or 29 in a leap year.")
			} else {
				g.say("%s has %d days.", months[m], monthDays[m])
			}
		case 5:
			s := r.intn(4)
			first := (s*3 + 11) % 12
			ms := []string{months[first], months[(first+1)%12], months[(first+2)%12]}
			g.say("The months of %s are %s.", seasons[s], list(ms))
		case 6:
			g.say("There are seven days in a week, twelve months in a year and four seasons: spring, summer, autumn and winter.")
		default:
			d, k := r.intn(7), r.between(3, 7)
			var run []string
			for i := 0; i < k; i++ {
				run = append(run, days[(d+i)%7])
			}
			g.say("%s.", strings.Join(run, ", "))
		}
	}
	g.flush()
}

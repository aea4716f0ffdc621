package corpus

import "fmt"

// Fact is one fact of the world the corpus describes, with the sentence
// the corpus states it in (so a model trained on the corpus has seen it).
type Fact struct {
	Subject  string // an animal ("cat"), a person ("Anna"), a day or a month
	Relation string // colour, sound, home, food, legs, size; job, town, pet; next (day or month), season
	Answer   string // the corpus's sentence: "The cat is grey.", "Anna lives in Millbrook."
}

// Facts returns every fact of the corpus's world, in a fixed order:
// each animal's six, each person's job, town and pet, the day after each
// day, the month after each month and each month's season. The answers
// are worded exactly as the corpus's facts and Q&A drills word them.
func Facts() []Fact {
	var out []Fact
	rel := []string{"colour", "sound", "home", "food", "legs", "size"}
	for _, a := range animals {
		for k, r := range rel {
			out = append(out, Fact{a.name, r, animalFact(a, k)})
		}
	}
	for _, p := range people {
		pet := p.petAnimal()
		out = append(out,
			Fact{p.name, "job", fmt.Sprintf("%s is %s %s.", p.name, an(p.job), p.job)},
			Fact{p.name, "town", fmt.Sprintf("%s lives in %s.", p.name, p.town)},
			Fact{p.name, "pet", fmt.Sprintf("%s has %s %s %s.", p.name, an(pet.colour), pet.colour, pet.name)})
	}
	for d := range days {
		out = append(out, Fact{days[d], "next", fmt.Sprintf("After %s comes %s.", days[d], days[(d+1)%7])})
	}
	for m := range months {
		out = append(out, Fact{months[m], "next", fmt.Sprintf("After %s comes %s.", months[m], months[(m+1)%12])},
			Fact{months[m], "season", fmt.Sprintf("%s is in %s.", months[m], seasonOf(m))})
	}
	return out
}

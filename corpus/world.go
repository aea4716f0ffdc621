package corpus

// This file holds the fixed "world" the corpus describes. Every fact here
// is stated the same way wherever it appears in the text, so a model can
// learn it. The tests check that the generated text agrees with these
// tables.

// animal is a kind of animal and its fixed properties.
type animal struct {
	name   string // singular, e.g. "mouse"
	plural string // e.g. "mice"
	colour string
	sound  string // what it says, without quotes
	prep   string // preposition for its home: "in", "on", "by", "among"
	home   string
	food   string // what it eats, as a plural or mass noun
	legs   int
	big    bool
}

var animals = []animal{
	{"cat", "cats", "grey", "meow", "in", "house", "fish", 4, false},
	{"dog", "dogs", "brown", "woof", "in", "yard", "bones", 4, true},
	{"cow", "cows", "white", "moo", "in", "field", "grass", 4, true},
	{"pig", "pigs", "pink", "oink", "on", "farm", "apples", 4, true},
	{"duck", "ducks", "yellow", "quack", "on", "pond", "bread", 2, false},
	{"frog", "frogs", "green", "croak", "by", "pond", "flies", 4, false},
	{"owl", "owls", "brown", "hoot", "in", "tree", "mice", 2, false},
	{"fox", "foxes", "red", "yip", "in", "forest", "berries", 4, false},
	{"bear", "bears", "black", "growl", "in", "cave", "honey", 4, true},
	{"lion", "lions", "gold", "roar", "on", "plain", "meat", 4, true},
	{"sheep", "sheep", "white", "baa", "in", "meadow", "grass", 4, true},
	{"horse", "horses", "black", "neigh", "in", "stable", "hay", 4, true},
	{"mouse", "mice", "grey", "squeak", "in", "barn", "cheese", 4, false},
	{"bee", "bees", "yellow", "buzz", "in", "hive", "nectar", 6, false},
	{"hen", "hens", "red", "cluck", "in", "coop", "corn", 2, false},
	{"goat", "goats", "white", "maa", "on", "hill", "leaves", 4, true},
	{"wolf", "wolves", "grey", "howl", "in", "woods", "meat", 4, true},
	{"crow", "crows", "black", "caw", "in", "nest", "seeds", 2, false},
	{"snake", "snakes", "green", "hiss", "among", "rocks", "eggs", 0, false},
	{"tiger", "tigers", "orange", "grr", "in", "jungle", "meat", 4, true},
	{"parrot", "parrots", "green", "squawk", "in", "jungle", "nuts", 2, false},
	{"seal", "seals", "grey", "arf", "on", "beach", "fish", 0, true},
	{"goose", "geese", "white", "honk", "by", "lake", "grass", 2, true},
	{"donkey", "donkeys", "grey", "hee-haw", "on", "farm", "carrots", 4, true},
}

// animalIndex returns the index of the named animal in animals.
func animalIndex(name string) int {
	for i, a := range animals {
		if a.name == name {
			return i
		}
	}
	panic("corpus: unknown animal " + name)
}

// job is an occupation and what someone with it does all day.
type job struct {
	name string
	does string // completes "<Name> ... all day." in the past tense
}

var jobs = []job{
	{"baker", "baked bread and buns"},
	{"farmer", "worked in the fields"},
	{"teacher", "taught the children to read"},
	{"fisher", "caught fish in the river"},
	{"doctor", "helped people who were sick"},
	{"painter", "painted pictures of the hills"},
	{"builder", "built a new house"},
	{"singer", "sang songs in the square"},
}

// jobIndex returns the index of the named job in jobs.
func jobIndex(name string) int {
	for i, j := range jobs {
		if j.name == name {
			return i
		}
	}
	panic("corpus: unknown job " + name)
}

// person is a villager and their fixed properties.
type person struct {
	name string
	male bool
	job  string
	town string
	pet  string // an animal name
	food string // favourite food
}

var people = []person{
	{"Anna", false, "baker", "Millbrook", "cat", "apples"},
	{"Ben", true, "farmer", "Greenhill", "pig", "soup"},
	{"Cora", false, "teacher", "Riverton", "dog", "cake"},
	{"Dan", true, "fisher", "Stonebridge", "duck", "bread"},
	{"Ella", false, "doctor", "Oakdale", "horse", "rice"},
	{"Finn", true, "painter", "Fernwood", "parrot", "pie"},
	{"Gina", false, "builder", "Millbrook", "goat", "cheese"},
	{"Hugo", true, "singer", "Riverton", "dog", "plums"},
	{"Ivy", false, "farmer", "Greenhill", "hen", "eggs"},
	{"Jack", true, "baker", "Oakdale", "mouse", "carrots"},
	{"Kate", false, "fisher", "Stonebridge", "goose", "pears"},
	{"Leo", true, "teacher", "Fernwood", "cat", "buns"},
	{"Mia", false, "painter", "Riverton", "frog", "honey"},
	{"Ned", true, "doctor", "Millbrook", "donkey", "fish"},
	{"Rosa", false, "singer", "Oakdale", "sheep", "nuts"},
	{"Sam", true, "builder", "Greenhill", "cow", "beans"},
}

// place is somewhere people and animals go, and a reason to go there.
type place struct {
	name string
	goal string // completes "I am going to the <place> to ..."
}

var places = []place{
	{"market", "buy some food"},
	{"park", "play on the swings"},
	{"river", "catch some fish"},
	{"lake", "see the geese"},
	{"garden", "pick some flowers"},
	{"bridge", "watch the boats"},
	{"hill", "fly my kite"},
	{"forest", "look for berries"},
	{"beach", "see the seals"},
	{"school", "read a book"},
	{"square", "hear the music"},
	{"field", "see the cows"},
}

var (
	objects = []string{
		"ball", "kite", "hat", "box", "book", "cake", "boat", "key", "lamp",
		"basket", "cup", "stone", "bell", "drum", "shoe", "coat", "flag",
		"ring", "map", "sock",
	}

	colours = []string{
		"red", "blue", "green", "yellow", "white", "black", "pink",
		"orange", "purple", "brown", "grey",
	}

	// items are things bought and counted in stories and dialogues.
	items = []string{"apples", "pears", "plums", "eggs", "buns", "carrots", "cakes", "fish"}

	timesOfDay = []string{"morning", "afternoon", "evening"}

	manners = []string{"loudly", "softly", "again and again", "three times", "very quietly"}

	days = []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}

	months = []string{
		"January", "February", "March", "April", "May", "June", "July",
		"August", "September", "October", "November", "December",
	}

	monthDays = []int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

	seasons = []string{"winter", "spring", "summer", "autumn"}

	numberWords = []string{
		"zero", "one", "two", "three", "four", "five", "six", "seven",
		"eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen",
		"fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
	}
)

// seasonOf returns the (northern) season of month m, 0 = January.
func seasonOf(m int) string {
	return seasons[(m+1)%12/3]
}

// feeling is a mood and what an animal does about it.
type feeling struct {
	mood   string
	action string // may contain {food} or {home}, filled by the story
}

var feelings = []feeling{
	{"happy", "so it danced in a circle"},
	{"sad", "so it went to find a friend"},
	{"tired", "so it took a long nap"},
	{"hungry", "so it ate some {food}"},
	{"scared", "so it ran back to the {home}"},
	{"cold", "so it went back to the {home} to get warm"},
	{"bored", "so it went for a long walk"},
}

// weather is a kind of day and what an animal does on it.
type weather struct {
	kind   string
	action string // may contain {where}
}

var weathers = []weather{
	{"sunny", "played in the sun"},
	{"rainy", "stayed {where}"},
	{"windy", "watched the leaves fly"},
	{"cold", "stayed {where} to keep warm"},
	{"snowy", "made tracks in the snow"},
	{"warm", "had a nap in the shade"},
}

package cli

import "strconv"

// Plural is n and noun, in the plural unless n is 1: "1 execution", "3 executions", "0 checks".
// The commands count what they report in words, and "1 executions" reads as a slip.
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

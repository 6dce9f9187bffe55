package events

import (
	"regexp"
	"regexp/syntax"
)

// pattern is a compiled "pattern" keyword. The schemas' patterns are anchored runs of ASCII
// character classes (^SKU-[A-Z0-9]{3,16}$); those match with a loop over bytes, several
// times faster than regexp, which stays for any other pattern and for the messages.
type pattern struct {
	src   string
	re    *regexp.Regexp // only if atoms is nil
	atoms []atom
}

// atom is a character class repeated min to max times (max -1: no limit).
type atom struct {
	set      [2]uint64 // ASCII bitmap
	min, max int
}

func (a *atom) has(c byte) bool { return c < 128 && a.set[c>>6]&(1<<(c&63)) != 0 }

// compilePattern compiles p as jsonschema did (regexp.Compile, Perl syntax: ^ and $ anchor at
// the ends of the text): into atoms when it is simple enough, else with regexp.
func compilePattern(p string) (*pattern, error) {
	re, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return nil, err
	}
	if atoms := atomsOf(re); atoms != nil {
		return &pattern{src: p, atoms: atoms}, nil
	}
	compiled, err := regexp.Compile(p)
	if err != nil {
		return nil, err
	}
	return &pattern{src: p, re: compiled}, nil
}

// atomsOf is re as atoms, or nil if re is not ^, atoms, $ with each variable-length atom's
// class disjoint from the next one's (then matching greedily, without backtracking, is exact).
func atomsOf(re *syntax.Regexp) []atom {
	if re.Op != syntax.OpConcat || len(re.Sub) < 2 {
		return nil
	}
	subs := re.Sub
	if subs[0].Op != syntax.OpBeginText || subs[len(subs)-1].Op != syntax.OpEndText {
		return nil
	}
	var atoms []atom
	for _, s := range subs[1 : len(subs)-1] {
		switch s.Op {
		case syntax.OpLiteral:
			if s.Flags&syntax.FoldCase != 0 {
				return nil
			}
			for _, r := range s.Rune {
				a, ok := classAtom([]rune{r, r})
				if !ok {
					return nil
				}
				atoms = append(atoms, a)
			}
		case syntax.OpCharClass:
			a, ok := classAtom(s.Rune)
			if !ok {
				return nil
			}
			atoms = append(atoms, a)
		case syntax.OpRepeat, syntax.OpStar, syntax.OpPlus, syntax.OpQuest:
			sub := s.Sub[0]
			var a atom
			var ok bool
			switch {
			case sub.Op == syntax.OpCharClass:
				a, ok = classAtom(sub.Rune)
			case sub.Op == syntax.OpLiteral && len(sub.Rune) == 1 && sub.Flags&syntax.FoldCase == 0:
				a, ok = classAtom([]rune{sub.Rune[0], sub.Rune[0]})
			}
			if !ok || s.Flags&syntax.NonGreedy != 0 {
				return nil
			}
			switch s.Op {
			case syntax.OpRepeat:
				a.min, a.max = s.Min, s.Max
			case syntax.OpStar:
				a.min, a.max = 0, -1
			case syntax.OpPlus:
				a.min, a.max = 1, -1
			default:
				a.min, a.max = 0, 1
			}
			atoms = append(atoms, a)
		default:
			return nil
		}
	}
	for i := range atoms {
		if atoms[i].min != atoms[i].max && i+1 < len(atoms) &&
			(atoms[i].set[0]&atoms[i+1].set[0] != 0 || atoms[i].set[1]&atoms[i+1].set[1] != 0) {
			return nil
		}
	}
	return atoms
}

// classAtom is the atom of a class given as rune ranges, once; ok is false if it holds a
// non-ASCII rune.
func classAtom(ranges []rune) (atom, bool) {
	a := atom{min: 1, max: 1}
	for i := 0; i+1 < len(ranges); i += 2 {
		lo, hi := ranges[i], ranges[i+1]
		if lo < 0 || hi > 127 {
			return a, false
		}
		for r := lo; r <= hi; r++ {
			a.set[r>>6] |= 1 << (r & 63)
		}
	}
	return a, true
}

// match reports whether s (a decoded JSON string, so valid UTF-8) matches.
func (p *pattern) match(s []byte) bool {
	if p.atoms == nil {
		return p.re.Match(s)
	}
	i := 0
	for k := range p.atoms {
		a := &p.atoms[k]
		n := 0
		for i < len(s) && (a.max < 0 || n < a.max) && a.has(s[i]) {
			i++
			n++
		}
		if n < a.min {
			return false
		}
	}
	return i == len(s)
}

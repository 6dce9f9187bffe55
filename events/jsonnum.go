package events

import (
	"bytes"
	"strconv"
)

// decimal is a JSON number as math/big reads it (jsonschema compares numbers as big.Rat):
// ±digits × 10^exp, digits without leading or trailing zeros (none for zero).
type decimal struct {
	neg    bool
	digits []byte
	exp    int64
	// ok is false for a number math/big refuses (an exponent beyond ±1e6 after the fraction's
	// digits are counted in): jsonschema then treats it as no integer, equal to nothing, and
	// panicked comparing it with a minimum. The validator rejects it wherever a number is
	// asked for.
	ok bool
}

// maxExp is math/big's limit on the decimal exponent of a Rat it reads.
const maxExp = 1_000_000

// parseDecimal reads a number literal the parser has checked.
func parseDecimal(lit []byte) decimal {
	var d decimal
	i := 0
	if lit[0] == '-' {
		d.neg = true
		i++
	}
	var mant []byte
	start := i
	for i < len(lit) && lit[i] >= '0' && lit[i] <= '9' {
		i++
	}
	intPart := lit[start:i]
	var frac []byte
	if i < len(lit) && lit[i] == '.' {
		i++
		start = i
		for i < len(lit) && lit[i] >= '0' && lit[i] <= '9' {
			i++
		}
		frac = lit[start:i]
	}
	var exp int64
	if i < len(lit) { // e or E
		e, err := strconv.ParseInt(string(lit[i+1:]), 10, 64)
		if err != nil {
			return d // out of int64: math/big refuses it too
		}
		exp = e
	}
	mant = append(append(make([]byte, 0, len(intPart)+len(frac)), intPart...), frac...)
	mant = bytes.TrimLeft(mant, "0")
	if len(mant) == 0 { // zero: math/big reads it whatever the exponent
		d.neg, d.ok = false, true
		return d
	}
	exp5 := exp - int64(len(frac))
	if exp5 > maxExp || exp5 < -maxExp || (exp < 0 && exp5 > 0) {
		return d
	}
	trimmed := bytes.TrimRight(mant, "0")
	d.digits, d.exp, d.ok = trimmed, exp5+int64(len(mant)-len(trimmed)), true
	return d
}

// decimalOf is the decimal of an int64.
func decimalOf(n int64) decimal {
	s := strconv.AppendInt(nil, n, 10)
	return parseDecimal(s)
}

func (d decimal) isZero() bool { return len(d.digits) == 0 }

// isInt reports whether d is an integer.
func (d decimal) isInt() bool { return d.ok && (d.isZero() || d.exp >= 0) }

// smallInt is d as an int64 if d is an integer of at most 18 digits.
func (d decimal) smallInt() (int64, bool) {
	if !d.isInt() || int64(len(d.digits))+d.exp > 18 {
		return 0, false
	}
	var n int64
	for _, c := range d.digits {
		n = n*10 + int64(c-'0')
	}
	for range d.exp {
		n *= 10
	}
	if d.neg {
		n = -n
	}
	return n, true
}

// cmp compares two readable decimals: -1, 0 or +1.
func (d decimal) cmp(e decimal) int {
	switch {
	case d.isZero() && e.isZero():
		return 0
	case d.isZero():
		if e.neg {
			return 1
		}
		return -1
	case e.isZero():
		if d.neg {
			return -1
		}
		return 1
	case d.neg != e.neg:
		if d.neg {
			return -1
		}
		return 1
	}
	c := d.cmpAbs(e)
	if d.neg {
		return -c
	}
	return c
}

// cmpAbs compares the magnitudes of two non-zero decimals.
func (d decimal) cmpAbs(e decimal) int {
	// The position of the leading digit decides, then the digits.
	ld, le := int64(len(d.digits))+d.exp, int64(len(e.digits))+e.exp
	if ld != le {
		if ld < le {
			return -1
		}
		return 1
	}
	c := bytes.Compare(d.digits, e.digits) // without trailing zeros, a longer prefix-equal one is larger
	return c
}

// plainInt reads a plain integer literal (no fraction or exponent) of at most 18 digits.
func plainInt(lit []byte) (int64, bool) {
	neg := lit[0] == '-'
	if neg {
		lit = lit[1:]
	}
	if len(lit) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range lit {
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

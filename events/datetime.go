package events

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// checkDateTime is jsonschema's date-time format (RFC 3339 section 5.6, leap seconds allowed).
func checkDateTime(s string) error {
	if len(s) < 20 {
		return errors.New("less than 20 characters long")
	}
	if s[10] != 't' && s[10] != 'T' {
		return errors.New("11th character must be t or T")
	}
	if _, err := time.Parse("2006-01-02", s[:10]); err != nil {
		return fmt.Errorf("invalid date element: %v", err)
	}
	if err := checkTime(s[11:]); err != nil {
		return fmt.Errorf("invalid time element: %v", err)
	}
	return nil
}

func checkTime(str string) error {
	if len(str) < 9 {
		return errors.New("less than 9 characters long")
	}
	if str[2] != ':' || str[5] != ':' {
		return errors.New("missing colon in correct place")
	}
	// str[2] and str[5] are colons, so jsonschema's strings.SplitN(str[:8], ":", 3) makes
	// these three tokens, or tokens of which one holds a colon, as does one of these then.
	var hms [3]int
	if err := atoiEach(hms[:], "hour/min/sec", str[0:2], str[3:5], str[6:8]); err != nil {
		return err
	}
	h, m, s := hms[0], hms[1], hms[2]
	if h > 23 || m > 59 || s > 60 {
		return errors.New("hour/min/sec out of range")
	}
	str = str[8:]
	if rem, ok := strings.CutPrefix(str, "."); ok {
		digits := 0
		for digits < len(rem) && rem[digits] >= '0' && rem[digits] <= '9' {
			digits++
		}
		if digits == 0 {
			return errors.New("no digits in second fraction")
		}
		str = rem[digits:]
	}
	if str != "z" && str != "Z" {
		if len(str) != 6 {
			return errors.New("offset must be 6 characters long")
		}
		var sign int
		switch str[0] {
		case '+':
			sign = -1
		case '-':
			sign = +1
		default:
			return errors.New("offset must begin with plus/minus")
		}
		str = str[1:]
		if str[2] != ':' {
			return errors.New("missing colon in offset in correct place")
		}
		var zhm [2]int
		// as strings.SplitN(str, ":", 2): see above
		if err := atoiEach(zhm[:], "hour/min in offset", str[0:2], str[3:5]); err != nil {
			return err
		}
		zh, zm := zhm[0], zhm[1]
		if zh > 23 || zm > 59 {
			return errors.New("hour/min in offset out of range")
		}
		hm := (h*60 + m) + sign*(zh*60+zm)
		if hm < 0 {
			hm += 24 * 60
		}
		h, m = hm/60, hm%60
	}
	if s >= 60 && (h != 23 || m != 59) {
		return errors.New("invalid leap second")
	}
	return nil
}

// atoiEach reads each token into dst as strconv.Atoi reads it; an error, in jsonschema's
// wording, names what the tokens are and says one is not a number or is negative.
func atoiEach(dst []int, what string, toks ...string) error {
	for k, tok := range toks {
		i, err := strconv.Atoi(tok)
		if err != nil {
			return errors.New("invalid " + what)
		}
		if i < 0 {
			return errors.New("non-positive " + what)
		}
		dst[k] = i
	}
	return nil
}

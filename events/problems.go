package events

import (
	"fmt"
	"strconv"
	"strings"
)

// How the validator words a problem and points at it: jsonschema's messages, quoting and
// JSON pointers.

func enumText(enum []literal) string {
	if len(enum) == 1 {
		return enum[0].text
	}
	texts := make([]string, len(enum))
	for i, l := range enum {
		texts[i] = l.text
	}
	return "one of " + strings.Join(texts, ", ")
}

func numText(lit []byte, x decimal) string {
	if !x.ok {
		return string(lit) + " (out of range)"
	}
	return string(lit)
}

// add records a problem at the current path.
func (v *validator) add(format string, args ...any) {
	v.problems = append(v.problems, Problem{Path: v.pointer(), Message: fmt.Sprintf(format, args...)})
}

// addAt records a problem at the member key of the current object.
func (v *validator) addAt(key string, format string, args ...any) {
	v.problems = append(v.problems, Problem{Path: v.pointer() + "/" + escapeToken(key), Message: fmt.Sprintf(format, args...)})
}

// addProperties records a problem with the named properties of the current object, if any:
// one is named in format at its own path, several in formatMany at the object's (as
// jsonschema reports them).
func (v *validator) addProperties(names []string, format, formatMany string) {
	switch len(names) {
	case 0:
	case 1:
		v.addAt(names[0], format, quote(names[0]))
	default:
		v.add(formatMany, joinQuoted(names))
	}
}

// pointer is the JSON pointer of the current path.
func (v *validator) pointer() string {
	var b strings.Builder
	for _, st := range v.path {
		b.WriteByte('/')
		if st.index >= 0 {
			b.WriteString(strconv.Itoa(int(st.index)))
		} else {
			b.WriteString(escapeToken(v.doc.key(st.member)))
		}
	}
	return b.String()
}

func escapeToken(t string) string {
	if !strings.ContainsAny(t, "~/") {
		return t
	}
	return strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1")
}

// quote single-quotes s as jsonschema's messages do.
func quote(s string) string {
	s = strconv.Quote(s)
	s = strings.ReplaceAll(s, `\"`, `"`)
	s = strings.ReplaceAll(s, `'`, `\'`)
	return "'" + s[1:len(s)-1] + "'"
}

func joinQuoted(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = quote(s)
	}
	return strings.Join(q, ", ")
}

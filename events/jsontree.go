package events

import (
	"encoding/json"
	"unicode/utf16"
	"unicode/utf8"
)

// A jsonDoc is a JSON document read in one pass into a flat tree of nodes that point into the
// source bytes: no value is copied or decoded until it is asked for. The validator walks it,
// and Parse fills an Envelope from it. It accepts exactly what encoding/json accepts (the
// tests compare them) and decodes strings as encoding/json does (invalid UTF-8 and lone
// surrogates become U+FFFD).
type jsonDoc struct {
	src   []byte
	nodes []jsonNode // nodes[0] is the root
}

type jsonKind uint8

const (
	jsonNull jsonKind = iota
	jsonFalse
	jsonTrue
	jsonNumber
	jsonString
	jsonArray
	jsonObject
)

// jsonNode is a value. Spans are byte offsets into src: a string's span is inside its quotes,
// a number's is its literal, a container's runs from its opening to its closing bracket.
// A member of an object also carries its key's span. Siblings are chained by next; a
// container's children start at first. Index 0 is the root, so 0 also means "none".
type jsonNode struct {
	kind       jsonKind
	flags      uint8
	start, end int32
	keyStart   int32
	keyEnd     int32
	next       int32
	first      int32
	n          int32 // children of an array or object
}

const (
	flagRaw    uint8 = 1 << iota // string: its bytes need decoding (an escape or a non-ASCII byte)
	flagKeyRaw                   // member key: likewise
	flagPlain                    // number: a plain integer literal (no fraction, no exponent)
)

// text is the raw bytes of node i's span.
func (d *jsonDoc) text(i int32) []byte {
	n := &d.nodes[i]
	return d.src[n.start:n.end]
}

// strBytes is the value of string node i, decoded into buf if it must be (buf is reused).
func (d *jsonDoc) strBytes(i int32, buf []byte) ([]byte, []byte) {
	n := &d.nodes[i]
	b := d.src[n.start:n.end]
	if n.flags&flagRaw == 0 {
		return b, buf
	}
	buf = appendUnquoted(buf[:0], b)
	return buf, buf
}

// str is the value of string node i as a new string.
func (d *jsonDoc) str(i int32) string {
	n := &d.nodes[i]
	return unquoted(d.src[n.start:n.end], n.flags&flagRaw != 0)
}

// key is the key of member node i as a new string.
func (d *jsonDoc) key(i int32) string {
	n := &d.nodes[i]
	return unquoted(d.src[n.keyStart:n.keyEnd], n.flags&flagKeyRaw != 0)
}

// unquoted is the value of the string whose bytes (between the quotes) are b as a new string;
// raw says whether b must be decoded (the parser's flagRaw or flagKeyRaw).
func unquoted(b []byte, raw bool) string {
	if !raw {
		return string(b)
	}
	return string(appendUnquoted(nil, b))
}

// keyIs reports whether member node i's key is k.
func (d *jsonDoc) keyIs(i int32, k string) bool {
	n := &d.nodes[i]
	b := d.src[n.keyStart:n.keyEnd]
	if n.flags&flagKeyRaw == 0 {
		return string(b) == k
	}
	return string(appendUnquoted(nil, b)) == k
}

// member is the last member of object node obj with key k (the one encoding/json keeps), or 0.
func (d *jsonDoc) member(obj int32, k string) int32 {
	var found int32
	for c := d.nodes[obj].first; c != 0; c = d.nodes[c].next {
		if d.keyIs(c, k) {
			found = c
		}
	}
	return found
}

// value is node n decoded as encoding/json decodes into an any with UseNumber (a repeated
// key keeps its last value).
func (d *jsonDoc) value(n int32) any {
	nd := &d.nodes[n]
	switch nd.kind {
	case jsonNull:
		return nil
	case jsonTrue:
		return true
	case jsonFalse:
		return false
	case jsonNumber:
		return json.Number(d.text(n))
	case jsonString:
		return d.str(n)
	case jsonArray:
		out := make([]any, 0, nd.n)
		for c := nd.first; c != 0; c = d.nodes[c].next {
			out = append(out, d.value(c))
		}
		return out
	}
	out := make(map[string]any, nd.n)
	for c := nd.first; c != 0; c = d.nodes[c].next {
		out[d.key(c)] = d.value(c)
	}
	return out
}

// appendUnquoted appends the value of the string whose bytes (between the quotes, already
// checked by the parser) are s, decoded as encoding/json decodes it.
func appendUnquoted(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\' && s[i+1] != 'u':
			dst = append(dst, unescaped[s[i+1]])
			i += 2
		case c == '\\':
			r := hex4(s[i+2:])
			i += 6
			if utf16.IsSurrogate(r) {
				var r2 rune = -1
				if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
					r2 = hex4(s[i+2:])
				}
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					dst = utf8.AppendRune(dst, dec)
					i += 6
					break
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			// A byte of invalid UTF-8 decodes as RuneError and is written as U+FFFD; a valid
			// rune is written back as it was.
			r, size := utf8.DecodeRune(s[i:])
			dst = utf8.AppendRune(dst, r)
			i += size
		}
	}
	return dst
}

// unescaped is the byte each one-letter escape stands for (\uXXXX aside; the parser allows no
// other letter).
var unescaped = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		default:
			c = c - 'A' + 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

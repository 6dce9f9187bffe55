package events

import (
	"encoding/json"
	"errors"
	"strconv"
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

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

// parseJSON reads src. The error only says where reading stopped; callers that report it
// ask encoding/json for its wording (see jsonError).
func parseJSON(src []byte) (*jsonDoc, error) {
	d := &jsonDoc{src: src, nodes: make([]jsonNode, 0, 8+len(src)/24)}
	if _, err := d.parseValue(len(src)); err != nil {
		return nil, err
	}
	return d, nil
}

// parseValue reads the one value of d.src[:end] (whitespace around it allowed), appends its
// nodes to d.nodes and returns the index of its root.
func (d *jsonDoc) parseValue(end int) (int32, error) {
	if end >= 1<<31-1 {
		return 0, errors.New("document too large")
	}
	p := parser{d: d, src: d.src[:end]}
	p.skipSpace()
	root, err := p.value(0)
	if err != nil {
		return 0, err
	}
	p.skipSpace()
	if p.i != end {
		return 0, p.fail()
	}
	return root, nil
}

type parser struct {
	d   *jsonDoc
	src []byte // what is read: d.src or a prefix of it
	i   int
}

func (p *parser) fail() error {
	return &jsonSyntaxError{offset: p.i}
}

type jsonSyntaxError struct{ offset int }

func (e *jsonSyntaxError) Error() string {
	return "invalid JSON at offset " + strconv.Itoa(e.offset)
}

func (p *parser) skipSpace() {
	src := p.src
	for p.i < len(src) {
		switch src[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// value reads the value at p.i (whitespace already skipped) and returns its node's index.
func (p *parser) value(depth int) (int32, error) {
	src := p.src
	if p.i >= len(src) {
		return 0, p.fail()
	}
	idx := int32(len(p.d.nodes))
	p.d.nodes = append(p.d.nodes, jsonNode{})
	switch c := src[p.i]; {
	case c == '{':
		return idx, p.object(idx, depth+1)
	case c == '[':
		return idx, p.array(idx, depth+1)
	case c == '"':
		start := p.i + 1
		raw, err := p.str()
		if err != nil {
			return 0, err
		}
		nd := &p.d.nodes[idx]
		nd.kind, nd.start, nd.end = jsonString, int32(start), int32(p.i-1)
		if raw {
			nd.flags |= flagRaw
		}
		return idx, nil
	case c == '-' || (c >= '0' && c <= '9'):
		start := p.i
		plain, err := p.number()
		if err != nil {
			return 0, err
		}
		nd := &p.d.nodes[idx]
		nd.kind, nd.start, nd.end = jsonNumber, int32(start), int32(p.i)
		if plain {
			nd.flags |= flagPlain
		}
		return idx, nil
	default:
		var k jsonKind
		var lit string
		switch c {
		case 't':
			k, lit = jsonTrue, "true"
		case 'f':
			k, lit = jsonFalse, "false"
		case 'n':
			k, lit = jsonNull, "null"
		default:
			return 0, p.fail()
		}
		if len(src)-p.i < len(lit) || string(src[p.i:p.i+len(lit)]) != lit {
			return 0, p.fail()
		}
		nd := &p.d.nodes[idx]
		nd.kind, nd.start, nd.end = k, int32(p.i), int32(p.i+len(lit))
		p.i += len(lit)
		return idx, nil
	}
}

func (p *parser) object(idx int32, depth int) error {
	if depth > maxDepth {
		return p.fail()
	}
	src := p.src
	start := p.i
	p.i++ // {
	p.skipSpace()
	var prev, n int32
	if p.i < len(src) && src[p.i] == '}' {
		p.i++
	} else {
		for {
			if p.i >= len(src) || src[p.i] != '"' {
				return p.fail()
			}
			keyStart := p.i + 1
			keyRaw, err := p.str()
			if err != nil {
				return err
			}
			keyEnd := p.i - 1
			p.skipSpace()
			if p.i >= len(src) || src[p.i] != ':' {
				return p.fail()
			}
			p.i++
			p.skipSpace()
			child, err := p.value(depth)
			if err != nil {
				return err
			}
			nd := &p.d.nodes[child]
			nd.keyStart, nd.keyEnd = int32(keyStart), int32(keyEnd)
			if keyRaw {
				nd.flags |= flagKeyRaw
			}
			if prev == 0 {
				p.d.nodes[idx].first = child
			} else {
				p.d.nodes[prev].next = child
			}
			prev = child
			n++
			p.skipSpace()
			if p.i >= len(src) {
				return p.fail()
			}
			if src[p.i] == ',' {
				p.i++
				p.skipSpace()
				continue
			}
			if src[p.i] == '}' {
				p.i++
				break
			}
			return p.fail()
		}
	}
	nd := &p.d.nodes[idx]
	nd.kind, nd.start, nd.end, nd.n = jsonObject, int32(start), int32(p.i), n
	return nil
}

func (p *parser) array(idx int32, depth int) error {
	if depth > maxDepth {
		return p.fail()
	}
	src := p.src
	start := p.i
	p.i++ // [
	p.skipSpace()
	var prev, n int32
	if p.i < len(src) && src[p.i] == ']' {
		p.i++
	} else {
		for {
			child, err := p.value(depth)
			if err != nil {
				return err
			}
			if prev == 0 {
				p.d.nodes[idx].first = child
			} else {
				p.d.nodes[prev].next = child
			}
			prev = child
			n++
			p.skipSpace()
			if p.i >= len(src) {
				return p.fail()
			}
			if src[p.i] == ',' {
				p.i++
				p.skipSpace()
				continue
			}
			if src[p.i] == ']' {
				p.i++
				break
			}
			return p.fail()
		}
	}
	nd := &p.d.nodes[idx]
	nd.kind, nd.start, nd.end, nd.n = jsonArray, int32(start), int32(p.i), n
	return nil
}

// str reads a string from its opening quote to past its closing one; raw reports an escape
// or a non-ASCII byte (the bytes are not the value).
func (p *parser) str() (raw bool, err error) {
	src := p.src
	p.i++ // "
	for p.i < len(src) {
		// the common case: printable ASCII other than " and \
		for p.i < len(src) && plainByte[src[p.i]] {
			p.i++
		}
		if p.i >= len(src) {
			break
		}
		c := src[p.i]
		switch {
		case c == '"':
			p.i++
			return raw, nil
		case c == '\\':
			raw = true
			p.i++
			if p.i >= len(src) {
				return raw, p.fail()
			}
			switch src[p.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.i++
			case 'u':
				p.i++
				for k := 0; k < 4; k++ {
					if p.i >= len(src) || !isHex(src[p.i]) {
						return raw, p.fail()
					}
					p.i++
				}
			default:
				return raw, p.fail()
			}
		case c < 0x20:
			return raw, p.fail()
		default: // >= 0x80
			raw = true
			p.i++
		}
	}
	return raw, p.fail()
}

// plainByte marks the bytes a string holds as they are: printable ASCII but " and \.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// number reads a number literal; plain reports one without fraction or exponent.
func (p *parser) number() (plain bool, err error) {
	src := p.src
	if src[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(src) && src[p.i] == '0':
		p.i++
	case p.i < len(src) && src[p.i] >= '1' && src[p.i] <= '9':
		for p.i < len(src) && src[p.i] >= '0' && src[p.i] <= '9' {
			p.i++
		}
	default:
		return false, p.fail()
	}
	plain = true
	if p.i < len(src) && src[p.i] == '.' {
		plain = false
		p.i++
		if p.i >= len(src) || src[p.i] < '0' || src[p.i] > '9' {
			return false, p.fail()
		}
		for p.i < len(src) && src[p.i] >= '0' && src[p.i] <= '9' {
			p.i++
		}
	}
	if p.i < len(src) && (src[p.i] == 'e' || src[p.i] == 'E') {
		plain = false
		p.i++
		if p.i < len(src) && (src[p.i] == '+' || src[p.i] == '-') {
			p.i++
		}
		if p.i >= len(src) || src[p.i] < '0' || src[p.i] > '9' {
			return false, p.fail()
		}
		for p.i < len(src) && src[p.i] >= '0' && src[p.i] <= '9' {
			p.i++
		}
	}
	return plain, nil
}

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
	b := d.src[n.start:n.end]
	if n.flags&flagRaw == 0 {
		return string(b)
	}
	return string(appendUnquoted(nil, b))
}

// key is the key of member node i as a new string.
func (d *jsonDoc) key(i int32) string {
	n := &d.nodes[i]
	b := d.src[n.keyStart:n.keyEnd]
	if n.flags&flagKeyRaw == 0 {
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
		case c == '\\':
			i++
			switch s[i] {
			case 'b':
				dst = append(dst, '\b')
				i++
			case 'f':
				dst = append(dst, '\f')
				i++
			case 'n':
				dst = append(dst, '\n')
				i++
			case 'r':
				dst = append(dst, '\r')
				i++
			case 't':
				dst = append(dst, '\t')
				i++
			case 'u':
				r := hex4(s[i+1:])
				i += 5
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
			default: // " \ /
				dst = append(dst, s[i])
				i++
			}
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = utf8.AppendRune(dst, utf8.RuneError)
			} else {
				dst = append(dst, s[i:i+size]...)
			}
			i += size
		}
	}
	return dst
}

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

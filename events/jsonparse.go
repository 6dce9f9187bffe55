package events

import (
	"errors"
	"strconv"
)

// Reading a document into a jsonDoc: parseJSON and its one-pass parser, which accepts
// exactly what encoding/json accepts. What the tree holds and how its values are read is in
// jsontree.go.

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
		return idx, p.container(idx, depth+1, jsonObject)
	case c == '[':
		return idx, p.container(idx, depth+1, jsonArray)
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

// container reads an object or an array (kind) from its opening bracket to past its closing
// one, its members or elements linked as node idx's children.
func (p *parser) container(idx int32, depth int, kind jsonKind) error {
	if depth > maxDepth {
		return p.fail()
	}
	closing := byte(']')
	if kind == jsonObject {
		closing = '}'
	}
	src := p.src
	start := p.i
	p.i++ // { or [
	p.skipSpace()
	var prev, n int32
	if p.i < len(src) && src[p.i] == closing {
		p.i++
	} else {
		for {
			var child int32
			var err error
			if kind == jsonObject {
				child, err = p.member(depth)
			} else {
				child, err = p.value(depth)
			}
			if err != nil {
				return err
			}
			p.link(idx, prev, child)
			prev = child
			n++
			if more, err := p.separator(closing); err != nil {
				return err
			} else if !more {
				break
			}
		}
	}
	nd := &p.d.nodes[idx]
	nd.kind, nd.start, nd.end, nd.n = kind, int32(start), int32(p.i), n
	return nil
}

// member reads an object's member at p.i (its key, a colon and its value) and returns the
// index of its value's node, which carries the key's span.
func (p *parser) member(depth int) (int32, error) {
	src := p.src
	if p.i >= len(src) || src[p.i] != '"' {
		return 0, p.fail()
	}
	keyStart := p.i + 1
	keyRaw, err := p.str()
	if err != nil {
		return 0, err
	}
	keyEnd := p.i - 1
	p.skipSpace()
	if p.i >= len(src) || src[p.i] != ':' {
		return 0, p.fail()
	}
	p.i++
	p.skipSpace()
	child, err := p.value(depth)
	if err != nil {
		return 0, err
	}
	nd := &p.d.nodes[child]
	nd.keyStart, nd.keyEnd = int32(keyStart), int32(keyEnd)
	if keyRaw {
		nd.flags |= flagKeyRaw
	}
	return child, nil
}

// link makes child the next child of node idx, after prev (0: its first).
func (p *parser) link(idx, prev, child int32) {
	if prev == 0 {
		p.d.nodes[idx].first = child
	} else {
		p.d.nodes[prev].next = child
	}
}

// separator reads what follows a member or an element: a comma, and more follows, or the
// closing bracket, and the object or array ends.
func (p *parser) separator(closing byte) (more bool, err error) {
	p.skipSpace()
	if p.i >= len(p.src) {
		return false, p.fail()
	}
	switch p.src[p.i] {
	case ',':
		p.i++
		p.skipSpace()
		return true, nil
	case closing:
		p.i++
		return false, nil
	}
	return false, p.fail()
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

package events

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"
)

// DecodePayload decodes with encoding/json (a json.Decoder rejecting unknown fields), and
// Unmarshal as json.Unmarshal; this file holds their fast path: a document whose every key is
// exactly one of the struct's field names, once, with a value of the field's kind (a string, a
// plain integer in range, an object for a struct or a pointer to one, an array of objects for a
// slice of structs, any value but null for a json.RawMessage) is read with the reader and set
// field by field. Anything else (an unknown or differently cased key, a repeated one, null, a
// number like 1e2 or 1.0) goes to encoding/json, which decides and words the error. The tests
// compare the two.

// decodePlan is how to fill one struct type; nil if the type has a field the fast path does
// not handle.
type decodePlan struct {
	fields []fieldPlan
}

type fieldPlan struct {
	name  string // the JSON key
	index int
	kind  reflect.Kind // String, Int*, Struct (elem), Pointer (to a struct: elem), or Slice (of structs, elem; or a json.RawMessage: raw)
	bits  int          // of an integer kind
	elem  *decodePlan
	typ   reflect.Type // of a slice, or of what a pointer points to
	raw   bool         // a json.RawMessage: the value's bytes
}

var rawMessageType = reflect.TypeOf(json.RawMessage(nil))

var plans sync.Map // reflect.Type -> *decodePlan (nil: not handled)

func planOf(t reflect.Type) *decodePlan {
	if p, ok := plans.Load(t); ok {
		return p.(*decodePlan)
	}
	p := makePlan(t, 0)
	plans.Store(t, p)
	return p
}

func makePlan(t reflect.Type, depth int) *decodePlan {
	if t.Kind() != reflect.Struct || depth > 4 || t.NumField() > 64 {
		return nil
	}
	p := &decodePlan{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("json")
		name, opts, _ := strings.Cut(tag, ",")
		if !ok || !f.IsExported() || f.Anonymous || name == "" || name == "-" || (opts != "" && opts != "omitempty") {
			return nil
		}
		fp := fieldPlan{name: name, index: i, kind: f.Type.Kind()}
		switch fp.kind {
		case reflect.String:
			if f.Type != reflect.TypeOf("") {
				return nil // a named string type may have its own UnmarshalJSON
			}
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			if f.Type.PkgPath() != "" {
				return nil
			}
			fp.bits = f.Type.Bits()
		case reflect.Slice:
			if f.Type == rawMessageType {
				fp.raw = true
				break
			}
			if f.Type.Name() != "" || f.Type.Elem().Kind() != reflect.Struct {
				return nil
			}
			if fp.elem = makePlan(f.Type.Elem(), depth+1); fp.elem == nil {
				return nil
			}
			fp.typ = f.Type
		case reflect.Struct:
			if fp.elem = makePlan(f.Type, depth+1); fp.elem == nil {
				return nil
			}
		case reflect.Pointer:
			if fp.elem = makePlan(f.Type.Elem(), depth+1); fp.elem == nil { // nil unless a struct's
				return nil
			}
			fp.typ = f.Type.Elem()
		default:
			return nil
		}
		for _, other := range p.fields {
			if strings.EqualFold(other.name, name) {
				return nil // encoding/json's case-insensitive matching would have to choose
			}
		}
		p.fields = append(p.fields, fp)
	}
	if pt := reflect.PointerTo(t); pt.Implements(unmarshalerType) || pt.Implements(textUnmarshalerType) {
		return nil
	}
	return p
}

var (
	unmarshalerType     = reflect.TypeOf((*interface{ UnmarshalJSON([]byte) error })(nil)).Elem()
	textUnmarshalerType = reflect.TypeOf((*interface{ UnmarshalText([]byte) error })(nil)).Elem()
)

// Unmarshal decodes raw into *ptr, a zero struct, as json.Unmarshal does, in one pass over raw
// where the fast path can (json.Unmarshal checks a document whole before it decodes it: two).
func Unmarshal(raw []byte, ptr any) error {
	rv := reflect.ValueOf(ptr)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return json.Unmarshal(raw, ptr) // its InvalidUnmarshalError
	}
	if fastDecode(raw, ptr) {
		return nil
	}
	rv = rv.Elem()
	rv.Set(reflect.Zero(rv.Type())) // what the fast path filled before it gave up
	return json.Unmarshal(raw, ptr)
}

// fastDecode fills *ptr (a zero struct) from raw if it can say what encoding/json would; it
// reports whether it did (false leaves *ptr partly filled).
func fastDecode(raw []byte, ptr any) bool {
	rv := reflect.ValueOf(ptr).Elem()
	p := planOf(rv.Type())
	if p == nil {
		return false
	}
	d, err := parseJSON(raw)
	if err != nil {
		return false
	}
	return p.fill(d, 0, rv)
}

func (p *decodePlan) fill(d *jsonDoc, n int32, v reflect.Value) bool {
	if d.nodes[n].kind != jsonObject {
		return false
	}
	var seen uint64
	for c := d.nodes[n].first; c != 0; c = d.nodes[c].next {
		nd := &d.nodes[c]
		if nd.flags&flagKeyRaw != 0 {
			return false
		}
		key := d.src[nd.keyStart:nd.keyEnd]
		i := -1
		for j := range p.fields {
			if string(key) == p.fields[j].name {
				i = j
				break
			}
		}
		if i < 0 || seen&(1<<i) != 0 {
			return false
		}
		seen |= 1 << i
		f := &p.fields[i]
		fv := v.Field(f.index)
		switch f.kind {
		case reflect.String:
			if nd.kind != jsonString {
				return false
			}
			fv.SetString(d.str(c))
		case reflect.Struct:
			if !f.elem.fill(d, c, fv) {
				return false
			}
		case reflect.Pointer:
			ptr := reflect.New(f.typ)
			if !f.elem.fill(d, c, ptr.Elem()) { // null too: not an object
				return false
			}
			fv.Set(ptr)
		case reflect.Slice:
			if f.raw {
				if nd.kind == jsonNull {
					return false
				}
				start, end := nd.start, nd.end
				if nd.kind == jsonString { // its span is inside the quotes
					start, end = start-1, end+1
				}
				fv.SetBytes(append(json.RawMessage(nil), d.src[start:end]...))
				break
			}
			if nd.kind != jsonArray {
				return false
			}
			s := reflect.MakeSlice(f.typ, int(nd.n), int(nd.n))
			k := 0
			for item := nd.first; item != 0; item = d.nodes[item].next {
				if !f.elem.fill(d, item, s.Index(k)) {
					return false
				}
				k++
			}
			fv.Set(s)
		default: // integers
			if nd.kind != jsonNumber || nd.flags&flagPlain == 0 {
				return false
			}
			x, ok := plainInt(d.text(c))
			if !ok || fv.OverflowInt(x) {
				return false
			}
			fv.SetInt(x)
		}
	}
	return true
}

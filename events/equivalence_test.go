package events

// The validator, Parse, FromEventBridge, New and Upcast against the reference
// (reference_test.go: the package as it was, with jsonschema): on every sample and on
// systematic mutations of every sample they must give the same verdict, the same Type and
// Version and the same set of problem paths, and, when they accept, the same Envelope.
// Messages may differ (jsonschema's printer localises numbers); the test counts how often.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// outcome is what one call returned, or its panic.
type outcome struct {
	env      Envelope
	err      error
	panicked any
}

func call(f func() (Envelope, error)) (o outcome) {
	defer func() {
		if r := recover(); r != nil {
			o.panicked = r
		}
	}()
	o.env, o.err = f()
	return o
}

// tally counts what the equivalence tests checked.
type tally struct {
	cases, accepted, rejected, refPanics, messageDiffs int
	examples                                           []string
}

// compare fails t if now differs from ref on the case named name.
func (c *tally) compare(t *testing.T, name string, ref, now outcome) {
	t.Helper()
	c.cases++
	if now.panicked != nil {
		t.Errorf("%s: panicked: %v", name, now.panicked)
		return
	}
	if ref.panicked != nil {
		// jsonschema panics comparing a number math/big cannot read with a minimum; the
		// validator must reject it instead.
		c.refPanics++
		var ve *ValidationError
		if !errors.As(now.err, &ve) {
			t.Errorf("%s: the reference panicked (%v); got %v, want a *ValidationError", name, ref.panicked, now.err)
		}
		return
	}
	if (ref.err == nil) != (now.err == nil) {
		t.Errorf("%s: verdict differs:\nreference: %v\nnow:       %v", name, ref.err, now.err)
		return
	}
	if ref.err == nil {
		c.accepted++
		if !reflect.DeepEqual(ref.env, now.env) {
			t.Errorf("%s: envelopes differ:\nreference: %#v\nnow:       %#v", name, ref.env, now.env)
		}
		return
	}
	c.rejected++
	var rve, nve *ValidationError
	if errors.As(ref.err, &rve) != errors.As(now.err, &nve) {
		t.Errorf("%s: error kinds differ:\nreference: %v (%T)\nnow:       %v (%T)", name, ref.err, ref.err, now.err, now.err)
		return
	}
	if rve == nil {
		if ref.err.Error() != now.err.Error() {
			t.Errorf("%s: errors differ:\nreference: %v\nnow:       %v", name, ref.err, now.err)
		}
		return
	}
	if rve.Type != nve.Type || rve.Version != nve.Version || !slices.Equal(pathSet(rve), pathSet(nve)) {
		t.Errorf("%s: problems differ:\nreference: %v\nnow:       %v", name, ref.err, now.err)
		return
	}
	if ref.err.Error() != now.err.Error() {
		c.messageDiffs++
		if len(c.examples) < 8 {
			c.examples = append(c.examples, fmt.Sprintf("%s:\n  reference: %v\n  now:       %v", name, ref.err, now.err))
		}
	}
}

func (c *tally) log(t *testing.T, what string) {
	t.Logf("%s: %d cases (%d accepted, %d rejected; the reference panicked on %d, rejected now); %d with other messages",
		what, c.cases, c.accepted, c.rejected, c.refPanics, c.messageDiffs)
	for _, ex := range c.examples {
		t.Log(ex)
	}
}

func pathSet(ve *ValidationError) []string {
	var out []string
	for _, p := range ve.Problems {
		if !slices.Contains(out, p.Path) {
			out = append(out, p.Path)
		}
	}
	sort.Strings(out)
	return out
}

// A mutation is a named variant of a sample.
type mutation struct {
	name string
	doc  []byte
}

// vocabulary is what the schemas mention: the values mutations try.
type vocabulary struct {
	numbers []string // bounds ±1 and odd spellings of numbers
	strs    []string // consts, enum values, type names, sources
	lengths []int    // string lengths around every bound
	names   []string // property names
	dates   []string
}

// maxTriedLength is the longest string the mutations try: past every length bound of the schemas.
const maxTriedLength = 1 << 16

func schemaVocabulary(t testing.TB) vocabulary {
	t.Helper()
	var v vocabulary
	bounds := map[int]bool{}
	strs := map[string]bool{}
	names := map[string]bool{}
	quant := regexp.MustCompile(`\{(\d+)(?:,(\d+))?\}`)
	schemaMembers(t, func(k string, val any) {
		switch k {
		case "minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems":
			n, _ := strconv.Atoi(fmt.Sprint(val))
			bounds[n] = true
		case "const":
			strs[fmt.Sprint(val)] = true
		case "enum":
			for _, e := range val.([]any) {
				strs[fmt.Sprint(e)] = true
			}
		case "pattern":
			for _, m := range quant.FindAllStringSubmatch(val.(string), -1) {
				for _, g := range m[1:] {
					if n, err := strconv.Atoi(g); err == nil {
						bounds[n] = true
					}
				}
			}
		case "properties":
			for name := range val.(map[string]any) {
				names[name] = true
			}
		}
	})
	nums := map[string]bool{}
	lengths := map[int]bool{}
	for n := 0; n <= 70; n++ {
		lengths[n] = true
	}
	for b := range bounds {
		for d := -1; d <= 1; d++ {
			nums[strconv.Itoa(b+d)] = true
			nums[strconv.Itoa(b+d)+".0"] = true
		}
		for d := -1; d <= 5; d++ { // a prefix such as "SKU-" or "pi_" shifts a pattern's bound
			if b+d >= 0 && b <= maxTriedLength { // a bound of a number (cents' 2^53 - 1) is no length to try
				lengths[b+d] = true
			}
		}
	}
	for _, n := range []string{"0", "-0", "-0.0", "0.5", "1.5", "-1.5", "1e0", "1E0", "1e2", "1E+2", "100e-2", "2e0", "5e0",
		"1e-7", "0.000", "12345678901234567890", "-12345678901234567890", "9223372036854775807", "9223372036854775808",
		"-9223372036854775809", "1e400", "-1e400", "1e1000", "1e1000001", "0e1000001", "1e-1000001", "2.5e1000001",
		"1e99999999999999999999", "0.1e1", "10e-1", "1.000000000000000000001"} {
		nums[n] = true
	}
	for s := range strs {
		v.strs = append(v.strs, s)
	}
	for _, typ := range Types() {
		strs[string(typ)] = true
		strs[SourceOf(typ)] = true
	}
	for n := range nums {
		v.numbers = append(v.numbers, n)
	}
	for n := range lengths {
		v.lengths = append(v.lengths, n)
	}
	for n := range names {
		v.names = append(v.names, n)
	}
	v.strs = v.strs[:0]
	for s := range strs {
		v.strs = append(v.strs, s)
	}
	sort.Strings(v.numbers)
	sort.Strings(v.strs)
	sort.Ints(v.lengths)
	sort.Strings(v.names)
	v.dates = []string{
		"2026-03-14T09:26:53Z", "2026-03-14T09:26:53.589Z", "2026-03-14t09:26:53z", "2026-03-14T09:26:53.589+01:00",
		"2026-03-14T09:26:53-23:59", "2026-03-14T09:26:53+24:00", "2026-03-14T09:26:53+01:60", "2026-03-14T23:59:60Z",
		"2026-03-14T23:59:60.5Z", "2026-03-14T22:59:60-01:00", "2026-03-14T12:00:60Z", "2026-03-14T24:00:00Z",
		"2026-03-14T09:60:00Z", "2026-02-29T00:00:00Z", "2024-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z",
		"2026-03-14 09:26:53Z", "2026-03-14T09:26:53", "2026-03-14T09:26:53.Z", "2026-03-14T09:26:53,589Z",
		"2026-03-14T+9:26:53Z", "2026-03-14T-9:26:53Z", "2026-03-14T09:26:53+0100", "2026-03-14T09:26:53+01:0a",
		"2026-3-14T09:26:53Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z", "10000-01-01T00:00:00Z",
		"2026-03-14T09:26:53.1234567891Z", "2026-03-14T09:26:53Zjunk", "2026-03-14T09:26:53.589Z ", " 2026-03-14T09:26:53Z",
		"yesterday", "", "2026-03-14T09:26:53é", "2026-03-14T09:26:5",
	}
	return v
}

// pathTo is a location in a decoded document: object keys and array indexes.
type pathTo []any

func (p pathTo) String() string {
	var b strings.Builder
	for _, tok := range p {
		fmt.Fprintf(&b, "/%v", tok)
	}
	return b.String()
}

func decodeJSON(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// schemaMembers calls visit with the key and value of every member of every object in the
// schemas, at any depth (numbers as json.Number).
func schemaMembers(t testing.TB, visit func(key string, val any)) {
	t.Helper()
	var walk func(x any)
	walk = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			for k, v := range x {
				visit(k, v)
				walk(v)
			}
		case []any:
			for _, v := range x {
				walk(v)
			}
		}
	}
	eachSchemaFile(t, func(_ string, b []byte) { walk(decodeJSON(t, b)) })
}

func locations(v any, at pathTo, out *[]pathTo) {
	*out = append(*out, at)
	switch x := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(x) {
			locations(x[k], append(slices.Clone(at), k), out)
		}
	case []any:
		for i, e := range x {
			locations(e, append(slices.Clone(at), i), out)
		}
	}
}

func get(v any, p pathTo) any {
	for _, tok := range p {
		switch tok := tok.(type) {
		case string:
			v = v.(map[string]any)[tok]
		case int:
			v = v.([]any)[tok]
		}
	}
	return v
}

// edit returns a fresh decoding of sample with f applied to the value at p, through the
// setter of its parent (nil for the root).
func edit(t testing.TB, sample []byte, p pathTo, f func(parent any, v any, set func(any), del func()) bool) ([]byte, bool) {
	doc := decodeJSON(t, sample)
	var parent any
	var set func(any)
	var del func()
	if len(p) == 0 {
		set = func(x any) { doc = x }
		del = func() { doc = nil }
	} else {
		parent = get(doc, p[:len(p)-1])
		switch tok := p[len(p)-1].(type) {
		case string:
			m := parent.(map[string]any)
			set = func(x any) { m[tok] = x }
			del = func() { delete(m, tok) }
		case int:
			a := parent.([]any)
			set = func(x any) { a[tok] = x }
			del = nil
		}
	}
	if !f(parent, get(doc, p), set, del) {
		return nil, false
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b, true
}

// valueMutations changes one value of sample at a time: removed, replaced by every kind of
// value and every number and string the schemas mention, strings cut or grown to every
// length around a bound and with each character replaced, objects given an extra property
// (every property name the schemas know, and two at once), arrays emptied, shortened and
// grown to their bounds.
func valueMutations(t testing.TB, voc vocabulary, sample []byte) []mutation {
	var out []mutation
	add := func(name string, p pathTo, f func(parent, v any, set func(any), del func()) bool) {
		if b, ok := edit(t, sample, p, f); ok {
			out = append(out, mutation{p.String() + ": " + name, b})
		}
	}
	var locs []pathTo
	locations(decodeJSON(t, sample), nil, &locs)
	others := []struct {
		name string
		v    func() any
	}{
		{"null", func() any { return nil }}, {"true", func() any { return true }}, {"false", func() any { return false }},
		{"empty string", func() any { return "" }}, {"x", func() any { return "x" }}, {"[]", func() any { return []any{} }},
		{"{}", func() any { return map[string]any{} }}, {"[1]", func() any { return []any{json.Number("1")} }},
		{`{"a":1}`, func() any { return map[string]any{"a": json.Number("1")} }},
	}
	for _, p := range locs {
		add("removed", p, func(_, _ any, _ func(any), del func()) bool {
			if del == nil || len(p) == 0 {
				return false
			}
			del()
			return true
		})
		for _, o := range others {
			add(o.name, p, func(_, _ any, set func(any), _ func()) bool { set(o.v()); return true })
		}
		for _, n := range voc.numbers {
			add("number "+n, p, func(_, _ any, set func(any), _ func()) bool { set(json.Number(n)); return true })
		}
		for _, s := range voc.strs {
			add(fmt.Sprintf("string %q", s), p, func(_, _ any, set func(any), _ func()) bool { set(s); return true })
		}
		orig := get(decodeJSON(t, sample), p)
		switch o := orig.(type) {
		case string:
			for _, d := range voc.dates {
				add(fmt.Sprintf("date %q", d), p, func(_, _ any, set func(any), _ func()) bool { set(d); return true })
			}
			for _, n := range voc.lengths {
				if n == len(o) {
					continue
				}
				s := o
				if n < len(s) {
					s = s[:n]
				} else {
					pad := "a"
					if len(s) > 0 {
						pad = s[len(s)-1:]
					}
					s += strings.Repeat(pad, n-len(s))
				}
				add(fmt.Sprintf("length %d", n), p, func(_, _ any, set func(any), _ func()) bool { set(s); return true })
			}
			for i := range len(o) {
				for _, c := range []string{"g", "G", "0", "-", "_", " ", "é", "~"} {
					s := o[:i] + c + o[i+1:]
					if s == o {
						continue
					}
					add(fmt.Sprintf("char %d = %q", i, c), p, func(_, _ any, set func(any), _ func()) bool { set(s); return true })
				}
			}
			for _, s := range []string{strings.ToUpper(o), strings.ToLower(o), " " + o, o + " ", o + "\n", o + "\u2028", "é" + o} {
				if s != o {
					add(fmt.Sprintf("string %q", s), p, func(_, _ any, set func(any), _ func()) bool { set(s); return true })
				}
			}
		case map[string]any:
			for _, name := range append([]string{"extra", "", "a/b", "x~y"}, voc.names...) {
				if _, ok := o[name]; ok {
					continue
				}
				add(fmt.Sprintf("extra property %q", name), p, func(_, v any, _ func(any), _ func()) bool {
					v.(map[string]any)[name] = json.Number("1")
					return true
				})
			}
			add("two extra properties", p, func(_, v any, _ func(any), _ func()) bool {
				v.(map[string]any)["extra1"], v.(map[string]any)["extra2"] = "x", "y"
				return true
			})
			add("every property removed", p, func(_, v any, _ func(any), _ func()) bool {
				clear(v.(map[string]any))
				return true
			})
		case []any:
			for _, n := range []int{0, 1, 2, 49, 50, 51, 100} {
				add(fmt.Sprintf("%d items", n), p, func(_, v any, set func(any), _ func()) bool {
					a := v.([]any)
					if len(a) == 0 {
						return false
					}
					grown := make([]any, n)
					for i := range grown {
						grown[i] = decodeJSON(t, mustMarshal(t, a[i%len(a)]))
					}
					set(grown)
					return true
				})
			}
			for i := range o {
				add(fmt.Sprintf("item %d removed", i), p, func(_, v any, set func(any), _ func()) bool {
					set(slices.Delete(slices.Clone(v.([]any)), i, i+1))
					return true
				})
			}
			for _, x := range []any{"x", nil, map[string]any{}, []any{}} {
				add(fmt.Sprintf("item %v appended", x), p, func(_, v any, set func(any), _ func()) bool {
					set(append(slices.Clone(v.([]any)), x))
					return true
				})
			}
		}
	}
	return out
}

func mustMarshal(t testing.TB, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// byteMutations change the text of sample: how JSON is written (spacing, escapes, repeated
// keys, invalid UTF-8), and where it stops being JSON (every prefix, odd bytes everywhere).
func byteMutations(sample []byte) []mutation {
	s := string(sample)
	var out []mutation
	add := func(name, doc string) { out = append(out, mutation{name, []byte(doc)}) }
	for i := range len(s) {
		add(fmt.Sprintf("cut at %d", i), s[:i])
		for _, c := range []string{`"`, `\`, `}`, `,`, `x`, "\x01", "\xff", " "} {
			if s[i:i+1] != c {
				add(fmt.Sprintf("byte %d = %q", i, c), s[:i]+c+s[i+1:])
			}
		}
	}
	var compact bytes.Buffer
	_ = json.Compact(&compact, sample)
	add("compact", compact.String())
	add("crlf", strings.ReplaceAll(s, "\n", "\r\n"))
	add("tabs", strings.ReplaceAll(s, "  ", "\t"))
	for _, w := range []string{" ", "\n", "\t", "\r", "\ufeff", "x", "{}", "]", "null", "\x00"} {
		add(fmt.Sprintf("%q before", w), w+s)
		add(fmt.Sprintf("%q after", w), s+w)
	}
	keys := regexp.MustCompile(`"([A-Za-z-]+)":`)
	seen := map[string]bool{}
	for _, m := range keys.FindAllStringSubmatchIndex(s, -1) {
		k := s[m[2]:m[3]]
		if seen[k] {
			continue
		}
		seen[k] = true
		at, end := m[0], m[1]
		esc := fmt.Sprintf(`"\u%04x%s":`, k[0], k[1:])
		add("key "+k+" escaped", s[:at]+esc+s[end:])
		add("key "+k+" upper-cased", s[:at]+`"`+strings.ToUpper(k[:1])+k[1:]+`":`+s[end:])
		add("key "+k+" all caps", s[:at]+`"`+strings.ToUpper(k)+`":`+s[end:])
		dec := json.NewDecoder(strings.NewReader(s[end:]))
		var value json.RawMessage
		if dec.Decode(&value) != nil {
			continue
		}
		valueEnd := end + int(dec.InputOffset())
		for _, wrong := range []string{`"x"`, `5`, `2.0`, `null`, `{}`, `[]`, `"2026-03-14T09:26:53Z"`, `"ORD-7c9e6679-7425-40de-944b-e07fc1f90ae7"`} {
			// encoding/json's map keeps the last of two members; its struct decoder reads both
			add("key "+k+" repeated before as "+wrong, s[:at]+`"`+k+`": `+wrong+`, `+s[at:])
			add("key "+k+" repeated after as "+wrong, s[:valueEnd]+`, "`+k+`": `+wrong+s[valueEnd:])
		}
	}
	strVals := regexp.MustCompile(`: "([^"]+)"`)
	for _, m := range strVals.FindAllStringSubmatchIndex(s, -1) {
		v := s[m[2]:m[3]]
		for _, r := range []struct{ name, new string }{
			{"first char escaped", fmt.Sprintf(`\u%04X`, v[0]) + v[1:]},
			{"slash escaped", strings.ReplaceAll(v, "-", `\-`)},
			{"solidus escape", `\/` + v},
			{"lone high surrogate", v + `\ud800`},
			{"lone low surrogate", `\udc00` + v},
			{"surrogate pair", v + `\ud83d\ude00`},
			{"high surrogate then letter", v + `\ud83dx`},
			{"invalid UTF-8", v + "\xff"},
			{"truncated UTF-8", v[:len(v)-1] + "\xc3"},
			{"non-ASCII", v + "é"},
			{"NUL escape", v + `\u0000`},
			{"newline escape", v + `\n`},
			{"raw tab", v + "\t"},
		} {
			add(fmt.Sprintf("value %q: %s", v, r.name), s[:m[2]]+r.new+s[m[3]:])
		}
	}
	return out
}

// thin keeps every 16th mutation under -short, every 128th under -race.
func thin(muts []mutation) []mutation {
	step := 1
	switch {
	case raceDetector:
		step = 128
	case testing.Short():
		step = 16
	}
	var out []mutation
	for i := 0; i < len(muts); i += step {
		out = append(out, muts[i])
	}
	return out
}

// samplesOf lists every sample in a fixed order.
func samplesOf() []struct {
	key string
	doc []byte
} {
	var out []struct {
		key string
		doc []byte
	}
	all := Samples()
	for _, k := range sortedKeys(all) {
		out = append(out, struct {
			key string
			doc []byte
		}{k, all[k]})
	}
	return out
}

func TestParseMatchesJSONSchema(t *testing.T) {
	t.Parallel()
	if _, err := refCompiled(); err != nil {
		t.Fatal(err)
	}
	voc := schemaVocabulary(t)
	var parse, upcast tally
	for _, s := range samplesOf() {
		t.Run(s.key, func(t *testing.T) {
			muts := append([]mutation{{"sample", s.doc}}, valueMutations(t, voc, s.doc)...)
			muts = thin(append(muts, byteMutations(s.doc)...))
			for _, m := range muts {
				ref := call(func() (Envelope, error) { return refParse(m.doc) })
				now := call(func() (Envelope, error) { return Parse(m.doc) })
				parse.compare(t, m.name, ref, now)
				if ref.err == nil && now.err == nil && ref.panicked == nil && now.panicked == nil {
					upcast.compare(t, m.name+" upcast",
						call(func() (Envelope, error) { return refUpcast(ref.env) }),
						call(func() (Envelope, error) { return now.env.Upcast() }))
				}
			}
		})
	}
	parse.log(t, "Parse")
	upcast.log(t, "Upcast of what both accept")
}

func TestFromEventBridgeMatchesJSONSchema(t *testing.T) {
	t.Parallel()
	voc := schemaVocabulary(t)
	var c tally
	wrap := func(head, detail string) []byte {
		return []byte(`{"version":"0","id":"0d7e3bc1-8e3a-4c5b-b8b0-7e2f1f9c3a11",` + head + `"account":"000000000000","time":"2026-03-14T09:26:53Z","region":"us-east-1","resources":[],"detail":` + detail + `}`)
	}
	for _, s := range samplesOf() {
		t.Run(s.key, func(t *testing.T) {
			typ, src := strings.Split(s.key, ".")[0], SourceOf(Type(strings.Split(s.key, ".")[0]))
			head := fmt.Sprintf(`"detail-type":%q,"source":%q,`, typ, src)
			var muts []mutation
			for _, m := range thin(valueMutations(t, voc, s.doc)) {
				muts = append(muts, mutation{m.name, wrap(head, string(m.doc))})
			}
			for _, m := range thin(byteMutations(s.doc)) {
				muts = append(muts, mutation{m.name, wrap(head, string(m.doc))})
			}
			d := string(s.doc)
			for _, m := range []mutation{
				{"valid", wrap(head, d)},
				{"detail-type differs", wrap(`"detail-type":"OrderShipped2","source":"`+src+`",`, d)},
				{"source differs", wrap(`"detail-type":"`+typ+`","source":"orderflow.elsewhere",`, d)},
				{"detail-type null", wrap(`"detail-type":null,"source":"`+src+`",`, d)},
				{"detail-type a number", wrap(`"detail-type":5,"source":"`+src+`",`, d)},
				{"source an object", wrap(`"detail-type":"`+typ+`","source":{},`, d)},
				{"no head", wrap(``, d)},
				{"Detail-Type key", wrap(`"Detail-Type":"`+typ+`","source":"`+src+`",`, d)},
				{"SOURCE key", wrap(`"detail-type":"`+typ+`","SOURCE":"`+src+`",`, d)},
				{"long-s source key", wrap(`"detail-type":"`+typ+`","ſource":"`+src+`",`, d)},
				{"escaped source key", wrap(`"detail-type":"`+typ+`","\u0073ource":"`+src+`",`, d)},
				{"detail-type repeated, wrong last", wrap(head+`"detail-type":"Nope",`, d)},
				{"detail-type repeated, wrong first", wrap(`"detail-type":"Nope",`+head, d)},
				{"detail repeated, null last", []byte(strings.TrimSuffix(string(wrap(head, d)), "}") + `,"detail":null}`)},
				{"detail repeated, sample last", wrap(head+`"detail":null,`, d)},
				{"Detail key", []byte(strings.Replace(string(wrap(head, d)), `"detail":`, `"Detail":`, 1))},
				{"detail null", wrap(head, `null`)},
				{"detail a string", wrap(head, `"`+strings.ReplaceAll(d, `"`, `\"`)+`"`)},
				{"detail an array", wrap(head, `[]`)},
				{"detail empty object", wrap(head, `{}`)},
				{"no detail", []byte(`{` + strings.TrimSuffix(head, ",") + `}`)},
				{"null", []byte(`null`)},
				{"array", []byte(`[]`)},
				{"string", []byte(`"x"`)},
				{"not JSON", []byte(`nope`)},
				{"trailing garbage", append(wrap(head, d), 'x')},
				{"empty", nil},
			} {
				muts = append(muts, m)
			}
			for _, m := range muts {
				c.compare(t, m.name,
					call(func() (Envelope, error) { return refFromEventBridge(m.doc) }),
					call(func() (Envelope, error) { return FromEventBridge(m.doc) }))
			}
		})
	}
	c.log(t, "FromEventBridge")
}

func TestNewMatchesJSONSchema(t *testing.T) {
	t.Parallel()
	voc := schemaVocabulary(t)
	var c tally
	rng := rand.New(rand.NewSource(1))
	for _, s := range samplesOf() {
		t.Run(s.key, func(t *testing.T) {
			base, err := Parse(s.doc)
			if err != nil {
				t.Fatal(err)
			}
			type args struct {
				t                      Type
				version                int
				source, orderID        string
				seq                    int
				correlation, causation string
				payload                any
				now                    time.Time
			}
			a0 := args{base.Type, base.Version, base.Source, base.OrderID, base.Sequence, base.CorrelationID, base.CausationID, base.Payload, base.Time}
			if base.Sequence == 1 {
				a0.correlation = ""
			}
			var cases []struct {
				name string
				a    args
			}
			addCase := func(name string, a args) {
				cases = append(cases, struct {
					name string
					a    args
				}{name, a})
			}
			addCase("sample", a0)
			// each argument varied alone
			variants := map[string][]func(a *args){}
			for _, typ := range append(Types(), "Nope", "") {
				variants["type"] = append(variants["type"], func(a *args) { a.t = typ })
			}
			for _, v := range []int{-1, 0, 1, 2, 3, 4} {
				variants["version"] = append(variants["version"], func(a *args) { a.version = v })
			}
			for _, src := range []string{SourceOrders, SourceInventory, SourcePayments, SourceShipping, SourceFulfilment, "", "x", "orderflow.orders\xff"} {
				variants["source"] = append(variants["source"], func(a *args) { a.source = src })
			}
			for _, o := range []string{base.OrderID, "ORD-1b4e28ba-2fa1-41d2-883f-0016d3cca427", "", "ORD-x", base.OrderID + "\xff", "ORD-1b4e28ba-2fa1-41d2-883f-0016d3cca42\xff"} {
				variants["orderID"] = append(variants["orderID"], func(a *args) { a.orderID = o })
			}
			for _, n := range []int{-1, 0, 1, 2, 5, 1 << 40} {
				variants["seq"] = append(variants["seq"], func(a *args) { a.seq = n })
			}
			for _, id := range []string{"", base.CorrelationID, ID(base.OrderID, 1), ID(base.OrderID, 2), "bad", "\xff", strings.ToUpper(ID(base.OrderID, 1))} {
				variants["correlation"] = append(variants["correlation"], func(a *args) { a.correlation = id })
				variants["causation"] = append(variants["causation"], func(a *args) { a.causation = id })
			}
			for _, tm := range []time.Time{{}, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
				time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC), time.Date(0, 1, 1, 0, 0, 0, 0, time.FixedZone("X", 3600)),
				time.Date(2026, 3, 14, 9, 26, 53, 123_456_789, time.FixedZone("CET", 3600))} {
				variants["now"] = append(variants["now"], func(a *args) { a.now = tm })
			}
			payloads := []struct {
				name string
				p    any
			}{
				{"nil raw", json.RawMessage(nil)}, {"empty raw", json.RawMessage{}}, {"raw with spaces", json.RawMessage(" \n" + string(base.Payload) + "\t ")},
				{"raw not JSON", json.RawMessage(`{"orderId":`)}, {"raw two values", json.RawMessage(`{} {}`)}, {"raw null", json.RawMessage(`null`)},
				{"nil", nil}, {"chan", make(chan int)}, {"map", decodeJSON(t, base.Payload)}, {"string", "x"},
				{"raw with HTML", json.RawMessage(strings.Replace(string(base.Payload), `"orderId"`, `"x<&>":1,"orderId"`, 1))},
			}
			for _, p := range payloads {
				variants["payload "+p.name] = append(variants["payload "+p.name], func(a *args) { a.payload = p.p })
			}
			// the payload mutations of the sample, as raw JSON
			for _, m := range thin(valueMutations(t, voc, s.doc)) {
				if !strings.HasPrefix(m.name, "/payload") {
					continue
				}
				var doc map[string]json.RawMessage
				if json.Unmarshal(m.doc, &doc) != nil {
					continue
				}
				raw := doc["payload"]
				variants["payload"] = append(variants["payload"], func(a *args) { a.payload = raw })
			}
			names := sortedKeys(variants)
			for _, name := range names {
				for i, f := range variants[name] {
					a := a0
					f(&a)
					addCase(fmt.Sprintf("%s #%d", name, i), a)
				}
			}
			// and random pairs
			for i := 0; i < 300; i++ {
				a := a0
				var desc []string
				for range 2 {
					name := names[rng.Intn(len(names))]
					j := rng.Intn(len(variants[name]))
					variants[name][j](&a)
					desc = append(desc, fmt.Sprintf("%s #%d", name, j))
				}
				addCase(strings.Join(desc, " + "), a)
			}
			for _, tc := range cases {
				a := tc.a
				spec := Spec{Type: a.t, Version: a.version, Source: a.source, OrderID: a.orderID, Sequence: a.seq, CorrelationID: a.correlation, CausationID: a.causation, Payload: a.payload, Time: a.now}
				c.compare(t, tc.name,
					call(func() (Envelope, error) { return refNew(spec) }),
					call(func() (Envelope, error) { return New(spec) }))
			}
		})
	}
	c.log(t, "New")
}

// Upcast of envelopes that did not come from Parse: its re-validation must still say what
// marshalling and parsing said.
func TestUpcastMatchesJSONSchema(t *testing.T) {
	var c tally
	for _, v := range []int{1, 2} {
		base, err := Parse(Sample(TypeOrderPlaced, v))
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			f    func(e *Envelope)
		}{
			{"as parsed", func(*Envelope) {}},
			{"year 10000", func(e *Envelope) { e.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
			{"zero time", func(e *Envelope) { e.Time = time.Time{} }},
			{"odd zone", func(e *Envelope) { e.Time = e.Time.In(time.FixedZone("odd", 5*3600+1)) }},
			{"payload not JSON", func(e *Envelope) { e.Payload = json.RawMessage(`{`) }},
			{"payload with an unknown field", func(e *Envelope) {
				e.Payload = json.RawMessage(strings.Replace(string(e.Payload), `{`, `{"x":1,`, 1))
			}},
			{"invalid UTF-8 source", func(e *Envelope) { e.Source += "\xff" }},
			{"another order", func(e *Envelope) { e.OrderID = "ORD-1b4e28ba-2fa1-41d2-883f-0016d3cca427" }},
			{"causation set", func(e *Envelope) { e.CausationID = e.ID }},
			{"sequence 2", func(e *Envelope) { e.Sequence = 2 }},
			{"version 7", func(e *Envelope) { e.Version = 7 }},
			{"bad customer", func(e *Envelope) {
				e.Payload = json.RawMessage(strings.Replace(string(e.Payload), `"customerId": "`, `"customerId": " `, 1))
			}},
		} {
			e := base
			tc.f(&e)
			c.compare(t, fmt.Sprintf("v%d %s", v, tc.name),
				call(func() (Envelope, error) { return refUpcast(e) }),
				call(func() (Envelope, error) { return e.Upcast() }))
		}
	}
	c.log(t, "Upcast")
}

// FuzzParseMatchesJSONSchema: go test ./events -run '^$' -fuzz FuzzParseMatchesJSONSchema
func FuzzParseMatchesJSONSchema(f *testing.F) {
	for _, s := range samplesOf() {
		f.Add(s.doc)
		var compact bytes.Buffer
		_ = json.Compact(&compact, s.doc)
		f.Add(compact.Bytes())
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		var c tally
		c.compare(t, "fuzz", call(func() (Envelope, error) { return refParse(doc) }), call(func() (Envelope, error) { return Parse(doc) }))
		if utf8.Valid(doc) && len(doc) > 0 && doc[0] == '{' {
			raw := []byte(`{"detail-type":"OrderPlaced","source":"orderflow.orders","detail":` + string(doc) + `}`)
			c.compare(t, "fuzz in an EventBridge event",
				call(func() (Envelope, error) { return refFromEventBridge(raw) }),
				call(func() (Envelope, error) { return FromEventBridge(raw) }))
		}
	})
}

type payloadDecoder struct {
	name     string
	now, ref func(Envelope) (any, error)
}

func decoderFor[T any]() payloadDecoder {
	var zero T
	return payloadDecoder{
		name: fmt.Sprintf("%T", zero),
		now:  func(e Envelope) (any, error) { return DecodePayload[T](e) },
		ref:  func(e Envelope) (any, error) { return refDecodePayload[T](e) },
	}
}

// DecodePayload's fast path decodes what encoding/json decodes, and leaves the rest to it: every
// payload type on the payload of every sample and of every mutation of it.
func TestDecodePayloadMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	decoders := []payloadDecoder{
		decoderFor[OrderPlacedV1](), decoderFor[OrderPlacedV2](), decoderFor[OrderPlacedV3](), decoderFor[InventoryReserved](),
		decoderFor[InventoryReleased](), decoderFor[PaymentApproved](), decoderFor[PaymentDeclined](), decoderFor[PaymentRefunded](),
		decoderFor[OrderConfirmed](), decoderFor[OrderShipped](), decoderFor[OrderCancelled](),
		decoderFor[struct {
			OrderID string `json:"orderId"`
		}](),
	}
	voc := schemaVocabulary(t)
	var cases, fast, errs int
	for _, s := range samplesOf() {
		base, err := Parse(s.doc)
		if err != nil {
			t.Fatal(err)
		}
		payloads := [][]byte{base.Payload, []byte(" " + string(base.Payload) + " x"), nil, []byte(`null`), []byte(`[]`)}
		for _, m := range thin(valueMutations(t, voc, s.doc)) {
			var doc map[string]json.RawMessage
			if strings.HasPrefix(m.name, "/payload") && json.Unmarshal(m.doc, &doc) == nil {
				payloads = append(payloads, doc["payload"])
			}
		}
		for _, m := range thin(byteMutations(base.Payload)) {
			payloads = append(payloads, m.doc)
		}
		for _, p := range payloads {
			e := base
			e.Payload = p
			for _, dec := range decoders {
				cases++
				got, gotErr := dec.now(e)
				want, wantErr := dec.ref(e)
				if !reflect.DeepEqual(got, want) || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
					t.Errorf("%s of %s payload %q:\ngot  %#v, %v\nwant %#v, %v", dec.name, s.key, p, got, gotErr, want, wantErr)
				}
				if wantErr != nil {
					errs++
				}
			}
			var v OrderPlacedV3
			if fastDecode(p, &v) {
				fast++
			}
		}
	}
	t.Logf("DecodePayload: %d cases (%d errors); %d payloads decoded on the fast path as OrderPlacedV3", cases, errs, fast)
}

// FuzzDecodePayload: go test ./events -run '^$' -fuzz FuzzDecodePayload
func FuzzDecodePayload(f *testing.F) {
	for _, s := range samplesOf() {
		e, err := Parse(s.doc)
		if err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(e.Payload))
	}
	decoders := []payloadDecoder{decoderFor[OrderPlacedV3](), decoderFor[OrderPlacedV1](), decoderFor[InventoryReleased](), decoderFor[PaymentRefunded]()}
	f.Fuzz(func(t *testing.T, payload []byte) {
		e := Envelope{Type: TypeOrderPlaced, Version: 3, Payload: payload}
		for _, dec := range decoders {
			got, gotErr := dec.now(e)
			want, wantErr := dec.ref(e)
			if !reflect.DeepEqual(got, want) || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
				t.Errorf("%s of %q:\ngot  %#v, %v\nwant %#v, %v", dec.name, payload, got, gotErr, want, wantErr)
			}
		}
	})
}

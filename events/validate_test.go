package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/orderflow-dev/orderflow/schemas"
)

// schemaFS is a copy of the schemas with edit applied to the decoded document of file.
func schemaFS(t *testing.T, file string, edit func(doc map[string]any)) fs.FS {
	t.Helper()
	out := fstest.MapFS{}
	eachSchemaFile(t, func(f string, b []byte) {
		if f == file {
			doc := decodeJSON(t, b).(map[string]any)
			edit(doc)
			var err error
			if b, err = json.Marshal(doc); err != nil {
				t.Fatal(err)
			}
		}
		out[f] = &fstest.MapFile{Data: b}
	})
	return out
}

// eachSchemaFile calls f with the name and bytes of each schema file, in name order.
func eachSchemaFile(t testing.TB, f func(name string, b []byte)) {
	t.Helper()
	files, err := fs.Glob(schemas.FS, "*.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		b, err := schemas.FS.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f(name, b)
	}
}

func defOf(doc map[string]any, name string) map[string]any {
	return doc["$defs"].(map[string]any)[name].(map[string]any)
}

// MaxLineQuantity is the schemas' quantity maximum.
func TestMaxLineQuantity(t *testing.T) {
	raw, err := schemas.FS.ReadFile("envelope.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if max := defOf(doc, "quantity")["maximum"]; max != float64(MaxLineQuantity) {
		t.Errorf("the schemas' quantity maximum is %v, MaxLineQuantity %d", max, MaxLineQuantity)
	}
}

func TestSchemasCompile(t *testing.T) {
	all, err := compiled()
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range Types() {
		for v := 1; v <= LatestVersion(typ); v++ {
			if all[typ][v] == nil {
				t.Errorf("no schema for %s v%d", typ, v)
			}
		}
	}
}

// A keyword the validator does not know fails compilation, so that no schema change is
// silently ignored; so do the forms of known keywords it does not support.
func TestSchemaKeywordsAreKnown(t *testing.T) {
	const envelope = "envelope.schema.json"
	set := func(def, kw string, v any) func(map[string]any) {
		return func(doc map[string]any) { defOf(doc, def)[kw] = v }
	}
	cases := []struct {
		name string
		file string
		edit func(doc map[string]any)
		want string // "" = compiles
	}{
		{"annotations", envelope, func(doc map[string]any) {
			d := defOf(doc, "sku")
			d["title"], d["$comment"], d["x-owner"], d["examples"], d["deprecated"] = "SKU", "c", "team", []any{"SKU-001"}, false
		}, ""},
		{"a typo", envelope, set("sku", "patern", "^x$"), `"patern"`},
		{"uniqueItems", envelope, set("stockLines", "uniqueItems", true), `"uniqueItems"`},
		{"multipleOf", envelope, set("cents", "multipleOf", json.Number("5")), `"multipleOf"`},
		{"exclusiveMinimum", envelope, set("cents", "exclusiveMinimum", json.Number("0")), `"exclusiveMinimum"`},
		{"oneOf", envelope, set("sku", "oneOf", []any{map[string]any{}}), `"oneOf"`},
		{"if", envelope, set("sku", "if", map[string]any{}), `"if"`},
		{"not", envelope, set("sku", "not", map[string]any{}), `"not"`},
		{"prefixItems", envelope, set("stockLines", "prefixItems", []any{}), `"prefixItems"`},
		{"contains", envelope, set("stockLines", "contains", map[string]any{}), `"contains"`},
		{"minProperties", envelope, set("stockLines", "minProperties", json.Number("1")), `"minProperties"`},
		{"propertyNames", envelope, set("stockLines", "propertyNames", map[string]any{}), `"propertyNames"`},
		{"patternProperties", envelope, set("stockLines", "patternProperties", map[string]any{}), `"patternProperties"`},
		{"dependentRequired", envelope, set("stockLines", "dependentRequired", map[string]any{}), `"dependentRequired"`},
		{"unevaluatedProperties", envelope, set("stockLines", "unevaluatedProperties", false), `"unevaluatedProperties"`},
		{"$anchor", envelope, set("sku", "$anchor", "sku"), `"$anchor"`},
		{"$dynamicRef", envelope, set("sku", "$dynamicRef", "#x"), `"$dynamicRef"`},
		{"contentEncoding", envelope, set("sku", "contentEncoding", "base64"), `"contentEncoding"`},
		{"a format other than date-time", envelope, set("uuid", "format", "uuid"), "format uuid"},
		{"additionalProperties as a schema", envelope, set("stockLines", "additionalProperties", map[string]any{}), "additionalProperties"},
		{"additionalProperties true", envelope, set("stockLines", "additionalProperties", true), "additionalProperties"},
		{"items as an array", envelope, set("stockLines", "items", []any{}), "items"},
		{"a non-string enum", envelope, set("sku", "enum", []any{json.Number("1")}), "enum"},
		{"an object const", envelope, set("sku", "const", map[string]any{}), "const"},
		{"an unknown type", envelope, set("sku", "type", "text"), "unknown type"},
		{"a bad pattern", envelope, set("sku", "pattern", "("), "pattern"},
		{"a fractional minLength", envelope, set("sku", "minLength", json.Number("1.5")), "minLength"},
		{"a nested $id", envelope, set("sku", "$id", "urn:x"), "$id"},
		{"a $ref to nothing", "OrderShipped.v1.schema.json", func(doc map[string]any) {
			defOf(doc, "payload")["properties"].(map[string]any)["carrier"] = map[string]any{"$ref": "urn:orderflow:schema:envelope#/$defs/carrier"}
		}, "carrier"},
		{"a $ref to an anchor", "OrderShipped.v1.schema.json", func(doc map[string]any) {
			defOf(doc, "payload")["properties"].(map[string]any)["carrier"] = map[string]any{"$ref": "#carrier"}
		}, "$ref"},
		{"another draft", "OrderShipped.v1.schema.json", func(doc map[string]any) {
			doc["$schema"] = "http://json-schema.org/draft-07/schema#"
		}, "draft"},
		{"an unknown keyword in an unreferenced definition", "OrderShipped.v1.schema.json", func(doc map[string]any) {
			doc["$defs"].(map[string]any)["spare"] = map[string]any{"maxContains": json.Number("1")}
		}, `"maxContains"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := compileSchemas(schemaFS(t, tc.file, tc.edit))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("compile: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("compiled; want an error naming %s", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %q does not name %s", err, tc.want)
			}
		})
	}
}

func countChildren(d *jsonDoc, n int32) int {
	k := 0
	for c := d.nodes[n].first; c != 0; c = d.nodes[c].next {
		k++
	}
	return k
}

// checkReader holds the reader to encoding/json on src: the same verdict, the same values,
// each container's span its raw JSON.
func checkReader(t *testing.T, src []byte) {
	t.Helper()
	var want any
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	wantErr := dec.Decode(&want)
	if wantErr == nil {
		if _, err := dec.Token(); err == nil || err.Error() != "EOF" {
			wantErr = fmt.Errorf("data after the value")
		}
	}
	d, err := parseJSON(src)
	if (err == nil) != (wantErr == nil) || json.Valid(src) != (err == nil) {
		t.Fatalf("%q: reader error %v, encoding/json %v", src, err, wantErr)
	}
	if err != nil {
		return
	}
	for i := range d.nodes {
		if nd := &d.nodes[i]; (nd.kind == jsonArray || nd.kind == jsonObject) && int(nd.n) != countChildren(d, int32(i)) {
			t.Fatalf("%q: node %d counts %d children, has %d", src, i, nd.n, countChildren(d, int32(i)))
		}
	}
	if got := d.value(0); !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: read %#v, encoding/json %#v", src, got, want)
	}
	for i := range d.nodes {
		nd := &d.nodes[i]
		if (nd.kind == jsonObject || nd.kind == jsonArray) && len(d.nodes) < 1000 {
			var raw json.RawMessage
			if err := json.Unmarshal(d.src[nd.start:nd.end], &raw); err != nil {
				t.Fatalf("%q: span of node %d is not its value: %v", src, i, err)
			}
		}
		if nd.kind == jsonNumber && nd.flags&flagPlain != 0 && bytes.ContainsAny(d.text(int32(i)), ".eE") {
			t.Fatalf("%q: %s read as a plain integer", src, d.text(int32(i)))
		}
	}
}

var readerCorpus = []string{
	``, ` `, `{}`, `[]`, `null`, `true`, `false`, `nul`, `truex`, `0`, `-0`, `01`, `-`, `1.`, `.5`, `1e`, `1e+`, `1E-2`, `-1.5e+10`,
	`"`, `""`, `"\"`, `"\\"`, `"\u00e9"`, `"\u00E9"`, `"\u00g9"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ude00"`, `"\ud83dx"`,
	`"\ud83d\u0041"`, `"\x"`, "\"\x01\"", "\"\x7f\"", "\"\xff\"", "\"\xc3\xa9\"", "\"\xc3\"", "\"\xed\xa0\x80\"", `"\/"`,
	`{"a":1,"a":2}`, `{"a":1,}`, `{,}`, `{"a"}`, `{"a":}`, `{"a" 1}`, `{1:2}`, `[1,]`, `[,1]`, `[1 2]`, `[1]]`, `{}}`,
	"{\"a\":\t[ 1 ,\r\n2 ] }", `{"a":{"b":[{"c":null}]}}`, "\ufeff{}", "{}\x00", `{} {}`, `{}x`, `"\u0000"`,
	`{"\u0061":1,"a":2}`, `{"":1}`, `[[[[[]]]]]`, strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000), strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000),
}

func TestReaderMatchesEncodingJSON(t *testing.T) {
	for _, s := range readerCorpus {
		checkReader(t, []byte(s))
	}
	for _, s := range Samples() {
		checkReader(t, s)
		for i := range s {
			checkReader(t, s[:i])
		}
	}
}

func FuzzReader(f *testing.F) {
	for _, s := range readerCorpus[:len(readerCorpus)-3] {
		f.Add([]byte(s))
	}
	for _, s := range Samples() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src []byte) { checkReader(t, src) })
}

// checkDecimal holds decimal to math/big, which jsonschema compared numbers with.
func checkDecimal(t *testing.T, lit string) {
	t.Helper()
	d := parseDecimal([]byte(lit))
	r, ok := new(big.Rat).SetString(lit)
	if d.ok != ok {
		t.Fatalf("%s: ok = %v, math/big %v", lit, d.ok, ok)
	}
	if !ok {
		return
	}
	if d.isInt() != r.IsInt() {
		t.Fatalf("%s: isInt = %v, math/big %v", lit, d.isInt(), r.IsInt())
	}
	for _, b := range []string{"0", "1", "-1", "2", "50", "100", "128", "9223372036854775807", "0.5", "-0.25", "1e20"} {
		rb, _ := new(big.Rat).SetString(b)
		if got, want := d.cmp(parseDecimal([]byte(b))), r.Cmp(rb); got != want {
			t.Fatalf("%s cmp %s = %d, math/big %d", lit, b, got, want)
		}
	}
	if n, ok := plainInt([]byte(lit)); ok && !strings.ContainsAny(lit, ".eE") && big.NewRat(n, 1).Cmp(r) != 0 {
		t.Fatalf("%s: plainInt = %d", lit, n)
	}
}

var decimalCorpus = []string{"0", "-0", "0.0", "-0.0", "1", "-1", "1.0", "1.5", "0.5", "10", "100", "1e2", "1E2", "1e+2", "1e-2",
	"100e-2", "120e-1", "123e-1", "0.000", "1.000000000000000000001", "12345678901234567890", "-12345678901234567890",
	"999999999999999999", "1000000000000000000", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
	"1e400", "1e1000", "1e1000000", "1e1000001", "1e-1000000", "1e-1000001", "0e1000001", "0e99999999999999999999",
	"1e99999999999999999999", "1e-9223372036854775808", "0.1e1000001", "1.5e-1", "50.0", "49.99", "50.01", "2e0", "0.2e1"}

func TestDecimal(t *testing.T) {
	for _, s := range decimalCorpus {
		checkDecimal(t, s)
	}
}

func FuzzDecimal(f *testing.F) {
	for _, s := range decimalCorpus {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, lit string) {
		d, err := parseJSON([]byte(lit))
		if err != nil || d.nodes[0].kind != jsonNumber || strings.ContainsAny(lit, " \t\r\n") {
			return
		}
		checkDecimal(t, lit)
	})
}

// Every pattern of the schemas matches with atoms, and as regexp does.
func TestPatternsMatchAsRegexp(t *testing.T) {
	var patterns []string
	schemaMembers(t, func(k string, v any) {
		if p, ok := v.(string); ok && k == "pattern" {
			patterns = append(patterns, p)
		}
	})
	if len(patterns) == 0 {
		t.Fatal("no patterns")
	}
	for _, p := range patterns {
		c, err := compilePattern(p)
		if err != nil {
			t.Fatal(err)
		}
		if c.atoms == nil {
			t.Errorf("%s is matched with regexp", p)
		}
	}
	for _, p := range append(patterns, "^[a-z]{1,5}[a-z]$", "^a*b?$", "^[^a]$", "(?i)^a$", "^a", "a$", "^(ab)+$", "^é$", "^[a-c]+?$", "^x{2,}y$") {
		c, err := compilePattern(p)
		if err != nil {
			t.Fatal(err)
		}
		re := regexp.MustCompile(p)
		for _, s := range patternProbes {
			if got, want := c.match([]byte(s)), re.MatchString(s); got != want {
				t.Errorf("%s on %q: %v, regexp %v", p, s, got, want)
			}
		}
	}
}

var patternProbes = []string{"", "a", "ab", "abc", "abcdef", "aaaaab", "b", "x", "xxy", "xy", "é", "A", "SKU-001", "SKU-0", "SKU-0123456789ABCDEF",
	"SKU-0123456789ABCDEFG", "sku-001", "ORD-7c9e6679-7425-40de-944b-e07fc1f90ae7", "997fa3dc-9879-58dd-81c1-9135c3aab2d0",
	"997fa3dc-9879-58dd-81c1-9135c3aab2d", "pi_8f14e45fceea167a5a36dedd4bea2543", "USD", "US", "USDX", "usd", "card-declined",
	"Card-declined", "-x", "OrderPlaced", "O", "tok_visa", "tok visa", "a@b.c", "SKU-001\n", "\nSKU-001", "SKU-é01"}

func FuzzPattern(f *testing.F) {
	for _, s := range patternProbes {
		f.Add(s)
	}
	var compiledPatterns []*pattern
	var regexps []*regexp.Regexp
	for _, p := range []string{"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", "^SKU-[A-Z0-9]{3,16}$",
		"^[A-Za-z0-9._@+:-]{1,128}$", "^[a-z][a-z0-9-]{0,63}$", "^[A-Z][A-Za-z]{1,63}$", "^pi_[0-9a-f]{32}$", "^a*b?$", "^x{2,}y$"} {
		c, err := compilePattern(p)
		if err != nil || c.atoms == nil {
			f.Fatalf("%s: %v", p, err)
		}
		compiledPatterns = append(compiledPatterns, c)
		regexps = append(regexps, regexp.MustCompile(p))
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return // the validator matches decoded JSON strings only
		}
		for i, c := range compiledPatterns {
			if got, want := c.match([]byte(s)), regexps[i].MatchString(s); got != want {
				t.Errorf("%s on %q: %v, regexp %v", c.src, s, got, want)
			}
		}
	})
}

// ID is uuid.NewSHA1 written out.
func TestIDIsUUIDv5(t *testing.T) {
	for _, o := range []string{"", "ORD-7c9e6679-7425-40de-944b-e07fc1f90ae7", "é\xff", strings.Repeat("x", 200)} {
		for _, seq := range []int{-1, 0, 1, 2, 99, 100, 1 << 40} {
			want := uuid.NewSHA1(idNamespace, []byte(o+"/"+strconv.Itoa(seq))).String()
			if got := ID(o, seq); got != want {
				t.Errorf("ID(%q, %d) = %s, want %s", o, seq, got, want)
			}
		}
	}
}

// BenchmarkCompileSchemas is what the first Parse, New or FromEventBridge of a cold start pays.
func BenchmarkCompileSchemas(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := compileSchemas(schemas.FS); err != nil {
			b.Fatal(err)
		}
	}
}

// An amount past 2^53 - 1 is refused where it stands: every JSON reader keeps such integers
// exactly, and none above (nor Go's int64 past 2^63 - 1, which a stored event could then never
// be read back into).
func TestAmountsStayExact(t *testing.T) {
	sample := string(Sample(TypeOrderPlaced, 3))
	total := regexp.MustCompile(`"totalCents": *\d+`)
	if !total.MatchString(sample) {
		t.Fatal("the OrderPlaced v3 sample has no totalCents")
	}
	for n, ok := range map[string]bool{"9007199254740991": true, "9007199254740992": false, "99999999999999999999": false} {
		_, err := Parse([]byte(total.ReplaceAllString(sample, `"totalCents": `+n)))
		var ve *ValidationError
		switch {
		case ok && errors.As(err, &ve) && slices.ContainsFunc(ve.Problems, func(p Problem) bool { return p.Path == "/payload/totalCents" }):
			t.Errorf("totalCents %s: refused (%v)", n, err)
		case !ok && (!errors.As(err, &ve) || !slices.ContainsFunc(ve.Problems, func(p Problem) bool { return p.Path == "/payload/totalCents" })):
			t.Errorf("totalCents %s: %v, want it refused at /payload/totalCents", n, err)
		}
	}
}

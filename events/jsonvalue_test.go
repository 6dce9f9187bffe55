package events

import (
	"encoding/json"
	"testing"
)

func TestReadJSON(t *testing.T) {
	doc := []byte(` {"detail": {"orderId": "o-1", "n": [1, {"a": null}], "orderId": "o-\u00e9"},
		"state": "s\"q", "none": null, "num": -1.5e3} `)
	v, err := ReadJSON(doc)
	if err != nil || !v.Exists() || !v.IsObject() {
		t.Fatalf("ReadJSON = %v, %v", v, err)
	}
	detail := v.Member("detail")
	for _, c := range []struct {
		name      string
		got, want string
	}{
		{"a container as written", string(detail.Member("n").Raw()), `[1, {"a": null}]`},
		{"the last of a repeated key, decoded", detail.Member("orderId").Str(), "o-é"},
		{"a string as written, quotes included", string(v.Member("state").Raw()), `"s\"q"`},
		{"a string decoded", v.Member("state").Str(), `s"q`},
		{"a number as written", string(v.Member("num").Raw()), "-1.5e3"},
		{"no string: empty", v.Member("num").Str(), ""},
		{"null as written", string(v.Member("none").Raw()), "null"},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
	if !v.Member("none").Exists() || v.Member("none").IsObject() {
		t.Error("a null member is present and no object")
	}
	for name, absent := range map[string]JSONValue{
		"a missing key":                v.Member("Detail"),
		"a member of a string":         v.Member("state").Member("x"),
		"a member of an absent value":  v.Member("missing").Member("x"),
		"a member of an array element": detail.Member("n").Member("a"),
	} {
		if absent.Exists() || absent.Raw() != nil || absent.Str() != "" || absent.IsObject() {
			t.Errorf("%s: present (%q)", name, absent.Raw())
		}
	}
	// Whatever json.Unmarshal refuses, ReadJSON refuses, with its words.
	for _, bad := range []string{``, `{"a":1`, `{"a":1}}`, `[1,]`, `{'a':1}`} {
		_, err := ReadJSON([]byte(bad))
		var raw json.RawMessage
		want := json.Unmarshal([]byte(bad), &raw)
		if err == nil || want == nil || err.Error() != want.Error() {
			t.Errorf("ReadJSON(%q) = %v, json.Unmarshal says %v", bad, err, want)
		}
	}
}

// A value's Raw is the document's bytes, but appending to it must not write into the document
// (as appending to the json.RawMessage that json.Unmarshal copies out does not).
func TestReadJSONRawAppend(t *testing.T) {
	doc := []byte(`{"a":{"x":1},"b":"y"}`)
	v, err := ReadJSON(doc)
	if err != nil {
		t.Fatal(err)
	}
	a := v.Member("a").Raw()
	_ = append(a, `!!`...)
	if got := string(v.Raw()); got != `{"a":{"x":1},"b":"y"}` || !json.Valid(v.Raw()) {
		t.Errorf("after appending to a member's Raw, the document reads %s", got)
	}
}

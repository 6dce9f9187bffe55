package events

import (
	"encoding/json"
	"errors"
	"testing"
)

// Upcasting, for any event Parse accepts: the result is the latest version of the same event (id,
// order, sequence, correlation, causation and time kept), valid by itself (it parses back to
// itself), and a second Upcast changes nothing; or Upcast refuses with a *ValidationError. It
// never panics, whatever the fuzzer makes of the samples.
func FuzzUpcast(f *testing.F) {
	for _, s := range samplesOf() {
		f.Add(s.doc)
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		e, err := Parse(doc)
		if err != nil {
			return
		}
		up, err := e.Upcast()
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Upcast of a parsed %s v%d: %v, want a *ValidationError", e.Type, e.Version, err)
			}
			return
		}
		if up.Type != e.Type || up.Version != LatestVersion(e.Type) {
			t.Fatalf("Upcast of %s v%d = %s v%d, want v%d", e.Type, e.Version, up.Type, up.Version, LatestVersion(e.Type))
		}
		if up.ID != e.ID || up.OrderID != e.OrderID || up.Sequence != e.Sequence || up.CorrelationID != e.CorrelationID ||
			up.CausationID != e.CausationID || !up.Time.Equal(e.Time) || up.Source != e.Source {
			t.Fatalf("Upcast changed the envelope: %+v → %+v", e, up)
		}
		b, err := json.Marshal(up)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Parse(b)
		if err != nil {
			t.Fatalf("the upcast event does not parse: %v\n%s", err, b)
		}
		again, err := back.Upcast()
		if err != nil {
			t.Fatalf("Upcast of an upcast event: %v", err)
		}
		b2, _ := json.Marshal(again)
		if string(b2) != string(b) {
			t.Fatalf("a second Upcast changed the event:\n%s\n%s", b, b2)
		}
	})
}

package fnlogs

import "testing"

// A line is matched in either format the functions' lines come in, on its message and every
// attribute asked for.
func TestSays(t *testing.T) {
	const (
		json = `{"time":"2026-12-04T01:00:00Z","level":"INFO","msg":"message done","messageId":"m-1","orderId":"ORD-1","action":"charge"}`
		// Lambda's JSON format names the message "message"; a prefix before the object is skipped.
		lambdaJSON = `2026-12-04T01:00:00Z {"level":"INFO","message":"message done","orderId":"ORD-1","action":"charge"}`
		text       = `time=2026-12-04T01:00:00.000Z level=INFO msg="message done" messageId=m-1 orderId=ORD-1 action=charge`
	)
	for _, tc := range []struct {
		name, line, msg string
		attrs           []string
		want            bool
	}{
		{"JSON", json, "message done", []string{"orderId", "ORD-1", "action", "charge"}, true},
		{"Lambda's JSON", lambdaJSON, "message done", []string{"orderId", "ORD-1", "action", "charge"}, true},
		{"text", text, "message done", []string{"orderId", "ORD-1", "action", "charge"}, true},
		{"JSON, another message", json, "message parked", nil, false},
		{"text, another message", text, "message parked", nil, false},
		{"JSON, another value", json, "message done", []string{"action", "refund"}, false},
		{"text, another value", text, "message done", []string{"action", "refund"}, false},
		{"text, a value's prefix only", text, "message done", []string{"orderId", "ORD"}, false},
		{"JSON, an attribute missing", json, "message done", []string{"eventId", "e-1"}, false},
		{"text, an attribute missing", text, "message done", []string{"eventId", "e-1"}, false},
	} {
		if got := Says(tc.line, tc.msg, tc.attrs...); got != tc.want {
			t.Errorf("%s: Says(%q, %v) = %v, want %v", tc.name, tc.msg, tc.attrs, got, tc.want)
		}
	}
}

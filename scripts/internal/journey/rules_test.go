package journey

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestMatchPattern(t *testing.T) {
	event := `{"version":"0","id":"b1","detail-type":"OrderShipped","source":"orderflow.shipping","account":"000000000000",
		"time":"2026-11-26T10:30:00Z","region":"us-east-1","resources":["arn:a","arn:b"],
		"detail":{"orderId":"ORD-1","sequence":5,"payload":{"carrier":"ACME Parcel"}}}`
	for _, tc := range []struct {
		pattern string
		want    bool
		err     string
	}{
		{`{"source":["orderflow.shipping"]}`, true, ""},
		{`{"source":["orderflow.orders"]}`, false, ""},
		{`{"detail-type":["OrderPlaced","OrderShipped"],"source":["orderflow.shipping"]}`, true, ""},
		{`{"detail-type":["OrderPlaced"],"source":["orderflow.shipping"]}`, false, ""},
		{`{"detail":{"payload":{"carrier":["ACME Parcel"]}}}`, true, ""},
		{`{"detail":{"payload":{"carrier":["Other"]}}}`, false, ""},
		{`{"detail":{"sequence":[5]}}`, true, ""},
		{`{"detail":{"sequence":[{"numeric":[">",3,"<=",5]}]}}`, true, ""},
		{`{"detail":{"sequence":[{"numeric":["<",5]}]}}`, false, ""},
		{`{"detail":{"orderId":[{"prefix":"ORD-"}]}}`, true, ""},
		{`{"detail":{"orderId":[{"suffix":"-1"}]}}`, true, ""},
		{`{"detail-type":[{"equals-ignore-case":"ordershipped"}]}`, true, ""},
		{`{"detail-type":[{"anything-but":["OrderPlaced"]}]}`, true, ""},
		{`{"detail-type":[{"anything-but":"OrderShipped"}]}`, false, ""},
		{`{"detail-type":[{"anything-but":{"prefix":"Order"}}]}`, false, ""},
		{`{"detail":{"reason":[{"exists":false}]}}`, true, ""},
		{`{"detail":{"reason":[{"exists":true}]}}`, false, ""},
		{`{"detail":{"orderId":[{"exists":true}]}}`, true, ""},
		{`{"resources":["arn:b"]}`, true, ""},
		{`{"detail":{"missing":{"deeper":["x"]}}}`, false, ""},
		{`{"detail":{"orderId":[{"wildcard":"ORD-*"}]}}`, false, "not supported"},
		{`{"source":"orderflow.shipping"}`, false, "must be an object or an array"},
	} {
		got, err := MatchPattern([]byte(tc.pattern), []byte(event))
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: error %v, want one saying %q", tc.pattern, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.pattern, err)
		case got != tc.want:
			t.Errorf("%s: matched %v, want %v", tc.pattern, got, tc.want)
		}
	}
}

func TestBusEventRebuildsTheEnvelope(t *testing.T) {
	c := &Collector{reg: "eu-west-1"}
	e := Event{ID: "e1", Type: "OrderPlaced", Source: "orderflow.orders", Time: t0, Detail: `{"id":"e1","orderId":"ORD-1"}`}
	raw := c.busEvent(e, []Rule{{Targets: []string{"arn:aws:states:eu-west-1:123456789012:stateMachine:x"}}})
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"detail-type": "OrderPlaced", "source": "orderflow.orders", "account": "123456789012",
		"region": "eu-west-1", "time": "2026-11-26T10:30:00Z", "id": "e1"} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	if ok, err := MatchPattern([]byte(`{"detail":{"orderId":["ORD-1"]}}`), raw); !ok || err != nil {
		t.Errorf("the rebuilt event does not carry its detail: %v %v", ok, err)
	}
}

package journey

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
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

// fakeEventBridge answers TestEventPattern as an endpoint would: with the result, or with the
// error of an endpoint that does not implement it.
func fakeEventBridge(t *testing.T, implemented bool) (*eventbridge.Client, *int) {
	t.Helper()
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if target := r.Header.Get("X-Amz-Target"); target != "AWSEvents.TestEventPattern" {
			t.Errorf("unexpected call %s", target)
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if !implemented {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"__type":"UnknownOperationException","message":"TestEventPattern is not supported"}`))
			return
		}
		var in struct{ EventPattern, Event string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			t.Error(err)
		}
		ok, err := MatchPattern([]byte(in.EventPattern), []byte(in.Event))
		if err != nil {
			t.Error(err)
		}
		_ = json.NewEncoder(w).Encode(map[string]bool{"Result": ok})
	}))
	t.Cleanup(srv.Close)
	return eventbridge.New(eventbridge.Options{
		BaseEndpoint: aws.String(srv.URL), Region: "us-east-1", RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}), &calls
}

func TestMatchUsesTestEventPatternOrFallsBackClearly(t *testing.T) {
	rules := []Rule{
		{Short: "OrderPlacedToWorkflow", Pattern: `{"detail-type":["OrderPlaced"],"source":["orderflow.orders"]}`},
		{Short: "OrderEventsToStream", Pattern: `{"source":[{"prefix":"orderflow."}]}`},
	}
	evs := []Event{
		{ID: "e1", Type: "OrderPlaced", Source: "orderflow.orders", Time: t0, Detail: `{"id":"e1"}`},
		{ID: "e2", Type: "InventoryReserved", Source: "orderflow.inventory", Time: t0, Detail: `{"id":"e2"}`},
	}
	want := map[string][]string{"e1": {"OrderPlacedToWorkflow", "OrderEventsToStream"}, "e2": {"OrderEventsToStream"}}
	for _, tc := range []struct {
		name        string
		implemented bool
		check       string
		calls       int
	}{
		{"the endpoint evaluates every pattern", true, RuleCheckAPI, 4},
		{"the endpoint lacks TestEventPattern", false, "local pattern matcher (this endpoint's TestEventPattern failed", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eb, calls := fakeEventBridge(t, tc.implemented)
			c := &Collector{eb: eb, matches: map[string][]string{}}
			got, check := c.match(context.Background(), evs, nil, rules)
			if check != c.ruleCheck {
				t.Errorf("match says %q, the collector %q", check, c.ruleCheck)
			}
			for id, w := range want {
				if !slices.Equal(got[id], w) {
					t.Errorf("%s matched %v, want %v", id, got[id], w)
				}
			}
			saysWhy := strings.Contains(c.ruleCheck, "UnknownOperationException") // the endpoint's own words
			if !strings.HasPrefix(c.ruleCheck, tc.check) || saysWhy == tc.implemented {
				t.Errorf("rule check %q, want it to start with %q and to give the endpoint's error only when it failed", c.ruleCheck, tc.check)
			}
			if *calls != tc.calls {
				t.Errorf("%d calls to TestEventPattern, want %d (after one failure the endpoint is not asked again)", *calls, tc.calls)
			}
			// Matches are cached: a second poll asks nothing.
			before := *calls
			c.match(context.Background(), evs, nil, rules)
			if *calls != before {
				t.Errorf("a second match asked the endpoint %d more times", *calls-before)
			}
		})
	}
}

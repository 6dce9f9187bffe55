package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

// orderflowAPI is the stage and routes the stack deploys (infra/api.go), as MiniStack returns them.
var orderflowAPI = apiSettings{
	Stages: []stage{{
		StageName:            "$default",
		DefaultRouteSettings: &routeSettings{ThrottlingRateLimit: ptr(100.0), ThrottlingBurstLimit: ptr(200)},
		RouteSettings:        map[string]routeSettings{"POST /orders": {ThrottlingRateLimit: ptr(2.0), ThrottlingBurstLimit: ptr(3)}},
	}},
	Routes: []string{"GET /orders", "GET /orders/{orderId}", "GET /products", "POST /orders"},
}

func TestRouteChoosesTheMostSpecificRoute(t *testing.T) {
	api := apiSettings{
		Stages: []stage{{StageName: "$default"}},
		Routes: []string{"$default", "ANY /{proxy+}", "GET /orders/{orderId}", "GET /orders/latest", "ANY /orders/{orderId}"},
	}
	for _, c := range []struct{ method, path, want string }{
		{"GET", "/orders/latest", "GET /orders/latest"},
		{"GET", "/orders/ORD-1", "GET /orders/{orderId}"},
		{"DELETE", "/orders/ORD-1", "ANY /orders/{orderId}"},
		{"GET", "/orders/ORD-1/items", "ANY /{proxy+}"},
		{"GET", "/", "$default"},
	} {
		if _, got, ok := api.route(c.method, c.path); !ok || got != c.want {
			t.Errorf("%s %s: route %q (%v), want %q", c.method, c.path, got, ok, c.want)
		}
	}
	if _, got, ok := orderflowAPI.route("DELETE", "/orders"); ok {
		t.Errorf("DELETE /orders matched %q; the stack has no such route", got)
	}
}

func TestRouteUnderANamedStage(t *testing.T) {
	api := apiSettings{Stages: []stage{{StageName: "prod"}}, Routes: []string{"POST /orders"}}
	if st, key, ok := api.route("POST", "/prod/orders"); !ok || st.StageName != "prod" || key != "POST /orders" {
		t.Errorf("POST /prod/orders: stage %q route %q (%v)", st.StageName, key, ok)
	}
	if _, key, ok := api.route("POST", "/production/orders"); ok {
		t.Errorf("POST /production/orders matched %q under stage prod", key)
	}
}

func TestLimitTakesTheRoutesOwnValuesOverTheStages(t *testing.T) {
	st := stage{
		DefaultRouteSettings: &routeSettings{ThrottlingRateLimit: ptr(100.0), ThrottlingBurstLimit: ptr(200)},
		RouteSettings: map[string]routeSettings{
			"POST /orders": {ThrottlingRateLimit: ptr(50.0), ThrottlingBurstLimit: ptr(100)},
			"GET /slow":    {ThrottlingRateLimit: ptr(5.0)}, // burst from the stage
		},
	}
	for _, c := range []struct {
		route string
		rate  float64
		burst int
	}{{"POST /orders", 50, 100}, {"GET /slow", 5, 200}, {"GET /products", 100, 200}} {
		r, b, ok := st.limit(c.route)
		if !ok || float64(r) != c.rate || b != c.burst {
			t.Errorf("%s: %v/s burst %d (%v), want %v/s burst %d", c.route, r, b, ok, c.rate, c.burst)
		}
	}
	if _, _, ok := (stage{}).limit("POST /orders"); ok {
		t.Error("a stage without throttle settings throttles")
	}
}

func TestAPIOf(t *testing.T) {
	for _, c := range []struct{ host, path, id, rest string }{
		{"127.0.0.1:4566", "/_aws/execute-api/abc123/orders/ORD-1", "abc123", "/orders/ORD-1"},
		{"localhost:4566", "/_aws/execute-api/abc123", "abc123", "/"},
		{"abc123.execute-api.localhost:4566", "/orders", "abc123", "/orders"},
	} {
		r := httptest.NewRequest("GET", "http://"+c.host+c.path, nil)
		if id, rest, ok := apiOf(r); !ok || id != c.id || rest != c.rest {
			t.Errorf("%s%s: %q %q (%v), want %q %q", c.host, c.path, id, rest, ok, c.id, c.rest)
		}
	}
	r := httptest.NewRequest("POST", "http://127.0.0.1:4566/", strings.NewReader("Action=SendMessage"))
	if id, _, ok := apiOf(r); ok {
		t.Errorf("an SQS call was taken for API %q", id)
	}
}

// postsAllowed sends n POST /orders to api1, one after the other at the same time, and counts
// those allowed.
func postsAllowed(th *throttle, n int) int {
	allowed := 0
	for range n {
		if th.allow(context.Background(), "api1", "POST", "/orders") {
			allowed++
		}
	}
	return allowed
}

// clocked is a throttle with a fake clock and a count of reads.
func clocked(fetch func(context.Context, string) (apiSettings, error)) (*throttle, *time.Time, *int) {
	now, reads := time.Unix(1_800_000_000, 0), 0
	th := newThrottle(func(ctx context.Context, id string) (apiSettings, error) {
		reads++
		return fetch(ctx, id)
	})
	th.now = func() time.Time { return now }
	return th, &now, &reads
}

func TestAllowRefusesBeyondTheBurstAndRefillsAtTheRate(t *testing.T) {
	th, now, reads := clocked(func(context.Context, string) (apiSettings, error) { return orderflowAPI, nil })
	ctx := context.Background()
	if allowed := postsAllowed(th, 10); allowed != 3 {
		t.Fatalf("POST /orders: %d of 10 at once allowed, want the burst, 3", allowed)
	}
	for i := range 10 { // the stage's default (100/s, burst 200) for the other routes, a bucket each
		if !th.allow(ctx, "api1", "GET", "/orders/ORD-"+string(rune('a'+i))) {
			t.Fatalf("GET /orders/{orderId} refused at request %d", i)
		}
	}
	if !th.allow(ctx, "api2", "POST", "/orders") {
		t.Fatal("another API's POST /orders refused: each API has its own buckets")
	}
	*now = now.Add(500 * time.Millisecond) // 2/s: one token back
	if !th.allow(ctx, "api1", "POST", "/orders") || th.allow(ctx, "api1", "POST", "/orders") {
		t.Error("after 0.5 s at 2/s, want exactly one more POST /orders")
	}
	if *reads != 2 {
		t.Errorf("settings read %d times, want once per API", *reads)
	}
}

func TestAllowReadsTheSettingsAgainAfterARedeploy(t *testing.T) {
	settings := orderflowAPI
	th, now, _ := clocked(func(context.Context, string) (apiSettings, error) { return settings, nil })
	ctx := context.Background()
	for range 3 {
		th.allow(ctx, "api1", "POST", "/orders")
	}
	if th.allow(ctx, "api1", "POST", "/orders") {
		t.Fatal("the bucket is not empty after the burst")
	}
	settings.Stages = []stage{{StageName: "$default"}} // a redeploy drops the throttle
	*now = now.Add(throttleRefresh)
	for i := range 50 {
		if !th.allow(ctx, "api1", "POST", "/orders") {
			t.Fatalf("request %d refused after the throttle was removed", i)
		}
	}
}

func TestAllowLetsRequestsPassWhenTheSettingsCannotBeRead(t *testing.T) {
	th, now, reads := clocked(func(context.Context, string) (apiSettings, error) { return apiSettings{}, errors.New("404") })
	for range 20 {
		if !th.allow(context.Background(), "gone", "POST", "/orders") {
			t.Fatal("refused a request to an API whose settings could not be read")
		}
	}
	*now = now.Add(throttleRefresh)
	th.allow(context.Background(), "gone", "POST", "/orders")
	if *reads != 2 {
		t.Errorf("settings read %d times, want once per refresh period", *reads)
	}
}

func TestWrapAnswers429AsAPIGatewayDoes(t *testing.T) {
	th, _, _ := clocked(func(context.Context, string) (apiSettings, error) { return orderflowAPI, nil })
	passed := 0
	h := th.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { passed++ }))
	codes := map[int]int{}
	for range 5 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "http://127.0.0.1:4566/_aws/execute-api/api1/orders", nil))
		codes[rec.Code]++
		if rec.Code == http.StatusTooManyRequests {
			if got := rec.Body.String(); got != `{"message":"Too Many Requests"}` || rec.Header().Get("Content-Type") != "application/json" {
				t.Errorf("429 body %q, type %q", got, rec.Header().Get("Content-Type"))
			}
		}
	}
	if codes[http.StatusOK] != 3 || codes[http.StatusTooManyRequests] != 2 || passed != 3 {
		t.Errorf("codes %v, %d passed to the emulator; want 3 passed and 2 refused", codes, passed)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "http://127.0.0.1:4566/", nil)) // an AWS API call
	if rec.Code != http.StatusOK || passed != 4 {
		t.Errorf("a call that is not to an HTTP API got %d", rec.Code)
	}
}

func TestFetchFromReadsBothSpellings(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=test/") {
			http.Error(w, "unsigned", http.StatusForbidden)
			return
		}
		switch r.URL.Path {
		case "/v2/apis/api1/stages": // MiniStack's spelling of the settings
			_, _ = w.Write([]byte(`{"items":[{"stageName":"$default","defaultRouteSettings":{"ThrottlingBurstLimit":200,"ThrottlingRateLimit":100},
				"routeSettings":{"POST /orders":{"throttlingBurstLimit":100,"throttlingRateLimit":50}}}]}`))
		case "/v2/apis/api1/routes":
			_, _ = w.Write([]byte(`{"items":[{"routeKey":"POST /orders"},{"routeKey":"GET /products"}]}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	fetch := fetchFrom(srv.URL, srv.Client())
	got, err := fetch(context.Background(), "api1")
	if err != nil {
		t.Fatal(err)
	}
	st, key, ok := got.route("POST", "/orders")
	if !ok || key != "POST /orders" {
		t.Fatalf("route %q (%v) from %+v", key, ok, got)
	}
	if r, b, _ := st.limit(key); r != 50 || b != 100 {
		t.Errorf("POST /orders: %v/s burst %d, want 50/s burst 100", r, b)
	}
	if r, b, _ := st.limit("GET /products"); r != 100 || b != 200 {
		t.Errorf("GET /products: %v/s burst %d, want 100/s burst 200", r, b)
	}
	if _, err := fetch(context.Background(), "unknown"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("an unknown API: %v, want the 404", err)
	}
}

// A read that fails after a good one keeps the settings read before: the throttle holds.
func TestAllowKeepsTheSettingsWhenARefreshFails(t *testing.T) {
	fail := false
	th, now, _ := clocked(func(context.Context, string) (apiSettings, error) {
		if fail {
			return apiSettings{}, errors.New("emulator busy")
		}
		return orderflowAPI, nil
	})
	ctx := context.Background()
	th.allow(ctx, "api1", "POST", "/orders")
	fail, *now = true, now.Add(throttleRefresh)
	allowed := 0
	for range 10 {
		if th.allow(ctx, "api1", "POST", "/orders") {
			allowed++
		}
	}
	if allowed != 3 { // refilled to its burst in 5 s at 2/s; without the settings all 10 would pass
		t.Errorf("%d of 10 allowed after a failed refresh, want the burst, 3", allowed)
	}
}

// While one request reads the settings, the others do not wait for it: they go by the settings
// read before.
func TestAllowDoesNotHoldRequestsWhileOneReads(t *testing.T) {
	release, reading := make(chan struct{}), make(chan struct{}, 1)
	first := true
	th, now, _ := clocked(func(context.Context, string) (apiSettings, error) {
		if first {
			first = false
			return orderflowAPI, nil
		}
		reading <- struct{}{}
		<-release
		return orderflowAPI, nil
	})
	ctx := context.Background()
	th.allow(ctx, "api1", "GET", "/products")
	*now = now.Add(throttleRefresh)
	done := make(chan bool)
	go func() { done <- th.allow(ctx, "api1", "GET", "/products") }() // reads, and waits for the answer
	<-reading
	got := make(chan bool)
	go func() { got <- th.allow(ctx, "api1", "GET", "/products") }()
	select {
	case ok := <-got:
		if !ok {
			t.Error("GET /products refused while the settings were being read")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a request waited for another's read of the settings")
	}
	close(release)
	if !<-done {
		t.Error("the reading request was refused")
	}
}

// A read of the settings may take a while on a busy emulator, while other requests take their
// tokens: the reading request takes its own at the time it is done, not at the time it came in.
// (A bucket told an earlier time after a later one counts the time between twice: under load
// that let through a third more requests than the rate.)
func TestAllowTakesTheTokenOfASlowReadWhenItEnds(t *testing.T) {
	var (
		th    *throttle
		now   *time.Time
		first = true
	)
	ctx := context.Background()
	th, now, _ = clocked(func(context.Context, string) (apiSettings, error) {
		if !first { // the read takes 2 s, and another request comes meanwhile
			*now = now.Add(2 * time.Second)
			if !th.allow(ctx, "api1", "POST", "/orders") {
				t.Error("a POST /orders during the read refused, with a full bucket")
			}
		}
		first = false
		return orderflowAPI, nil
	})
	for range 3 { // POST /orders: 2/s, burst 3
		th.allow(ctx, "api1", "POST", "/orders")
	}
	*now = now.Add(throttleRefresh) // the bucket is full again, and the settings due for a read
	if !th.allow(ctx, "api1", "POST", "/orders") {
		t.Fatal("the reading POST /orders refused, with a token left")
	}
	if allowed := postsAllowed(th, 5); allowed != 1 {
		t.Errorf("right after the read: %d POST /orders allowed, want the one token left of the burst of 3", allowed)
	}
}

// Before the settings are first read there is nothing to throttle by: requests that come while
// the first read lasts wait for it, and then take their tokens, instead of all getting in.
func TestAllowHoldsRequestsUntilTheFirstRead(t *testing.T) {
	release, reading := make(chan struct{}), make(chan struct{}, 1)
	th, _, _ := clocked(func(context.Context, string) (apiSettings, error) {
		reading <- struct{}{}
		<-release
		return orderflowAPI, nil
	})
	ctx := context.Background()
	results := make(chan bool, 11)
	go func() { results <- th.allow(ctx, "api1", "POST", "/orders") }() // reads, and waits for the answer
	<-reading
	var answered atomic.Int32
	for range 10 {
		go func() {
			ok := th.allow(ctx, "api1", "POST", "/orders")
			answered.Add(1)
			results <- ok
		}()
	}
	// The read ends once the ten have answered (they must not have: they wait for it) or after
	// 200 ms: either way, no more than the burst may get in.
	for deadline := time.Now().Add(200 * time.Millisecond); answered.Load() < 10 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	close(release)
	allowed := 0
	for range 11 {
		if <-results {
			allowed++
		}
	}
	if allowed != 3 {
		t.Errorf("%d of 11 POST /orders allowed during and after the first read, want the burst, 3", allowed)
	}
}

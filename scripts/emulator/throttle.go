package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"golang.org/x/time/rate"
)

// The route throttles of HTTP APIs, which MiniStack stores but does not enforce.
//
// API Gateway keeps a token bucket per route and stage: ThrottlingRateLimit requests a second,
// holding up to ThrottlingBurstLimit, from the stage's RouteSettings for the route, else from its
// DefaultRouteSettings. A request that finds the bucket empty is answered 429
// {"message":"Too Many Requests"} before the integration runs. MiniStack 1.5.33 passes every
// request, so locally the excess used to be queued in the stack instead of refused at the door. The
// proxy in front of MiniStack enforces the settings the stack deployed: it reads each API's stages
// and routes from MiniStack itself, again every few seconds so that a redeploy takes effect.

// throttleRefresh is how long the proxy keeps an API's settings before reading them again.
const throttleRefresh = 5 * time.Second

// routeSettings is the throttle part of a stage's route settings. encoding/json matches names
// without regard to case: AWS spells them throttlingRateLimit, MiniStack ThrottlingRateLimit.
type routeSettings struct {
	ThrottlingRateLimit  *float64 `json:"throttlingRateLimit"`
	ThrottlingBurstLimit *int     `json:"throttlingBurstLimit"`
}

type stage struct {
	StageName            string                   `json:"stageName"`
	DefaultRouteSettings *routeSettings           `json:"defaultRouteSettings"`
	RouteSettings        map[string]routeSettings `json:"routeSettings"`
}

// apiSettings is what the throttle needs of one HTTP API.
type apiSettings struct {
	Stages []stage
	Routes []string // route keys: "POST /orders", "GET /orders/{orderId}", "$default"
}

// limit is a route's throttle on a stage; ok is false when none applies.
func (s stage) limit(routeKey string) (r rate.Limit, burst int, ok bool) {
	var rateLimit *float64
	var burstLimit *int
	if d := s.DefaultRouteSettings; d != nil {
		rateLimit, burstLimit = d.ThrottlingRateLimit, d.ThrottlingBurstLimit
	}
	if own, found := s.RouteSettings[routeKey]; found { // the route's own values win, each on its own
		if own.ThrottlingRateLimit != nil {
			rateLimit = own.ThrottlingRateLimit
		}
		if own.ThrottlingBurstLimit != nil {
			burstLimit = own.ThrottlingBurstLimit
		}
	}
	if rateLimit == nil {
		return 0, 0, false
	}
	burst = int(*rateLimit)
	if burstLimit != nil {
		burst = *burstLimit
	}
	return rate.Limit(*rateLimit), burst, true
}

// route finds the stage and route key a request to the API goes to: the $default stage serves
// paths as they are, a named stage the paths under its name. Of the routes that match, the most
// specific wins (literal segments before parameters before a greedy parameter, a method before
// ANY), then $default, as API Gateway chooses.
func (a apiSettings) route(method, path string) (stage, string, bool) {
	var st stage
	found := false
	for _, s := range a.Stages {
		if s.StageName == "$default" {
			st, found = s, true
			break
		}
		if rest, ok := strings.CutPrefix(path, "/"+s.StageName); ok && (rest == "" || rest[0] == '/') {
			st, found, path = s, true, rest
		}
	}
	if !found {
		return stage{}, "", false
	}
	best, bestScore := "", -1
	for _, key := range a.Routes {
		if score := matchRoute(key, method, path); score > bestScore {
			best, bestScore = key, score
		}
	}
	return st, best, bestScore >= 0
}

// matchRoute scores how well a route key matches a request: -1 when it does not.
func matchRoute(key, method, path string) int {
	if key == "$default" {
		return 0
	}
	keyMethod, keyPath, ok := strings.Cut(key, " ")
	if !ok || (keyMethod != "ANY" && keyMethod != method) {
		return -1
	}
	score := 1
	if keyMethod != "ANY" {
		score++
	}
	want := strings.Split(strings.Trim(keyPath, "/"), "/")
	got := strings.Split(strings.Trim(path, "/"), "/")
	for i, w := range want {
		greedy := strings.HasPrefix(w, "{") && strings.HasSuffix(w, "+}")
		switch {
		case greedy && i == len(want)-1:
			if i >= len(got) || got[i] == "" {
				return -1
			}
			return score
		case i >= len(got):
			return -1
		case strings.HasPrefix(w, "{") && strings.HasSuffix(w, "}"):
			if got[i] == "" {
				return -1
			}
			score += 10
		case w == got[i]:
			score += 100
		default:
			return -1
		}
	}
	if len(got) != len(want) {
		return -1
	}
	return score
}

// apiOf names the HTTP API a request is for, and the path below it, as emulators serve them:
// http://{apiId}.execute-api.localhost:{port}/{path} and {endpoint}/_aws/execute-api/{apiId}/{path}.
func apiOf(r *http.Request) (apiID, path string, ok bool) {
	if id, _, found := strings.Cut(r.Host, ".execute-api."); found && id != "" {
		return id, r.URL.Path, true
	}
	if rest, found := strings.CutPrefix(r.URL.Path, "/_aws/execute-api/"); found {
		id, path, _ := strings.Cut(rest, "/")
		return id, "/" + path, id != ""
	}
	return "", "", false
}

// throttle holds the token buckets of every API the proxy has seen.
type throttle struct {
	fetch func(ctx context.Context, apiID string) (apiSettings, error)
	now   func() time.Time

	mu   sync.Mutex
	apis map[string]*throttledAPI
}

type throttledAPI struct {
	mu       sync.Mutex
	read     time.Time // when the settings were last read, or tried (zero: never)
	reading  bool      // a request is reading them now
	settings apiSettings
	known    bool // settings holds what a read returned
	failed   bool // the last read failed (said once in the log)
	buckets  map[string]*rate.Limiter
}

// fallback says what happens to requests while the settings cannot be read.
func (a *throttledAPI) fallback() string {
	if a.known {
		return "keeping the settings read before"
	}
	return "requests pass"
}

func newThrottle(fetch func(context.Context, string) (apiSettings, error)) *throttle {
	return &throttle{fetch: fetch, now: time.Now, apis: map[string]*throttledAPI{}}
}

// allow takes a token from the bucket of the route the request goes to; false means 429.
func (t *throttle) allow(ctx context.Context, apiID, method, path string) bool {
	t.mu.Lock()
	a := t.apis[apiID]
	if a == nil {
		a = &throttledAPI{buckets: map[string]*rate.Limiter{}}
		t.apis[apiID] = a
	}
	t.mu.Unlock()

	a.mu.Lock()
	defer a.mu.Unlock()
	now := t.now()
	if now.Sub(a.read) >= throttleRefresh && !a.reading {
		// This request reads the settings; the others meanwhile go by what was read before, so
		// that a slow answer from a busy emulator holds up one request, not all of them. Before
		// the first read there is nothing to go by: they wait for it (were they let through, a
		// burst of clients would all get in while it lasts).
		a.reading = true
		first := !a.known
		if !first {
			a.mu.Unlock()
		}
		settings, err := t.fetch(ctx, apiID)
		if !first {
			a.mu.Lock()
		}
		a.reading, a.read = false, now
		// The token is taken now: the others took theirs meanwhile, and a bucket told a time
		// before the last it saw counts the time between again (golang.org/x/time/rate).
		now = t.now()
		switch {
		case err != nil && !a.failed:
			log.Printf("emulator proxy: cannot read the throttle of API %s (%s): %v", apiID, a.fallback(), err)
			a.failed = true
		case err == nil:
			a.settings, a.known, a.failed = settings, true, false
		}
	}
	if !a.known {
		return true // not read (yet): requests pass, as they would without the proxy
	}
	st, routeKey, ok := a.settings.route(method, path)
	if !ok {
		return true // no such route: the emulator answers 404 itself
	}
	limit, burst, ok := st.limit(routeKey)
	if !ok {
		return true
	}
	key := st.StageName + " " + routeKey
	b := a.buckets[key]
	if b == nil || b.Limit() != limit || b.Burst() != burst {
		b = rate.NewLimiter(limit, burst) // a changed setting starts a full bucket, as a deployment does
		a.buckets[key] = b
	}
	return b.AllowN(now, 1)
}

// wrap refuses the requests over their route's throttle the way API Gateway does and passes the
// rest to next.
func (t *throttle) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if apiID, path, ok := apiOf(r); ok && !t.allow(r.Context(), apiID, r.Method, path) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"message":"Too Many Requests"}`)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// fetchFrom reads an API's stages and routes from the emulator's API Gateway v2 API, signed as the
// emulator's root user (test/test), which IAM enforcement lets through.
func fetchFrom(backend string, client *http.Client) func(context.Context, string) (apiSettings, error) {
	signer := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}
	empty := sha256.Sum256(nil)
	get := func(ctx context.Context, path string, into any) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, backend+path, nil)
		if err != nil {
			return err
		}
		if err := signer.SignHTTP(ctx, creds, req, hex.EncodeToString(empty[:]), "apigateway", "us-east-1", time.Now()); err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s: %.200s", path, resp.Status, body)
		}
		return json.Unmarshal(body, into)
	}
	return func(ctx context.Context, apiID string) (apiSettings, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		var stages struct{ Items []stage }
		var routes struct{ Items []struct{ RouteKey string } }
		if err := get(ctx, "/v2/apis/"+apiID+"/stages", &stages); err != nil {
			return apiSettings{}, err
		}
		if err := get(ctx, "/v2/apis/"+apiID+"/routes", &routes); err != nil {
			return apiSettings{}, err
		}
		s := apiSettings{Stages: stages.Items}
		for _, r := range routes.Items {
			s.Routes = append(s.Routes, r.RouteKey)
		}
		return s, nil
	}
}

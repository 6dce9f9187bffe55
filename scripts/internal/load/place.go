package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/orderflow-dev/orderflow/scripts/internal/shop"
)

// Requests counts the answers to POST /orders, per try.
type Requests struct {
	Tries     int `json:"tries"`
	Created   int `json:"created"`   // 201
	Replayed  int `json:"replayed"`  // 201 with Idempotent-Replayed: a retry after an answer was lost
	Conflict  int `json:"conflict"`  // 409: the same key still in progress (retried)
	Throttled int `json:"throttled"` // 429 (retried)
	Server    int `json:"server"`    // 5xx (retried: the key makes a retry safe)
	Client    int `json:"client"`    // other 4xx (not retried)
	Transport int `json:"transport"` // no answer: connection error or timeout (retried)
	NotPlaced int `json:"notPlaced"` // orders still without a 201 after every try
}

// Choice is what one order buys (one unit of SKU) and how it pays.
type Choice struct {
	SKU   string `json:"sku"`
	Token string `json:"token"`
}

// Placement is one order the client placed, or tried to.
type Placement struct {
	Index      int
	Customer   int // index into the run's customers
	Choice     Choice
	Key        string
	OrderID    string
	TotalCents int64
	Start      time.Time     // the first try sent
	Latency    time.Duration // first try sent → 201
	Tries      int
	Err        string // the last answer, when no try got a 201
}

// placer posts orders with retries, counting every answer.
type placer struct {
	http     *http.Client
	baseURL  string
	tokens   []string // per customer
	choose   func(index int) Choice
	bodies   map[Choice][]byte
	maxTries int
	backoff  func(try int, hdr http.Header) time.Duration // the wait before try+1

	mu  sync.Mutex
	req Requests
}

// newPlacer returns a placer of n orders, order i buying what choose(i) says.
func newPlacer(client *http.Client, baseURL string, tokens []string, n int, choose func(index int) Choice, maxTries int) (*placer, error) {
	bodies := map[Choice][]byte{}
	for i := range n {
		c := choose(i)
		if _, ok := bodies[c]; ok {
			continue
		}
		body, err := json.Marshal(shop.NewOrder(c.Token, shop.Line{SKU: c.SKU, Quantity: 1}))
		if err != nil {
			return nil, err
		}
		bodies[c] = body
	}
	return &placer{http: client, baseURL: baseURL, tokens: tokens, choose: choose, bodies: bodies, maxTries: maxTries, backoff: backoff}, nil
}

// Only is the choice of a run whose orders all buy the same: every index gets c.
func Only(c Choice) func(int) Choice { return func(int) Choice { return c } }

// placeAll places n orders, concurrency at a time, spread round-robin over the customers.
func (p *placer) placeAll(ctx context.Context, n, concurrency int, progress func(done int)) []Placement {
	out := make([]Placement, n)
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for range concurrency {
		wg.Go(func() {
			for i := range next {
				out[i] = p.place(ctx, i, i%len(p.tokens))
				mu.Lock()
				done++
				d := done
				mu.Unlock()
				progress(d)
			}
		})
	}
	sent := 0
	for ; sent < n; sent++ {
		select {
		case next <- sent:
			continue
		case <-ctx.Done():
		}
		break
	}
	close(next)
	wg.Wait()
	// What the run's time left unsent: not placed, and said so, like an order out of tries.
	for i := sent; i < n; i++ {
		out[i] = Placement{Index: i, Customer: i % len(p.tokens), Choice: p.choose(i), Err: "not sent: the run's time ran out"}
	}
	p.mu.Lock()
	p.req.NotPlaced += n - sent
	p.mu.Unlock()
	return out
}

// place posts one order under a fresh Idempotency-Key, retrying what may succeed later (no
// answer, 409, 429, 5xx) with the same key, so that a retry can never place a second order. A 429
// is the door saying "not now" (the route throttle: the request went no further), so it does not
// use up one of maxTries: it is retried, with backoff, for as long as ctx lasts.
func (p *placer) place(ctx context.Context, index, customer int) Placement {
	pl := Placement{Index: index, Customer: customer, Choice: p.choose(index), Key: uuid.NewString(), Start: time.Now()}
	for try, failed := 1, 0; failed < p.maxTries; try++ {
		pl.Tries = try
		code, hdr, body, err := p.post(ctx, p.tokens[customer], pl.Key, p.bodies[pl.Choice])
		if err != nil || code != http.StatusTooManyRequests {
			failed++
		}
		p.mu.Lock()
		p.req.Tries++
		retry := true
		switch {
		case err != nil && ctx.Err() != nil && pl.Err != "":
			pl.Err += "; then the run's time ran out" // keep the last answer: it says why
		case err != nil:
			p.req.Transport++
			pl.Err = err.Error()
		case code == http.StatusCreated:
			p.req.Created++
			if hdr.Get("Idempotent-Replayed") == "true" {
				p.req.Replayed++
			}
		case code == http.StatusConflict:
			p.req.Conflict++
		case code == http.StatusTooManyRequests:
			p.req.Throttled++
		case code >= 500:
			p.req.Server++
		default:
			p.req.Client++
			retry = false
		}
		p.mu.Unlock()
		if err == nil && code == http.StatusCreated {
			var placed shop.Placed
			if err := json.Unmarshal(body, &placed); err != nil || placed.OrderID == "" {
				pl.Err = fmt.Sprintf("201 without an order id: %s", body)
				break
			}
			pl.OrderID, pl.TotalCents, pl.Latency, pl.Err = placed.OrderID, placed.TotalCents, time.Since(pl.Start), ""
			return pl
		}
		if err == nil {
			pl.Err = fmt.Sprintf("HTTP %d: %s", code, bytes.TrimSpace(body))
		}
		if !retry || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(p.backoff(try, hdr)):
		}
	}
	p.mu.Lock()
	p.req.NotPlaced++
	p.mu.Unlock()
	return pl
}

// backoff is the wait before try+1: exponential from 250 ms to 8 s with full jitter, and at
// least what a Retry-After header asks.
func backoff(try int, hdr http.Header) time.Duration {
	ceiling := min(250*time.Millisecond<<min(try-1, 6), 8*time.Second)
	d := time.Duration(rand.Int64N(int64(ceiling))) + 50*time.Millisecond
	if s, err := strconv.Atoi(hdr.Get("Retry-After")); err == nil && time.Duration(s)*time.Second > d {
		d = time.Duration(s) * time.Second
	}
	return d
}

func (p *placer) post(ctx context.Context, token, key string, body []byte) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.baseURL+"/orders", bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", strconv.Quote(key))
	resp, err := p.http.Do(req)
	if err != nil {
		return 0, http.Header{}, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, resp.Header, nil, err
	}
	return resp.StatusCode, resp.Header, b, nil
}

func (p *placer) requests() Requests {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.req
}

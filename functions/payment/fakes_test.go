package main

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/provider"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
	"github.com/orderflow-dev/orderflow/functions/internal/tasks"
)

// --- recording fakes of the handler's ports

// memLedger is the payments ledger in memory, with the conditions of dynamo.Payments: each
// method is one atomic conditional move, and returns the record as it then stands. The
// contract test runs one script against it and against the adapter on the emulator. It
// counts the moves, and fails or panics on demand.
type memLedger struct {
	mu      sync.Mutex
	stored  map[string]store.Payment
	records int              // decisions stored (Record calls whose condition held)
	refunds int              // APPROVED -> REFUNDED moves
	err     map[string]error // per order id, for every call
	panics  bool
}

func newMemLedger() *memLedger {
	return &memLedger{stored: map[string]store.Payment{}, err: map[string]error{}}
}

// move applies change to the order's record if cond holds on it (an absent record has no
// status), and returns the record as it then stands and whether cond held.
func (l *memLedger) move(orderID string, cond func(p store.Payment) bool, change func(p *store.Payment)) (store.Payment, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.panics {
		panic("boom")
	}
	if err := l.err[orderID]; err != nil {
		return store.Payment{}, false, err
	}
	p, ok := l.stored[orderID]
	if !ok {
		p = store.Payment{OrderID: orderID}
	}
	if !cond(p) {
		return p, false, nil
	}
	change(&p)
	l.stored[orderID] = p
	return p, true, nil
}

func undecided(p store.Payment) bool { return p.Status == "" || p.Status == store.PaymentPending }

func (l *memLedger) Claim(_ context.Context, orderID, paymentID string, amountCents int64, until time.Time) (store.Payment, error) {
	p, _, err := l.move(orderID, undecided, func(p *store.Payment) {
		p.Status, p.PaymentID, p.AmountCents = store.PaymentPending, paymentID, amountCents
		p.Attempts++
		if until.After(p.ClaimedUntil) {
			p.ClaimedUntil = until.UTC().Truncate(time.Millisecond) // as DynamoDB keeps it
		}
	})
	return p, err
}

func (l *memLedger) Record(_ context.Context, d store.Payment) (store.Payment, error) {
	p, ok, err := l.move(d.OrderID, func(p store.Payment) bool { return p.Status == store.PaymentPending }, func(p *store.Payment) {
		p.PaymentID, p.Status, p.AmountCents, p.CreatedAt = d.PaymentID, d.Status, d.AmountCents, d.CreatedAt
		if d.Reason != "" {
			p.Reason = d.Reason
		}
	})
	if ok {
		l.mu.Lock()
		l.records++
		l.mu.Unlock()
	}
	return p, err
}

func (l *memLedger) Void(_ context.Context, orderID string, at time.Time) (store.Payment, bool, error) {
	return l.move(orderID, undecided, func(p *store.Payment) { p.Status, p.RefundedAt = store.PaymentVoided, at })
}

func (l *memLedger) Refund(_ context.Context, orderID string, at time.Time) (store.Payment, bool, error) {
	p, ok, err := l.move(orderID, func(p store.Payment) bool { return p.Status == store.PaymentApproved },
		func(p *store.Payment) { p.Status, p.RefundedAt = store.PaymentRefunded, at })
	if ok {
		l.mu.Lock()
		l.refunds++
		l.mu.Unlock()
	}
	return p, ok, err
}

func (l *memLedger) LateChargeRefunded(_ context.Context, orderID string, at time.Time) (store.Payment, bool, error) {
	closed := func(p store.Payment) bool {
		return p.Status == store.PaymentVoided || p.Status == store.PaymentRefunded || p.Status == store.PaymentDeclined
	}
	return l.move(orderID, closed, func(p *store.Payment) {
		if p.LateChargeRefundedAt.IsZero() {
			p.LateChargeRefundedAt = at
		}
	})
}

func (l *memLedger) get(orderID string) store.Payment {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stored[orderID]
}

// fakeProvider keeps the books of a Stripe-like provider that deduplicates by idempotency
// key, in its weakest form: a key is charged at most once (a retry gets the first answer
// back), a refund gives a key's charge back at most once, and a refund of a key with no
// charge is a no-op that does not stop a later charge under it (no cancel). The answers are
// the sandbox's; a processing error is not remembered.
type fakeProvider struct {
	mu       sync.Mutex
	answers  map[string]provider.Result // by key, once charged or declined
	charged  map[string]int64           // cents taken, by key
	refunded map[string]int64           // cents given back, by key
	tokens   []string                   // the tokens charges were asked with
	calls    []string                   // "charge <key>", "refund <key>"
	err      error                      // every call fails with it
	onCharge func()                     // runs before a charge is answered (a rival step)
}

func newFakeProvider() *fakeProvider {
	return &fakeProvider{answers: map[string]provider.Result{}, charged: map[string]int64{}, refunded: map[string]int64{}}
}

func (f *fakeProvider) Charge(ctx context.Context, req provider.ChargeRequest) (provider.Result, error) {
	if f.onCharge != nil {
		f.onCharge()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "charge "+req.IdempotencyKey)
	f.tokens = append(f.tokens, req.Token.Reveal())
	if f.err != nil {
		return provider.Result{}, f.err
	}
	if res, ok := f.answers[req.IdempotencyKey]; ok {
		return res, nil
	}
	res, err := provider.Sandbox{}.Charge(ctx, req)
	if err != nil {
		return provider.Result{}, err
	}
	f.answers[req.IdempotencyKey] = res
	if res.Approved {
		f.charged[req.IdempotencyKey] = req.AmountCents
	}
	return res, nil
}

func (f *fakeProvider) Refund(_ context.Context, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "refund "+key)
	if f.err != nil {
		return f.err
	}
	if f.refunded[key] == 0 {
		f.refunded[key] = f.charged[key]
	}
	return nil
}

// net is the money the provider holds for the orders: charged minus refunded, in cents.
func (f *fakeProvider) net() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var n int64
	for k, c := range f.charged {
		n += c - f.refunded[k]
	}
	return n
}

// keys lists the keys that were charged or asked to be, sorted.
func (f *fakeProvider) keys() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ks []string
	for k := range f.answers {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// fakeIntents is the payment intents order-api stored.
type fakeIntents struct {
	mu      sync.Mutex
	intents map[string]store.PaymentIntent
	err     error
}

func (f *fakeIntents) Get(_ context.Context, intentID string) (store.PaymentIntent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return store.PaymentIntent{}, f.err
	}
	in, ok := f.intents[intentID]
	if !ok {
		return store.PaymentIntent{}, fmt.Errorf("payment intent %s: %w", intentID, store.ErrNotFound)
	}
	return in, nil
}

// add stores the intent order-api made for placed (fixture.Placed(t, id, token)).
func (f *fakeIntents) add(placed events.Envelope, token string) {
	p, err := events.DecodePayload[events.OrderPlaced](placed)
	if err != nil {
		panic(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.intents[p.PaymentIntentID] = store.PaymentIntent{
		IntentID: p.PaymentIntentID, OrderID: p.OrderID, CustomerID: p.CustomerID, Token: token,
		AmountCents: p.TotalCents, Currency: p.Currency, CreatedAt: placed.Time, ExpiresAt: placed.Time.Add(7 * 24 * time.Hour),
	}
}

type failure struct{ token, name, cause string }

// fakeTasks answers a token once; later answers get ErrTaskClosed, as Step Functions does.
// A token in forged was never issued: Live says so.
type fakeTasks struct {
	mu        sync.Mutex
	succeeded map[string]string // token -> output
	failed    []failure
	closed    map[string]bool
	forged    map[string]bool
	err       error
}

func (f *fakeTasks) Live(_ context.Context, token string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.forged[token]:
		return fmt.Errorf("send task heartbeat: %w", tasks.ErrInvalidToken)
	case f.closed[token]:
		return fmt.Errorf("send task heartbeat: %w", tasks.ErrTaskClosed)
	}
	return nil
}

func (f *fakeTasks) answer(token string) error {
	if f.err != nil {
		return f.err
	}
	if f.closed[token] {
		return fmt.Errorf("send task success: %w", tasks.ErrTaskClosed)
	}
	f.closed[token] = true
	return nil
}

func (f *fakeTasks) Succeed(_ context.Context, token, output string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.answer(token); err != nil {
		return err
	}
	f.succeeded[token] = output
	return nil
}

func (f *fakeTasks) Fail(_ context.Context, token, name, cause string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.answer(token); err != nil {
		return err
	}
	f.failed = append(f.failed, failure{token, name, cause})
	return nil
}

// fakeSeals is the shipments table as the payment service sees it: orders sealed against
// shipping, and orders whose shipment is booked. The handler seals from several goroutines (a
// batch's messages run concurrently); tests read the maps once it has returned.
type fakeSeals struct {
	mu              sync.Mutex
	sealed, shipped map[string]bool
}

func newFakeSeals() *fakeSeals {
	return &fakeSeals{sealed: map[string]bool{}, shipped: map[string]bool{}}
}

func (f *fakeSeals) Seal(_ context.Context, orderID string, _ time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.shipped[orderID] {
		return fmt.Errorf("shipment s-1 booked: %w", store.ErrConflict)
	}
	f.sealed[orderID] = true
	return nil
}

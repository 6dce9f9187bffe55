package store

import "time"

// Idempotency-key statuses (IETF "Idempotency-Key HTTP header" draft): a request is being
// processed under the key, or its answer is stored and every retry gets it again.
const (
	KeyInProgress = "IN_PROGRESS"
	KeyCompleted  = "COMPLETED"
)

// IdempotencyRecord is what order-api keeps for one Idempotency-Key of one customer
// (idempotency table, pk customerId, sk key). The first request claims the key with a
// conditional write before anything is published, and holds a lease while it works; the
// record then keeps the answer until it expires.
type IdempotencyRecord struct {
	CustomerID  string    `dynamodbav:"customerId"`  // keys are scoped per customer
	Key         string    `dynamodbav:"key"`         // the Idempotency-Key, as sent
	Fingerprint string    `dynamodbav:"fingerprint"` // what the request asked for (order.Fingerprint)
	Status      string    `dynamodbav:"status"`      // KeyInProgress or KeyCompleted
	OrderID     string    `dynamodbav:"orderId"`     // chosen when the key was claimed, reused by every retry
	IntentID    string    `dynamodbav:"paymentIntentId"`
	LeaseID     string    `dynamodbav:"leaseId"`             // who is working on it now
	LeaseUntil  time.Time `dynamodbav:"leaseUntil,unixtime"` // after this a retry may take the work over
	Response    string    `dynamodbav:"response,omitempty"`  // the stored answer (JSON body), once completed
	CreatedAt   time.Time `dynamodbav:"createdAt"`           // when the key was first used
	ExpiresAt   time.Time `dynamodbav:"expiresAt,unixtime"`  // DynamoDB TTL: the key may be reused after this
}

// LeaseRunOut reports whether the lease has run out at now, as the table's conditional write
// decides it (dynamo.IdempotencyKeys.TakeOver: leaseUntil <= now, both in epoch seconds): a
// lease until second L runs out when second L begins. The table keeps whole seconds, so a
// lease is up to a second shorter than asked, never longer.
func (r IdempotencyRecord) LeaseRunOut(now time.Time) bool {
	return r.LeaseUntil.Unix() <= now.Unix()
}

// LeaseLeft is how long until the lease runs out (LeaseRunOut), in whole seconds, at least
// one: what a request that finds the key held should wait before it tries again.
func (r IdempotencyRecord) LeaseLeft(now time.Time) time.Duration {
	return time.Duration(max(r.LeaseUntil.Unix()-now.Unix(), 1)) * time.Second
}

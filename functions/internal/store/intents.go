package store

import "time"

// PaymentIntent is what a customer asked the payments service to charge for one order
// (payment intents table, pk intentId). order-api creates it when it accepts the order, so
// that the payment token never travels in an event: OrderPlaced names only IntentID, and
// the payment function reads the token back from here when it charges.
type PaymentIntent struct {
	IntentID    string    `dynamodbav:"intentId"`
	OrderID     string    `dynamodbav:"orderId"`
	CustomerID  string    `dynamodbav:"customerId"`
	Token       string    `dynamodbav:"token"` // the provider's payment token: payment data, never logged or published
	AmountCents int64     `dynamodbav:"amountCents"`
	Currency    string    `dynamodbav:"currency"`
	CreatedAt   time.Time `dynamodbav:"createdAt"`
	ExpiresAt   time.Time `dynamodbav:"expiresAt,unixtime"` // DynamoDB TTL
}

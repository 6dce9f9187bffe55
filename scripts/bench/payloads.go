package main

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/orderflow-dev/orderflow/events"
)

// A payload is what one function is invoked with under the RIE: an event that exercises its
// handler without AWS. Every AWS call a function makes goes to AWS_ENDPOINT_URL, a local port
// nothing listens on: the call is refused at once (AWS_MAX_ATTEMPTS=1: no retry, no backoff),
// and nothing leaves the machine. Path says plainly which path the invoke takes.
type payload struct {
	Path   string
	Event  []byte
	Expect func(answer []byte) error // the answer proves the path was the one described
}

// The stand-in resources the functions' environment names.
const (
	benchRegion       = "us-east-1"
	benchAccount      = "000000000000"
	notifyQueueARN    = "arn:aws:sqs:us-east-1:000000000000:orderflow-bench-notify-email"
	paymentsQueueARN  = "arn:aws:sqs:us-east-1:000000000000:orderflow-bench-payments"
	streamARN         = "arn:aws:kinesis:us-east-1:000000000000:stream/orderflow-bench-order-events"
	stateMachineARN   = "arn:aws:states:us-east-1:000000000000:stateMachine:orderflow-bench-order-fulfilment"
	benchCustomer     = "8d2f6a1e-3c4b-4e5f-9a7b-0c1d2e3f4a5b"
	benchBatchSize    = 10
	helloFunctionName = "hello"
)

// benchNow is the payloads' clock: fixed, so that every run sends the same bytes.
var benchNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// payloads builds the event of every function scripts/bench knows, by folder name.
func payloads() (map[string]payload, error) {
	b := &builder{}
	out := map[string]payload{
		helloFunctionName: {
			Path:   `{} → {"hello":"world"}`,
			Event:  []byte(`{}`),
			Expect: func(a []byte) error { return wantJSON(a, `{"hello":"world"}`) },
		},
		"order-api": {
			Path:   "POST /orders, signed in, a valid three-line order, a malformed Idempotency-Key → 400 after parsing and validating the body (no AWS call)",
			Event:  b.placeRequest(),
			Expect: wantHTTP(400, "Idempotency-Key"),
		},
		"inventory": {
			Path:   "reserve, with an OrderPlaced that passes its schema but carries a wrong id → InvalidInputError after schema validation (no AWS call)",
			Event:  b.reserveWrongID(),
			Expect: wantErrorType("InvalidInputError"),
		},
		"payment": {
			Path:   "SQS batch of 10 charges; the check of each task token (SFN SendTaskHeartbeat) is refused → 10 batch item failures (decode, one signed request per message)",
			Event:  b.chargeBatch(),
			Expect: wantFailures(benchBatchSize),
		},
		"shipping": {
			Path:   "ship an approved order with a dangerous-goods line (SKU-451) → ShipmentRefusedError (no AWS call)",
			Event:  b.shipDangerous(),
			Expect: wantErrorType("ShipmentRefusedError"),
		},
		"notifier": {
			Path:   "SQS batch of 10 SNS-wrapped order events; DynamoDB refused → 10 batch item failures (unwrap, validate, text, one signed request per message)",
			Event:  b.notifyBatch(),
			Expect: wantFailures(benchBatchSize),
		},
		"streamer": {
			Path:   "an OrderPlaced EventBridge event; Kinesis refused → error (validate, one signed PutRecord)",
			Event:  b.eventBridge(b.placed(1)),
			Expect: wantError("", "PutRecord"), // not a park to the DLQ that failed: that would say SendMessage
		},
		"projector": {
			Path:   "Kinesis batch of 10 order events; DynamoDB refused → the first record's failure reported, the rest left for the retry (decode the batch; validate and one signed PutItem for the first)",
			Event:  b.kinesisBatch(b.lifecycles()),
			Expect: wantFailures(1),
		},
		"analytics": {
			Path:   "Kinesis batch of 10 valid events that count nothing (OrderPlaced, InventoryReserved, OrderConfirmed, OrderShipped) → no failures (validate; no AWS call)",
			Event:  b.kinesisBatch(b.uncounted()),
			Expect: wantFailures(0),
		},
		"rescuer": {
			Path:   "a FAILED execution that compensated itself (FulfilmentFailed), input included → ignored (no AWS call)",
			Event:  b.statusChange(),
			Expect: func(a []byte) error { return wantJSON(a, `null`) },
		},
	}
	return out, b.err
}

// builder makes the events; its first error is kept in err.
type builder struct{ err error }

func (b *builder) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

func (b *builder) json(v any) []byte {
	out, err := json.Marshal(v)
	if err != nil {
		b.fail(err)
	}
	return out
}

func orderID(n int) string {
	return "ORD-" + uuid.NewSHA1(uuid.NameSpaceOID, []byte("bench/"+strconv.Itoa(n))).String()
}

func intentID(n int) string {
	sum := sha256.Sum256([]byte("bench/intent/" + strconv.Itoa(n)))
	return "pi_" + hex.EncodeToString(sum[:16])
}

// items are three lines of the catalogue, priced as order-api prices them.
var items = []events.Item{
	{SKU: "SKU-001", Name: "Trail running shoes", Quantity: 2, UnitPriceCents: 4999},
	{SKU: "SKU-002", Name: "Merino socks", Quantity: 3, UnitPriceCents: 1299},
	{SKU: "SKU-042", Name: "Water bottle", Quantity: 1, UnitPriceCents: 1999},
}

const itemsTotal = 2*4999 + 3*1299 + 1999

func (b *builder) event(t events.Type, n, seq int, payload any) events.Envelope {
	id := orderID(n)
	causation := ""
	if seq > 1 {
		causation = events.ID(id, seq-1)
	}
	e, err := events.New(events.Spec{Type: t, OrderID: id, Sequence: seq, CorrelationID: events.ID(id, 1), CausationID: causation, Payload: payload, Time: benchNow.Add(time.Duration(seq) * time.Second)})
	if err != nil {
		b.fail(fmt.Errorf("%s #%d: %w", t, seq, err))
	}
	return e
}

func (b *builder) placed(n int) events.Envelope {
	return b.event(events.TypeOrderPlaced, n, 1, events.OrderPlaced{
		OrderID: orderID(n), CustomerID: benchCustomer, Items: items, TotalCents: itemsTotal, Currency: "USD", PaymentIntentID: intentID(n),
	})
}

func stockLines() []events.StockLine {
	var out []events.StockLine
	for _, it := range items {
		out = append(out, events.StockLine{SKU: it.SKU, Quantity: it.Quantity})
	}
	return out
}

// eventBridge is the whole EventBridge event carrying e, as a rule target receives it.
func (b *builder) eventBridge(e events.Envelope) []byte {
	return b.json(map[string]any{
		"version": "0", "id": uuid.NewSHA1(uuid.NameSpaceOID, []byte("bench/eventbridge/"+e.ID)).String(),
		"detail-type": string(e.Type), "source": e.Source, "account": benchAccount, "time": e.Time.Format(time.RFC3339),
		"region": benchRegion, "resources": []string{}, "detail": e,
	})
}

// state is the workflow document's state after the events of order n up to seq, as the tasks
// write it (the JSON of workflow.State, which this program cannot import).
func (b *builder) state(n, seq int, outcome string, orderItems []events.Item) map[string]any {
	total := int64(0)
	for _, it := range orderItems {
		total += it.UnitPriceCents * int64(it.Quantity)
	}
	return map[string]any{
		"order":         events.OrderPlaced{OrderID: orderID(n), CustomerID: benchCustomer, Items: orderItems, TotalCents: total, Currency: "USD", PaymentIntentID: intentID(n)},
		"correlationId": events.ID(orderID(n), 1), "lastEventId": events.ID(orderID(n), seq), "sequence": seq,
		"outcome": outcome, "entries": []any{}, "published": map[string]int{"failedEntryCount": 0},
	}
}

func (b *builder) placeRequest() []byte {
	body := `{"items":[{"sku":"SKU-001","quantity":2},{"sku":"SKU-002","quantity":3},{"sku":"SKU-042","quantity":1}],"payment":{"token":"tok_visa"}}`
	return b.json(map[string]any{
		"version": "2.0", "routeKey": "POST /orders", "rawPath": "/orders", "rawQueryString": "",
		"headers": map[string]string{
			"content-type": "application/json", "content-length": strconv.Itoa(len(body)), "host": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
			"idempotency-key": "not a valid key", // spaces: neither a quoted string nor a bare token
			"user-agent":      "orderflow-bench", "x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "https",
		},
		"requestContext": map[string]any{
			"accountId": benchAccount, "apiId": "a1b2c3d4e5", "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
			"http":      map[string]string{"method": "POST", "path": "/orders", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "orderflow-bench"},
			"requestId": "JKJaXmPLvHcESHA=", "routeKey": "POST /orders", "stage": "$default", "timeEpoch": benchNow.UnixMilli(),
			"authorizer": map[string]any{"jwt": map[string]any{"claims": map[string]string{"sub": benchCustomer, "token_use": "access", "client_id": "5n1kq3v2o8m4c6r0t9a7b3d1e"}}},
		},
		"body": body, "isBase64Encoded": false,
	})
}

func (b *builder) reserveWrongID() []byte {
	e := b.placed(1)
	e.ID = uuid.NewSHA1(uuid.NameSpaceOID, []byte("bench/not-the-deterministic-id")).String()
	e.CorrelationID = e.ID
	return b.json(map[string]any{"action": "reserve", "event": e, "state": nil})
}

func (b *builder) shipDangerous() []byte {
	gas := []events.Item{{SKU: "SKU-451", Name: "Camping gas canister", Quantity: 2, UnitPriceCents: 899}}
	return b.json(map[string]any{"action": "ship", "event": b.placed(1), "state": b.state(1, 4, "approved", gas)})
}

// sqs is an SQS event of bodies from queueARN, as an event source mapping delivers it.
func (b *builder) sqs(queueARN string, bodies []string) []byte {
	var recs []map[string]any
	for i, body := range bodies {
		recs = append(recs, map[string]any{
			"messageId":     uuid.NewSHA1(uuid.NameSpaceOID, []byte("bench/sqs/"+strconv.Itoa(i))).String(),
			"receiptHandle": "AQEB" + base64.RawStdEncoding.EncodeToString([]byte(strings.Repeat(strconv.Itoa(i), 280))),
			"body":          body,
			"attributes": map[string]string{
				"ApproximateReceiveCount": "1", "SentTimestamp": strconv.FormatInt(benchNow.UnixMilli(), 10),
				"SenderId": "AROAEXAMPLEID1234567:orderflow", "ApproximateFirstReceiveTimestamp": strconv.FormatInt(benchNow.UnixMilli()+20, 10),
			},
			"messageAttributes": map[string]any{}, "md5OfBody": fmt.Sprintf("%x", md5.Sum([]byte(body))), //nolint:gosec // SQS's MD5OfBody is an MD5
			"eventSource": "aws:sqs", "eventSourceARN": queueARN, "awsRegion": benchRegion,
		})
	}
	return b.json(map[string]any{"Records": recs})
}

func (b *builder) chargeBatch() []byte {
	var bodies []string
	for n := 1; n <= benchBatchSize; n++ {
		st := b.state(n, 2, "reserved", items)
		bodies = append(bodies, string(b.json(map[string]any{
			"action": "charge", "taskToken": "AQCEAAAAKgAAAAMAAAAAAAAAA" + strings.Repeat("x", 600) + strconv.Itoa(n), "event": b.placed(n), "state": st,
		})))
	}
	return b.sqs(paymentsQueueARN, bodies)
}

// customerFacing is one of each event customers hear about, of order n.
func (b *builder) customerFacing(n int) []events.Envelope {
	id := orderID(n)
	return []events.Envelope{
		b.placed(n),
		b.event(events.TypeOrderConfirmed, n, 4, events.OrderConfirmed{OrderID: id, TotalCents: itemsTotal}),
		b.event(events.TypeOrderShipped, n, 5, events.OrderShipped{OrderID: id, ShipmentID: "9a4e7c21-6d3b-4f58-8b0e-1c7d5a2f4e69", Carrier: "ACME Parcel"}),
		b.event(events.TypeOrderCancelled, n, 3, events.OrderCancelled{OrderID: id, Reason: events.ReasonPaymentDeclined}),
		b.event(events.TypePaymentRefunded, n, 6, events.PaymentRefunded{OrderID: id, PaymentID: "3b1f0c8e-2d4a-5b6c-8d7e-9f0a1b2c3d4e", AmountCents: itemsTotal, Reason: events.ReasonFulfilmentFailed}),
	}
}

func (b *builder) notifyBatch() []byte {
	var bodies []string
	for n := 1; n <= 2; n++ {
		for _, e := range b.customerFacing(n) {
			bodies = append(bodies, string(b.json(map[string]string{
				"Type": "Notification", "MessageId": uuid.NewSHA1(uuid.NameSpaceOID, []byte("bench/sns/"+e.ID)).String(),
				"TopicArn": "arn:aws:sns:us-east-1:000000000000:orderflow-bench-order-notifications",
				"Message":  string(b.eventBridge(e)), "Timestamp": benchNow.Format("2006-01-02T15:04:05.000Z"), "SignatureVersion": "1",
			})))
		}
	}
	return b.sqs(notifyQueueARN, bodies)
}

// lifecycles are the five events of two shipped orders.
func (b *builder) lifecycles() []events.Envelope {
	var out []events.Envelope
	for n := 1; n <= 2; n++ {
		id := orderID(n)
		out = append(out, b.placed(n),
			b.event(events.TypeInventoryReserved, n, 2, events.InventoryReserved{OrderID: id, Items: stockLines()}),
			b.event(events.TypePaymentApproved, n, 3, events.PaymentApproved{OrderID: id, PaymentID: "3b1f0c8e-2d4a-5b6c-8d7e-9f0a1b2c3d4e", AmountCents: itemsTotal}),
			b.event(events.TypeOrderConfirmed, n, 4, events.OrderConfirmed{OrderID: id, TotalCents: itemsTotal}),
			b.event(events.TypeOrderShipped, n, 5, events.OrderShipped{OrderID: id, ShipmentID: "9a4e7c21-6d3b-4f58-8b0e-1c7d5a2f4e69", Carrier: "ACME Parcel"}))
	}
	return out
}

// uncounted are ten events the sales totals ignore.
func (b *builder) uncounted() []events.Envelope {
	var out []events.Envelope
	for _, e := range b.lifecycles() {
		if e.Type != events.TypePaymentApproved {
			out = append(out, e)
		}
	}
	for n := 3; len(out) < benchBatchSize; n++ {
		out = append(out, b.placed(n))
	}
	return out
}

func (b *builder) kinesisBatch(evs []events.Envelope) []byte {
	var recs []map[string]any
	for i, e := range evs {
		seq := fmt.Sprintf("4959033827149025660855969253836157109592157598913658%04d", i)
		recs = append(recs, map[string]any{
			"kinesis": map[string]any{
				"kinesisSchemaVersion": "1.0", "partitionKey": e.OrderID, "sequenceNumber": seq,
				"data": b.eventBridge(e), "approximateArrivalTimestamp": float64(benchNow.UnixMilli()) / 1000,
			},
			"eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": "shardId-000000000000:" + seq, "eventName": "aws:kinesis:record",
			"invokeIdentityArn": "arn:aws:iam::000000000000:role/orderflow-bench", "awsRegion": benchRegion, "eventSourceARN": streamARN,
		})
	}
	return b.json(map[string]any{"Records": recs})
}

func (b *builder) statusChange() []byte {
	exec := strings.Replace(stateMachineARN, ":stateMachine:", ":execution:", 1) + ":0b4c6f7e-2a1d-5e3f-9c8b-7a6d5e4f3a2b"
	return b.json(map[string]any{
		"version": "0", "id": "315c1398-40ff-a850-213b-158f73e60175", "detail-type": "Step Functions Execution Status Change",
		"source": "aws.states", "account": benchAccount, "time": benchNow.Format(time.RFC3339), "region": benchRegion, "resources": []string{exec},
		"detail": map[string]any{
			"executionArn": exec, "stateMachineArn": stateMachineARN, "name": exec[strings.LastIndex(exec, ":")+1:], "status": "FAILED",
			"startDate": benchNow.UnixMilli(), "stopDate": benchNow.Add(time.Minute).UnixMilli(),
			"input": string(b.eventBridge(b.placed(1))), "inputDetails": map[string]bool{"included": true},
			"output": nil, "outputDetails": nil, "error": "FulfilmentFailed", "cause": "the order was cancelled: it could not be fulfilled",
		},
	})
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/benchfixture"
	"github.com/orderflow-dev/orderflow/functions/internal/boot"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

// Benchmarks of the two routes customers call most: POST /orders and GET /orders/{orderId},
// each as API Gateway's HTTP API sends it (payload 2.0, JWT authorizer), on fakes that keep
// nothing. scripts/bench pairs each BenchmarkHandle<X> with its BenchmarkFloor<X>.

// benchPlaceBody is a three-line order paid with the approving test token.
const benchPlaceBody = `{"items":[{"sku":"SKU-001","quantity":2},{"sku":"SKU-002","quantity":3},{"sku":"SKU-042","quantity":1}],"payment":{"token":"tok_visa"}}`

// benchRequest is route as API Gateway sends it from a customer signed in with a Cognito
// access token: every header and authorizer claim it passes on.
func benchRequest(tb testing.TB, route, path, body string) []byte {
	tb.Helper()
	method, _, _ := strings.Cut(route, " ")
	now := fixture.Now
	claims := map[string]string{
		"sub": fixture.Customer, "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEfGhI",
		"client_id": "5n1kq3v2o8m4c6r0t9a7b3d1e", "origin_jti": "0c9d8e7f-6a5b-4c3d-2e1f-0a9b8c7d6e5f",
		"event_id": "7f6e5d4c-3b2a-4190-8f7e-6d5c4b3a2910", "token_use": "access", "scope": "aws.cognito.signin.user.admin",
		"auth_time": strconv.FormatInt(now.Add(-10*time.Minute).Unix(), 10), "exp": strconv.FormatInt(now.Add(50*time.Minute).Unix(), 10),
		"iat": strconv.FormatInt(now.Add(-10*time.Minute).Unix(), 10), "jti": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", "username": fixture.Customer,
	}
	headers := map[string]string{
		"accept": "application/json", "accept-encoding": "gzip, deflate, br",
		"authorization":  "Bearer eyJraWQiOiJrZXktMSIsImFsZyI6IlJTMjU2In0." + benchfixture.TaskToken(0)[:600] + "." + benchfixture.TaskToken(1)[:342],
		"content-length": strconv.Itoa(len(body)), "content-type": "application/json",
		"host": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com", "user-agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
		"x-amzn-trace-id": "Root=1-6797f2a1-3c4b5d6e7f8091a2b3c4d5e6", "x-forwarded-for": "203.0.113.7", "x-forwarded-port": "443", "x-forwarded-proto": "https",
	}
	if body == "" {
		delete(headers, "content-length")
		delete(headers, "content-type")
	} else {
		headers["idempotency-key"] = `"8e03978e-40d5-43e8-bc93-6894a57f9324"`
	}
	req := lambdaevents.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: route, RawPath: path, Headers: headers, Body: body,
		RequestContext: lambdaevents.APIGatewayV2HTTPRequestContext{
			RouteKey: route, AccountID: benchfixture.Account, Stage: "$default", RequestID: "JKJaXmPLvHcESHA=",
			APIID: "a1b2c3d4e5", DomainName: "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com", DomainPrefix: "a1b2c3d4e5",
			Time: now.Format("02/Jan/2006:15:04:05 -0700"), TimeEpoch: now.UnixMilli(),
			HTTP: lambdaevents.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: method, Path: path, Protocol: "HTTP/1.1", SourceIP: "203.0.113.7", UserAgent: headers["user-agent"],
			},
			Authorizer: &lambdaevents.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				JWT: &lambdaevents.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
			},
		},
	}
	return benchfixture.JSON(tb, req)
}

// benchOrderHistory is a shipped order's five events, as the event store returns them.
func benchOrderHistory(tb testing.TB, orderID string) []events.Envelope {
	tb.Helper()
	line := []events.StockLine{{SKU: "SKU-001", Quantity: 1}}
	return []events.Envelope{
		fixture.Placed(tb, orderID, "tok_visa"),
		fixture.Event(tb, events.TypeInventoryReserved, orderID, 2, events.InventoryReserved{OrderID: orderID, Items: line}),
		fixture.Event(tb, events.TypePaymentApproved, orderID, 3, events.PaymentApproved{OrderID: orderID, PaymentID: "3b1f0c8e-2d4a-5b6c-8d7e-9f0a1b2c3d4e", AmountCents: 4999}),
		fixture.Event(tb, events.TypeOrderConfirmed, orderID, 4, events.OrderConfirmed{OrderID: orderID, TotalCents: 4999}),
		fixture.Event(tb, events.TypeOrderShipped, orderID, 5, events.OrderShipped{OrderID: orderID, ShipmentID: "9a4e7c21-6d3b-4f58-8b0e-1c7d5a2f4e69", Carrier: "ACME Parcel"}),
	}
}

// --- fakes that keep nothing: every op takes the same path

type benchBus struct{}

func (benchBus) Publish(context.Context, ...events.Entry) error { return nil }

type benchEvents struct{ history []events.Envelope }

func (s benchEvents) Load(context.Context, string) ([]events.Envelope, error) { return s.history, nil }

func (benchEvents) CustomerOrders(context.Context, string, int, *store.OrderCursor) ([]store.ListedOrder, *store.OrderCursor, error) {
	return nil, nil, nil
}

type benchStock struct{}

func (benchStock) Stock(context.Context, []string) (map[string]int, error) { return nil, nil }

// benchKeys claims every Idempotency-Key: each op is a first request.
type benchKeys struct{}

func (benchKeys) Claim(_ context.Context, rec store.IdempotencyRecord, _ time.Time) (store.IdempotencyRecord, bool, error) {
	return rec, true, nil
}

func (benchKeys) TakeOver(context.Context, string, string, string, string, time.Time, time.Time) (store.IdempotencyRecord, bool, error) {
	return store.IdempotencyRecord{}, false, nil
}

func (benchKeys) Complete(context.Context, string, string, string, string) error { return nil }

func (benchKeys) Release(context.Context, string, string, string, time.Time) error { return nil }

type benchIntents struct{}

func (benchIntents) Put(context.Context, store.PaymentIntent) error { return nil }

// benchHandler is the handler on those fakes, with its real clock and id generators.
func benchHandler(history []events.Envelope) *Handler {
	return newHandler("orders", Ports{Bus: benchBus{}, Events: benchEvents{history}, Stock: benchStock{}, Keys: benchKeys{}, Intents: benchIntents{}},
		benchfixture.Logger())
}

func wantStatus(status int) func([]byte) error {
	return func(out []byte) error {
		var resp lambdaevents.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			return err
		}
		if resp.StatusCode != status {
			return fmt.Errorf("status %d, want %d", resp.StatusCode, status)
		}
		return nil
	}
}

// benchPlace is POST /orders with an Idempotency-Key, answered 201.
func benchPlace(tb testing.TB) ([]byte, lambda.Handler, func([]byte) error) {
	return benchRequest(tb, routePlace, "/orders", benchPlaceBody), boot.Handler(benchHandler(nil).Handle), wantStatus(http.StatusCreated)
}

// benchGet is GET /orders/{orderId} of a shipped order, answered 200.
func benchGet(tb testing.TB) ([]byte, lambda.Handler, func([]byte) error) {
	id := fixture.OrderID(1)
	var req lambdaevents.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(benchRequest(tb, routeGet, "/orders/"+id, ""), &req); err != nil {
		tb.Fatal(err)
	}
	req.PathParameters = map[string]string{"orderId": id}
	return benchfixture.JSON(tb, req), boot.Handler(benchHandler(benchOrderHistory(tb, id)).Handle), wantStatus(http.StatusOK)
}

// POST /orders with an Idempotency-Key: validate, price, claim the key, store the payment
// intent, publish OrderPlaced, answer 201 and store the answer under the key.
func BenchmarkHandleOrderAPIPlace(b *testing.B) { benchfixture.Invoke(b, benchPlace) }

func BenchmarkFloorOrderAPIPlace(b *testing.B) {
	benchfixture.Floor[lambdaevents.APIGatewayV2HTTPRequest, lambdaevents.APIGatewayV2HTTPResponse](b, benchPlace)
}

// GET /orders/{orderId} of a shipped order: load its five events, fold them, answer 200.
func BenchmarkHandleOrderAPIGet(b *testing.B) { benchfixture.Invoke(b, benchGet) }

func BenchmarkFloorOrderAPIGet(b *testing.B) {
	benchfixture.Floor[lambdaevents.APIGatewayV2HTTPRequest, lambdaevents.APIGatewayV2HTTPResponse](b, benchGet)
}

// The benchmarks' inputs take the paths they are meant to measure, through the handler build makes.
func TestBenchmarkInputs(t *testing.T) {
	benchfixture.Check(t, benchPlace, build, Config{})
	benchfixture.Check(t, benchGet, build, Config{})
}

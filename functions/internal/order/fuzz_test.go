package order_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/order"
)

// Fuzz tests: `go test` runs their seed corpora (the f.Add calls and testdata/fuzz); `make fuzz`
// explores past them.

// FuzzParsePlaceOrder: any body is either rejected with ErrTooLarge or an *InputError, or
// accepted as a request that is valid, priceable, what encoding/json would also read (strictly),
// and that survives its own encoding with the same fingerprint.
func FuzzParsePlaceOrder(f *testing.F) {
	for _, seed := range []string{
		validBody,
		`{"items":[{"sku":"SKU-003","quantity":10}],"payment":{"token":"tok_declined"}}`,
		`{"items":[],"payment":{"token":"tok_visa"}}`,
		`{"items":[{"sku":"SKU-001","quantity":1,"sku":"SKU-002"}],"payment":{"token":"tok_visa"}}`,
		`{"items":[{"sku":"SKU-001","quantity":1.0}],"payment":{"token":"tok_visa"}}`,
		`{"items":[{"sku":"SKU-001","quantity":1e0}],"payment":{"token":"tok_visa"}}`,
		`{"items":null,"payment":null}`,
		`{"customerId":"x","items":[{"sku":"SKU-001","quantity":1}],"payment":{"token":"tok_visa"}}`,
		"\xEF\xBB\xBF" + validBody,
		`{"items":[{"sku":"SKU-001","quantity":1}],"payment":{"token":"tok_visa"}} {}`,
		`[1,2]`, `"x"`, `null`, ``, `{`, "{\"items\":\"\xff\"}",
		`{"items":[{"sku":"SKU-001","quantity":2147483648}],"payment":{"token":"tok_visa"}}`,
		`{"items":[{"sku":"SKU-001","quantity":1}],"payment":{"token":"tok_visa","extra":{"a":1,"a":2}}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := order.ParsePlaceOrder(body)
		if err != nil {
			var in *order.InputError
			if !errors.Is(err, order.ErrTooLarge) && !errors.As(err, &in) {
				t.Fatalf("error %T %v is neither ErrTooLarge nor an *InputError", err, err)
			}
			if in != nil && in.Message == "" {
				t.Fatalf("an InputError without a message (field %q)", in.Field)
			}
			return
		}
		if err := req.Validate(); err != nil {
			t.Fatalf("accepted %q but Validate says %v", body, err)
		}
		if _, err := order.Price(req, customer); err != nil {
			t.Fatalf("accepted %q but cannot price it: %v", body, err)
		}
		// encoding/json, strictly, reads the same request from the same bytes.
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		var std order.PlaceOrderRequest
		if err := dec.Decode(&std); err != nil {
			t.Fatalf("accepted %q, which encoding/json rejects: %v", body, err)
		}
		if dec.More() {
			t.Fatalf("accepted %q, which has more than one JSON value", body)
		}
		if !reflect.DeepEqual(std, req) {
			t.Fatalf("accepted %q as %+v; encoding/json reads %+v", body, req, std)
		}
		// Its canonical encoding parses back to the same request and fingerprint.
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		back, err := order.ParsePlaceOrder(again)
		if err != nil {
			t.Fatalf("the encoding %s of an accepted request is rejected: %v", again, err)
		}
		if order.Fingerprint(back) != order.Fingerprint(req) {
			t.Fatalf("fingerprint changed through %s", again)
		}
	})
}

// FuzzFold: whatever order, duplication or loss the store or a stream delivers a real history
// in, Fold equals the fold of the contiguous prefix it holds, in order: the fold is a function
// of the set of events, not of their delivery. The fuzzer picks the delivery: each byte names
// one event of the history (by its value modulo the history's length).
func FuzzFold(f *testing.F) {
	f.Add(uint8(0), []byte{0, 1, 2, 3, 4, 5, 6})
	f.Add(uint8(1), []byte{6, 4, 0, 4, 2, 5, 1, 3, 6})
	f.Add(uint8(2), []byte{3, 0, 4, 2, 1})
	f.Add(uint8(3), []byte{0, 1, 3, 4})
	f.Add(uint8(4), []byte{2, 2, 2})
	f.Add(uint8(0), []byte{})
	f.Fuzz(func(t *testing.T, which uint8, delivery []byte) {
		hs := []func(*testing.T) []events.Envelope{
			func(t *testing.T) []events.Envelope {
				return placedV2(t).reserved().approved().confirmed().shipped().evs
			},
			func(t *testing.T) []events.Envelope {
				return placedV2(t).reserved().approved().confirmed().refunded().released(events.ReasonFulfilmentFailed).cancelled(events.ReasonFulfilmentFailed).evs
			},
			func(t *testing.T) []events.Envelope {
				return placedV2(t).reserved().declined().released(events.ReasonPaymentDeclined).cancelled(events.ReasonPaymentDeclined).evs
			},
			func(t *testing.T) []events.Envelope { return placedV1(t).cancelled(events.ReasonOutOfStock).evs },
			func(t *testing.T) []events.Envelope { return placedV1(t).reserved().declined().evs },
		}
		history := hs[int(which)%len(hs)](t)
		var delivered []events.Envelope
		held := map[int]bool{}
		for _, b := range delivery {
			i := int(b) % len(history)
			delivered = append(delivered, history[i])
			held[i] = true
		}
		prefix := 0
		for held[prefix] {
			prefix++
		}
		got, err := order.Fold(delivered)
		if prefix == 0 {
			if !errors.Is(err, order.ErrNotFound) {
				t.Fatalf("without OrderPlaced: Fold = %+v, %v; want ErrNotFound", got, err)
			}
			return
		}
		want, werr := order.Fold(history[:prefix])
		if err != nil || werr != nil {
			t.Fatalf("Fold(delivery %v) error %v; the prefix's %v", delivery, err, werr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("delivery %v folds to %+v; its contiguous prefix to %+v", delivery, got, want)
		}
	})
}

// FuzzFoldTampered: a history whose one event carries any payload, type or sequence folds or
// fails with one of Fold's errors; it never panics and never yields an order in no status.
func FuzzFoldTampered(f *testing.F) {
	f.Add(uint8(1), "InventoryReserved", uint8(2), []byte(`{"orderId":"x"}`))
	f.Add(uint8(0), "OrderPlaced", uint8(1), []byte(`{"orderId":1}`))
	f.Add(uint8(4), "OrderCancelled", uint8(5), []byte(`{"reason":null}`))
	f.Add(uint8(3), "PaymentRefunded", uint8(4), []byte(`not json`))
	f.Add(uint8(2), "Nonsense", uint8(3), []byte(`{}`))
	f.Fuzz(func(t *testing.T, at uint8, typ string, seq uint8, payload []byte) {
		history := placedV2(t).reserved().approved().confirmed().shipped().evs
		i := int(at) % len(history)
		history[i].Type = events.Type(typ)
		history[i].Sequence = int(seq)
		history[i].Payload = payload
		o, err := order.Fold(history)
		if err != nil {
			if !errors.Is(err, order.ErrNotFound) && !errors.Is(err, order.ErrConflict) && !errors.Is(err, order.ErrCorrupt) {
				t.Fatalf("Fold error %v is none of ErrNotFound, ErrConflict, ErrCorrupt", err)
			}
			return
		}
		switch o.Status {
		case order.StatusPlaced, order.StatusConfirmed, order.StatusShipped, order.StatusCancelled:
		default:
			t.Fatalf("folded to status %q", o.Status)
		}
		if len(o.Events) != o.Version {
			t.Fatalf("%d events applied but version %d", len(o.Events), o.Version)
		}
	})
}

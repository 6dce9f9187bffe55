package inject

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/orderflow-dev/orderflow/events"
)

type fakeStore struct{ evs []events.Envelope }

func (f *fakeStore) Load(context.Context, string) ([]events.Envelope, error) { return f.evs, nil }

type fakeBus struct{ entries []events.Entry }

func (f *fakeBus) Publish(_ context.Context, entries ...events.Entry) error {
	f.entries = append(f.entries, entries...)
	return nil
}

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func stored(t *testing.T) []events.Envelope {
	t.Helper()
	placed, err := events.Parse(events.Sample(events.TypeOrderPlaced, 2))
	if err != nil {
		t.Fatal(err)
	}
	id := placed.OrderID
	shipped, err := events.New(events.Spec{Type: events.TypeOrderShipped, Version: 1, OrderID: id, Sequence: 2, CorrelationID: placed.ID, CausationID: placed.ID, Payload: events.OrderShipped{OrderID: id, ShipmentID: "9a4e7c21-6d3b-4f58-8b0e-1c7d5a2f4e69", Carrier: "ACME Parcel"}, Time: now})
	if err != nil {
		t.Fatal(err)
	}
	return []events.Envelope{placed, shipped}
}

func TestDuplicateRepublishesUnchanged(t *testing.T) {
	evs := stored(t)
	for _, tc := range []struct {
		name  string
		types []events.Type
		want  []events.Type
	}{
		{"every stored event", nil, []events.Type{events.TypeOrderPlaced, events.TypeOrderShipped}},
		{"one type", []events.Type{events.TypeOrderShipped}, []events.Type{events.TypeOrderShipped}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bus := &fakeBus{}
			sent, err := Duplicate(context.Background(), Deps{Store: &fakeStore{evs}, Bus: bus, BusName: "orders"}, evs[0].OrderID, tc.types...)
			if err != nil {
				t.Fatal(err)
			}
			if len(sent) != len(tc.want) || len(bus.entries) != len(tc.want) {
				t.Fatalf("sent %d, published %d, want %d", len(sent), len(bus.entries), len(tc.want))
			}
			for i, entry := range bus.entries {
				e, err := events.Parse([]byte(entry.Detail))
				if err != nil {
					t.Fatal(err)
				}
				orig := sent[i]
				if e.Type != tc.want[i] || e.ID != orig.ID || !e.Time.Equal(orig.Time) || compact(t, e.Payload) != compact(t, orig.Payload) || entry.EventBusName != "orders" {
					t.Errorf("published %s %s at %v, want the stored %s %s unchanged", e.Type, e.ID, e.Time, orig.Type, orig.ID)
				}
			}
		})
	}
	if _, err := Duplicate(context.Background(), Deps{Store: &fakeStore{evs}, Bus: &fakeBus{}}, evs[0].OrderID, events.TypeOrderConfirmed); err == nil {
		t.Error("duplicating a type the order does not have succeeded")
	}
	if _, err := Duplicate(context.Background(), Deps{Store: &fakeStore{}, Bus: &fakeBus{}}, evs[0].OrderID); err == nil {
		t.Error("duplicating an unknown order succeeded")
	}
}

func TestPlaceV1(t *testing.T) {
	bus := &fakeBus{}
	d := Deps{Store: &fakeStore{}, Bus: bus, BusName: "orders", Now: func() time.Time { return now }}
	a, err := PlaceV1(context.Background(), d, V1Order{Token: "tok_visa", SKU: "SKU-001", Quantity: 2})
	if err != nil {
		t.Fatal(err)
	}
	b, err := PlaceV1(context.Background(), d, V1Order{})
	if err != nil {
		t.Fatal(err)
	}
	if a.OrderID == b.OrderID {
		t.Error("two injected orders share an id")
	}
	if len(bus.entries) != 2 {
		t.Fatalf("published %d entries", len(bus.entries))
	}
	e, err := events.Parse([]byte(bus.entries[0].Detail))
	if err != nil {
		t.Fatal(err)
	}
	if e.Type != events.TypeOrderPlaced || e.Version != 1 || e.Sequence != 1 || e.CorrelationID != e.ID || bus.entries[0].Source != "orderflow.orders" {
		t.Errorf("published %+v, want an OrderPlaced v1 at sequence 1, its own correlation", e)
	}
	var p events.OrderPlacedV1
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		t.Fatal(err)
	}
	if p.PaymentToken != "tok_visa" || len(p.Items) != 1 || p.Items[0].SKU != "SKU-001" || p.Items[0].UnitPriceCents != 4999 || p.TotalCents != 2*4999 {
		t.Errorf("payload %+v, want 2 x SKU-001 at the catalogue price, paid with tok_visa", p)
	}
	sample, _ := events.Parse(events.Sample(events.TypeOrderPlaced, 1))
	sp, _ := events.DecodePayload[events.OrderPlacedV1](sample)
	bp, _ := events.DecodePayload[events.OrderPlacedV1](b)
	if bp.CustomerID != sp.CustomerID || bp.PaymentToken != sp.PaymentToken || bp.TotalCents != sp.TotalCents || b.OrderID == sample.OrderID {
		t.Errorf("unchanged v1 order %+v, want the sample's %+v with a fresh id", bp, sp)
	}
	if up, err := b.Upcast(); err != nil || up.Version != events.LatestVersion(events.TypeOrderPlaced) {
		t.Errorf("the injected v1 does not upcast: %v", err)
	}
	if _, err := PlaceV1(context.Background(), d, V1Order{SKU: "SKU-999"}); err == nil {
		t.Error("an unknown SKU was accepted")
	}
}

// A quantity or a number of copies out of range is refused, not published as the sample's or
// as one copy.
func TestPlaceV1RefusesOutOfRange(t *testing.T) {
	for _, o := range []V1Order{{Quantity: -1}, {Quantity: events.MaxLineQuantity + 1}, {Copies: -1}, {Copies: MaxCopies + 1}} {
		bus := &fakeBus{}
		if _, err := PlaceV1(context.Background(), Deps{Store: &fakeStore{}, Bus: bus, BusName: "orders"}, o); err == nil || len(bus.entries) != 0 {
			t.Errorf("PlaceV1(%+v): %v, %d published; want an error and nothing published", o, err, len(bus.entries))
		}
	}
}

func compact(t *testing.T, b []byte) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

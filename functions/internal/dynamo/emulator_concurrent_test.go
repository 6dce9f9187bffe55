package dynamo

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

// deliveries is how many copies of one delivery each write below gets at the same moment.
const deliveries = 8

// atOnce runs do for each of n deliveries, released together, and returns their errors. A
// delivery retries an error that retry says is transient (a transaction conflict: as Lambda or the
// state machine would retry it) until a minute has gone.
func atOnce(n int, do func(i int) error, retry func(error) bool) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	deadline := time.Now().Add(time.Minute)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for attempt := 1; ; attempt++ {
				errs[i] = do(i)
				if errs[i] == nil || !retry(errs[i]) || time.Now().After(deadline) {
					return
				}
				time.Sleep(time.Duration(attempt) * 20 * time.Millisecond)
			}
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// transient is any error but the answers the stores give on purpose.
func transient(err error) bool {
	return !errors.Is(err, store.ErrDuplicate) && !errors.Is(err, store.ErrConflict)
}

// One delivery, received by several consumers at the same moment (at-least-once: a redelivery
// racing the first, or a duplicate event): against the real conditional writes, one write takes
// effect and every copy is told what is in force.
func TestEmulatorSameDeliveryAtOnce(t *testing.T) {
	db := emulator(t)
	ctx := context.Background()

	t.Run("inventory", func(t *testing.T) {
		inv := NewInventory(db, table(t, db, "pk"))
		if err := inv.SetStock(ctx, "SKU-003", 5); err != nil {
			t.Fatal(err)
		}
		stock := func() int {
			s, err := inv.Stock(ctx, []string{"SKU-003"})
			if err != nil {
				t.Fatal(err)
			}
			return s["SKU-003"]
		}
		statuses := make([]store.ReservationStatus, deliveries)
		errs := atOnce(deliveries, func(i int) (err error) {
			statuses[i], err = inv.Reserve(ctx, "dup", []store.Line{{SKU: "SKU-003", Quantity: 3, InitialStock: 5}})
			return err
		}, transient)
		for i := range deliveries {
			if errs[i] != nil || statuses[i] != store.Reserved {
				t.Errorf("reserve copy %d: %q, %v; want reserved (each copy)", i, statuses[i], errs[i])
			}
		}
		if n := stock(); n != 2 {
			t.Fatalf("stock after %d copies of one reservation of 3: %d, want 2", deliveries, n)
		}
		released := make([][]store.Line, deliveries)
		errs = atOnce(deliveries, func(i int) (err error) {
			statuses[i], released[i], err = inv.Release(ctx, "dup")
			return err
		}, transient)
		for i := range deliveries {
			if errs[i] != nil || statuses[i] != store.Released || !reflect.DeepEqual(released[i], []store.Line{{SKU: "SKU-003", Quantity: 3}}) {
				t.Errorf("release copy %d: %q %v, %v; want released, 3 of SKU-003", i, statuses[i], released[i], errs[i])
			}
		}
		if n := stock(); n != 5 {
			t.Errorf("stock after %d copies of its release: %d, want 5", deliveries, n)
		}
	})

	t.Run("shipments", func(t *testing.T) {
		shipments := NewShipments(db, table(t, db, "orderId"))
		got := make([]store.Shipment, deliveries)
		errs := atOnce(deliveries, func(i int) (err error) {
			// A different id each, so that which copy's write won shows.
			got[i], err = shipments.Record(ctx, store.Shipment{OrderID: "dup", ShipmentID: fmt.Sprintf("s%d", i), Carrier: "ACME Parcel", CreatedAt: fixture.Now})
			return err
		}, transient)
		held, ok, err := ShipmentOf(ctx, db, shipments.table, "dup")
		if err != nil || !ok {
			t.Fatalf("stored shipment: %v, %v", ok, err)
		}
		for i := range deliveries {
			if errs[i] != nil || got[i] != held {
				t.Errorf("copy %d: %+v, %v; want the one stored, %+v", i, got[i], errs[i], held)
			}
		}
	})

	t.Run("notifications", func(t *testing.T) {
		notifications := NewNotifications(db, table(t, db, "eventId", "channel", "S"))
		n := store.Notification{EventID: "dup", Channel: "email", OrderID: "o", Type: events.TypeOrderShipped, Message: "m", SentAt: fixture.Now, ExpiresAt: fixture.Now.Add(time.Hour)}
		errs := atOnce(deliveries, func(int) error { return notifications.Record(ctx, n) }, transient)
		if sent, dup := count(errs); sent != 1 || dup != deliveries-1 {
			t.Errorf("%d copies: %d recorded, %d duplicates (%v); want 1 and %d", deliveries, sent, dup, errs, deliveries-1)
		}
	})

	t.Run("analytics", func(t *testing.T) {
		analyticsTable := table(t, db, "pk")
		analytics := NewAnalytics(db, analyticsTable)
		add := store.Totals{Orders: 1, RevenueCents: 4999}
		errs := atOnce(deliveries, func(int) error { return analytics.Add(ctx, "dup", add, fixture.Now) }, transient)
		if counted, dup := count(errs); counted != 1 || dup != deliveries-1 {
			t.Errorf("%d copies: %d counted, %d duplicates (%v); want 1 and %d", deliveries, counted, dup, errs, deliveries-1)
		}
		if got, err := SalesTotals(ctx, db, analyticsTable); err != nil || got != add {
			t.Errorf("totals = %+v, %v; want %+v, counted once", got, err, add)
		}
	})
}

// count tells the copies that wrote (nil) from those told they were duplicates.
func count(errs []error) (wrote, duplicates int) {
	for _, err := range errs {
		switch {
		case err == nil:
			wrote++
		case errors.Is(err, store.ErrDuplicate):
			duplicates++
		}
	}
	return wrote, duplicates
}

package dynamo

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/orderflow-dev/orderflow/functions/internal/catalogue"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

func TestEmulatorInventory(t *testing.T) {
	db := emulator(t)
	inv := NewInventory(db, table(t, db, "pk"))
	ctx := context.Background()
	headlamps := func(n int) []store.Line { return []store.Line{{SKU: "SKU-003", Quantity: n, InitialStock: 5}} }
	shoes := func(n int) store.Line { return store.Line{SKU: "SKU-001", Quantity: n, InitialStock: 100} }
	stockOf := func() map[string]int {
		t.Helper()
		s, err := inv.Stock(ctx, []string{"SKU-001", "SKU-003", "SKU-404"})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := stockOf(); len(s) != 0 {
		t.Fatalf("fresh table has stock %v", s)
	}
	reserve := func(orderID string, lines []store.Line) func() (store.ReservationStatus, []store.Line, error) {
		return func() (store.ReservationStatus, []store.Line, error) {
			st, err := inv.Reserve(ctx, orderID, lines)
			return st, nil, err
		}
	}
	release := func(orderID string) func() (store.ReservationStatus, []store.Line, error) {
		return func() (store.ReservationStatus, []store.Line, error) { return inv.Release(ctx, orderID) }
	}
	steps := []struct {
		name      string
		do        func() (store.ReservationStatus, []store.Line, error)
		want      store.ReservationStatus
		wantLines []store.Line
		wantErr   error
		wantStock map[string]int
	}{
		{"reserve 3 of 5", reserve("o1", headlamps(3)), store.Reserved, nil, nil, map[string]int{"SKU-003": 2}},
		{"retry reserve", reserve("o1", headlamps(3)), store.Reserved, nil, nil, map[string]int{"SKU-003": 2}},
		{"reserve 3 of 2", reserve("o2", headlamps(3)), store.OutOfStock, nil, nil, map[string]int{"SKU-003": 2}},
		{"retry out of stock", reserve("o2", headlamps(1)), store.OutOfStock, nil, nil, map[string]int{"SKU-003": 2}},
		{"never stocked", reserve("o3", []store.Line{{SKU: "SKU-404", Quantity: 1}, {SKU: "SKU-003", Quantity: 1, InitialStock: 5}}), store.OutOfStock, nil, nil, map[string]int{"SKU-003": 2}},
		{"reserve two skus, one twice", reserve("o4", []store.Line{headlamps(1)[0], shoes(2), headlamps(1)[0]}), store.Reserved, nil, nil, map[string]int{"SKU-001": 98, "SKU-003": 0}},
		{"release", release("o1"), store.Released, []store.Line{{SKU: "SKU-003", Quantity: 3}}, nil, map[string]int{"SKU-001": 98, "SKU-003": 3}},
		{"retry release", release("o1"), store.Released, []store.Line{{SKU: "SKU-003", Quantity: 3}}, nil, map[string]int{"SKU-001": 98, "SKU-003": 3}},
		{"release the stored lines, merged", release("o4"), store.Released, []store.Line{{SKU: "SKU-001", Quantity: 2}, {SKU: "SKU-003", Quantity: 2}}, nil, map[string]int{"SKU-001": 100, "SKU-003": 5}},
		{"release out of stock", release("o2"), store.OutOfStock, nil, nil, map[string]int{"SKU-001": 100, "SKU-003": 5}},
		{"release unknown: tombstone", release("o9"), store.NoReservation, nil, nil, map[string]int{"SKU-001": 100, "SKU-003": 5}},
		{"release unknown again", release("o9"), store.NoReservation, nil, nil, map[string]int{"SKU-001": 100, "SKU-003": 5}},
		{"reserve after the tombstone takes nothing", reserve("o9", headlamps(3)), "", nil, store.ErrConflict, map[string]int{"SKU-001": 100, "SKU-003": 5}},
		{"short of stock after the tombstone: not recorded as out of stock", reserve("o9", headlamps(9)), "", nil, store.ErrConflict, map[string]int{"SKU-001": 100, "SKU-003": 5}},
		{"the tombstone stays", release("o9"), store.NoReservation, nil, nil, map[string]int{"SKU-001": 100, "SKU-003": 5}},
		{"reserve after release", reserve("o1", headlamps(3)), "", nil, store.ErrConflict, map[string]int{"SKU-001": 100, "SKU-003": 5}},
	}
	for _, s := range steps {
		got, lines, err := s.do()
		if got != s.want || !reflect.DeepEqual(lines, s.wantLines) || !errors.Is(err, s.wantErr) || (s.wantErr == nil && err != nil) {
			t.Fatalf("%s: got %q %v, %v; want %q %v, %v", s.name, got, lines, err, s.want, s.wantLines, s.wantErr)
		}
		if stock := stockOf(); !reflect.DeepEqual(stock, s.wantStock) {
			t.Fatalf("%s: stock %v, want %v", s.name, stock, s.wantStock)
		}
	}
}

func TestEmulatorInventorySetStock(t *testing.T) {
	db := emulator(t)
	inv := NewInventory(db, table(t, db, "pk"))
	ctx := context.Background()
	bottle, _ := catalogue.Lookup("SKU-042") // initial stock 100
	bottles := func(n int) []store.Line {
		return []store.Line{{SKU: bottle.SKU, Quantity: n, InitialStock: bottle.InitialStock}}
	}
	left := func() int {
		t.Helper()
		s, err := inv.Stock(ctx, []string{bottle.SKU})
		if err != nil {
			t.Fatal(err)
		}
		n, ok := s[bottle.SKU]
		if !ok {
			t.Fatal("no stock item")
		}
		return n
	}
	steps := []struct {
		name      string
		do        func() (store.ReservationStatus, error)
		want      store.ReservationStatus
		wantStock int
	}{
		{"set 7", func() (store.ReservationStatus, error) { return "", inv.SetStock(ctx, bottle.SKU, 7) }, "", 7},
		{"reserve 2", func() (store.ReservationStatus, error) { return inv.Reserve(ctx, "s1", bottles(2)) }, store.Reserved, 5},
		{"reserve 6 of 5", func() (store.ReservationStatus, error) { return inv.Reserve(ctx, "s2", bottles(6)) }, store.OutOfStock, 5},
		{"set 0", func() (store.ReservationStatus, error) { return "", inv.SetStock(ctx, bottle.SKU, 0) }, "", 0},
		{"reserve 1 of 0", func() (store.ReservationStatus, error) { return inv.Reserve(ctx, "s3", bottles(1)) }, store.OutOfStock, 0},
		{"release on top of the new stock", func() (store.ReservationStatus, error) { st, _, err := inv.Release(ctx, "s1"); return st, err }, store.Released, 2},
	}
	for _, s := range steps {
		got, err := s.do()
		if err != nil || got != s.want {
			t.Fatalf("%s: got %q, %v; want %q", s.name, got, err, s.want)
		}
		if n := left(); n != s.wantStock {
			t.Fatalf("%s: stock %d, want %d", s.name, n, s.wantStock)
		}
	}
	if err := inv.SetStock(ctx, bottle.SKU, -1); err == nil {
		t.Error("negative stock accepted")
	}
	if n := left(); n != 2 {
		t.Errorf("stock %d after a refused SetStock, want 2", n)
	}
}

// Many orders race for the last units: the conditions, not luck, decide. Each order retries
// what the state machine would retry (a transaction conflict), until a deadline.
func TestEmulatorInventoryConcurrentReserves(t *testing.T) {
	db := emulator(t)
	inv := NewInventory(db, table(t, db, "pk"))
	ctx := context.Background()
	const units, orders = 5, 12
	bottle, _ := catalogue.Lookup("SKU-042") // initial stock 100: SetStock must take precedence
	if err := inv.SetStock(ctx, bottle.SKU, units); err != nil {
		t.Fatal(err)
	}
	line := []store.Line{{SKU: bottle.SKU, Quantity: 1, InitialStock: bottle.InitialStock}}
	stock := func() (int, error) {
		s, err := inv.Stock(ctx, []string{bottle.SKU})
		if err != nil {
			return 0, err
		}
		n, ok := s[bottle.SKU]
		if !ok {
			return 0, errors.New("no stock item")
		}
		return n, nil
	}

	// A watcher reads the stock all along: it must never go below zero.
	done := make(chan struct{})
	watched := make(chan []int, 1)
	go func() {
		var seen []int
		for {
			select {
			case <-done:
				watched <- seen
				return
			default:
			}
			if n, err := stock(); err == nil {
				seen = append(seen, n)
			}
		}
	}()

	statuses := make([]store.ReservationStatus, orders)
	errs := atOnce(orders, func(i int) (err error) {
		statuses[i], err = inv.Reserve(ctx, fmt.Sprintf("race-%02d", i), line)
		return err
	}, transient)
	close(done)
	seen := <-watched

	count := map[store.ReservationStatus]int{}
	for i, st := range statuses {
		if errs[i] != nil {
			t.Errorf("order %d: %v", i, errs[i])
		}
		count[st]++
	}
	if count[store.Reserved] != units || count[store.OutOfStock] != orders-units {
		t.Errorf("decisions %v, want %d reserved and %d out of stock", count, units, orders-units)
	}
	if n, err := stock(); err != nil || n != 0 {
		t.Errorf("stock %d (%v), want 0", n, err)
	}
	for _, n := range seen {
		if n < 0 || n > units {
			t.Errorf("stock seen at %d while orders raced (%d reads)", n, len(seen))
			break
		}
	}

	// Releasing every order, at once, gives back exactly what was reserved.
	errs = atOnce(orders, func(i int) error {
		_, _, err := inv.Release(ctx, fmt.Sprintf("race-%02d", i))
		return err
	}, func(error) bool { return true })
	for i, err := range errs {
		if err != nil {
			t.Errorf("release %d: %v", i, err)
		}
	}
	if n, err := stock(); err != nil || n != units {
		t.Errorf("stock %d (%v) after releasing every order, want %d", n, err, units)
	}
}

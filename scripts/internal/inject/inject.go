// Package inject puts events on the bus the way a misbehaving world would, for learners and
// tests: a duplicate of an event already stored (same id: every consumer must ignore it), or an
// order placed with the old OrderPlaced v1 schema (every consumer must upcast it).
package inject

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/toolkit"
	"github.com/orderflow-dev/orderflow/scripts/internal/catalogue"
	"github.com/orderflow-dev/orderflow/scripts/internal/deployed"
)

// eventLoader reads an order's stored events (toolkit.EventStore).
type eventLoader interface {
	Load(ctx context.Context, orderID string) ([]events.Envelope, error)
}

// publisher puts entries on the bus (toolkit.Publisher).
type publisher interface {
	Publish(ctx context.Context, entries ...events.Entry) error
}

// Deps are the event store to read and the bus to publish to.
type Deps struct {
	Store   eventLoader
	Bus     publisher
	BusName string
	Now     func() time.Time
}

// FromStack returns the deployed stack's event store and bus.
func FromStack(s *deployed.Stack) Deps {
	return Deps{
		Store:   toolkit.NewEventStore(dynamodb.NewFromConfig(s.AWS), s.Output("EventStoreTable")),
		Bus:     toolkit.NewPublisher(eventbridge.NewFromConfig(s.AWS)),
		BusName: s.Output("EventBusName"),
		Now:     time.Now,
	}
}

// Duplicate re-publishes the stored events of an order, unchanged (same id, payload and time),
// of the given types (all of them when none is given), in sequence order, and returns them.
func Duplicate(ctx context.Context, d Deps, orderID string, types ...events.Type) ([]events.Envelope, error) {
	stored, err := d.Store.Load(ctx, orderID)
	if err != nil {
		return nil, err
	}
	if len(stored) == 0 {
		return nil, fmt.Errorf("order %s has no stored event", orderID)
	}
	var picked []events.Envelope
	var entries []events.Entry
	for _, e := range stored {
		if len(types) > 0 && !slices.Contains(types, e.Type) {
			continue
		}
		entry, err := e.Entry(d.BusName)
		if err != nil {
			return nil, err
		}
		picked, entries = append(picked, e), append(entries, entry)
	}
	for _, t := range types {
		if !slices.ContainsFunc(picked, func(e events.Envelope) bool { return e.Type == t }) {
			return nil, fmt.Errorf("order %s has no stored %s event", orderID, t)
		}
	}
	if err := d.Bus.Publish(ctx, entries...); err != nil {
		return nil, err
	}
	return picked, nil
}

// MaxCopies is the most copies of an OrderPlaced v1 PlaceV1 puts on the bus at once: enough to
// watch duplicates race, few enough not to flood a local emulator.
const MaxCopies = 50

// V1Order changes the v1 sample order; zero fields keep the sample's.
type V1Order struct {
	CustomerID string
	Token      string // payment token (the sample's declines)
	SKU        string // priced from the catalogue
	Quantity   int    // 1 to events.MaxLineQuantity
	Copies     int    // put the event on the bus this many times at the same moment (duplicates racing), up to MaxCopies; default 1
}

// Check refuses an order PlaceV1 could not publish as asked: an SKU the catalogue does not
// sell, a quantity or a number of copies out of range (zero keeps the default).
func (o V1Order) Check() error {
	switch {
	case o.SKU != "" && catalogue.Check(o.SKU) != nil:
		return catalogue.Check(o.SKU)
	case o.Quantity < 0 || o.Quantity > events.MaxLineQuantity:
		return fmt.Errorf("quantity %d: want 1 to %d", o.Quantity, events.MaxLineQuantity)
	case o.Copies < 0 || o.Copies > MaxCopies:
		return fmt.Errorf("%d copies: want 1 to %d", o.Copies, MaxCopies)
	}
	return nil
}

// PlaceV1 places an order by publishing an OrderPlaced v1 event straight onto the bus: the
// events package's v1 sample with a fresh order id, changed as o says. It returns the event.
func PlaceV1(ctx context.Context, d Deps, o V1Order) (events.Envelope, error) {
	sample, err := events.Parse(events.Sample(events.TypeOrderPlaced, 1))
	if err != nil {
		return events.Envelope{}, fmt.Errorf("the v1 sample: %w", err)
	}
	p, err := events.DecodePayload[events.OrderPlacedV1](sample)
	if err != nil {
		return events.Envelope{}, fmt.Errorf("the v1 sample: %w", err)
	}
	if err := o.Check(); err != nil {
		return events.Envelope{}, err
	}
	p.OrderID = toolkit.NewOrderID()
	if o.CustomerID != "" {
		p.CustomerID = o.CustomerID
	}
	if o.Token != "" {
		p.PaymentToken = o.Token
	}
	if o.SKU != "" || o.Quantity != 0 {
		line := p.Items[0]
		if o.SKU != "" {
			prod, ok := toolkit.LookupProduct(o.SKU)
			if !ok {
				return events.Envelope{}, fmt.Errorf("SKU %s is not in the catalogue", o.SKU)
			}
			line.SKU, line.UnitPriceCents = prod.SKU, prod.PriceCents
		}
		if o.Quantity != 0 {
			line.Quantity = o.Quantity
		}
		p.Items = []events.ItemV1{line}
	}
	p.TotalCents = 0
	for _, it := range p.Items {
		p.TotalCents += it.UnitPriceCents * int64(it.Quantity)
	}
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	e, err := events.New(events.Spec{Type: events.TypeOrderPlaced, Version: 1, OrderID: p.OrderID, Sequence: 1, Payload: p, Time: now()})
	if err != nil {
		return events.Envelope{}, err
	}
	entry, err := e.Entry(d.BusName)
	if err != nil {
		return events.Envelope{}, err
	}
	copies := max(o.Copies, 1)
	errs := make([]error, copies)
	var wg sync.WaitGroup
	for i := range copies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = d.Bus.Publish(ctx, entry)
		}()
	}
	wg.Wait()
	return e, errors.Join(errs...)
}

package journey

import (
	"context"
	"fmt"
	"sort"

	"github.com/orderflow-dev/orderflow/functions/toolkit"
)

// The tables' side of the evidence: the event store, and what the consumers wrote for the
// order (reservation, payment, shipment, notifications, analytics markers).

// Events reads the order's events through the event store's adapter: the facts, in sequence,
// with what the projector recorded of each (none: an empty list).
func (c *Collector) Events(ctx context.Context, orderID string) ([]Event, error) {
	recs, err := toolkit.EventRecords(ctx, c.db, c.res[ResEventStore], orderID)
	if err != nil {
		return nil, fmt.Errorf("read event store %s: %w", c.res[ResEventStore], err)
	}
	evs := make([]Event, 0, len(recs))
	for _, r := range recs {
		e := r.Envelope
		evs = append(evs, Event{
			ID: e.ID, Type: string(e.Type), Version: e.Version, Source: e.Source, Sequence: e.Sequence,
			CorrelationID: e.CorrelationID, CausationID: e.CausationID, Time: e.Time,
			RecordedAt: r.RecordedAt, KinesisSeq: r.KinesisSequenceNumber, Detail: string(r.Detail),
		})
	}
	sort.SliceStable(evs, func(a, b int) bool { return evs[a].Sequence < evs[b].Sequence })
	return evs, nil
}

// consumers reads what the workflow's functions and the notifier and analytics wrote for the
// order, each through the reader of its adapter.
func (c *Collector) consumers(ctx context.Context, ev *Evidence) error {
	id := ev.OrderID
	if table := c.res[ResInventory]; table != "" {
		status, at, ok, err := toolkit.ReservationOf(ctx, c.db, table, id)
		if err != nil {
			return err
		}
		if ok {
			ev.Reservation = &Write{Item: "RES#" + id, Status: string(status), At: at}
		}
	}
	if table := c.res[ResPayments]; table != "" {
		p, ok, err := toolkit.PaymentOf(ctx, c.db, table, id)
		if err != nil {
			return err
		}
		if ok {
			ev.Payment, ev.Refund = payment(p)
		}
	}
	if table := c.res[ResShipments]; table != "" {
		sh, ok, err := toolkit.ShipmentOf(ctx, c.db, table, id)
		if err != nil {
			return err
		}
		if ok && !sh.Sealed { // a seal is the state machine's write (SealShipment), drawn from its history
			ev.Shipment = &Write{Item: "shipment " + short(sh.ShipmentID), Status: sh.Carrier, At: sh.CreatedAt}
		}
	}
	for _, e := range ev.Events {
		if table := c.res[ResNotifications]; table != "" {
			sent, err := toolkit.NotificationsOf(ctx, c.db, table, e.ID)
			if err != nil {
				return err
			}
			for _, n := range sent {
				ev.Notifications = append(ev.Notifications, Notification{EventID: e.ID, Channel: n.Channel, SentAt: n.SentAt})
			}
		}
		if table := c.res[ResAnalytics]; table != "" {
			expires, ok, err := toolkit.CountedMarkerExpiry(ctx, c.db, table, e.ID)
			if err != nil {
				return err
			}
			if ok {
				// The marker expires MarkerRetention after analytics counted the event.
				ev.Counted = append(ev.Counted, Counted{EventID: e.ID, At: expires.Add(-toolkit.MarkerRetention)})
			}
		}
	}
	return nil
}

// payment reads the payments ledger's item: the decision (status, createdAt) and, if it was
// given back, the refund (refundedAt). A charge that needed several deliveries counts them.
func payment(it toolkit.Payment) (decision, refund *Write) {
	item := "payment " + short(it.PaymentID)
	status := string(it.Status)
	note := ""
	if it.Attempts > 1 {
		note = fmt.Sprintf("after %d deliveries of the message (the queue redelivered it)", it.Attempts)
	}
	if !it.RefundedAt.IsZero() {
		refund = &Write{Item: item, Status: status, At: it.RefundedAt}
		status = "APPROVED" // only an approved payment is refunded (a void had no decision)
		if refund.Status != "REFUNDED" {
			return nil, refund
		}
	}
	if !it.CreatedAt.IsZero() {
		if it.Reason != "" {
			status += " (" + it.Reason + ")"
		}
		decision = &Write{Item: item, Status: status, Note: note, At: it.CreatedAt}
	}
	return decision, refund
}

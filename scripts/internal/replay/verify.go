package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/toolkit"
)

// The check after a replay: every order's fold over the event store against its fold over the
// events read, and the analytics totals against the totals recomputed from the event store.

// verify compares every order's fold and the totals, replacing the last verdict.
func (r *run) verify(ctx context.Context) error {
	r.report.Mismatches, r.report.Unfoldable, r.report.Partial = nil, nil, nil
	ids := make([]string, 0, len(r.events))
	for id := range r.events {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	r.report.Orders = len(ids)
	for _, id := range ids {
		if err := r.verifyOrder(ctx, id); err != nil {
			return err
		}
	}
	if r.o.OrderID != "" {
		return r.verifyMarkers(ctx)
	}
	table, err := r.tableTotals(ctx)
	if err != nil {
		return err
	}
	recomputed, from := r.recomputed, "event store"
	if r.o.From == FromStream {
		// The stream keeps 7 days, the analytics table every order the stack has counted: the
		// totals to hold it to are those of the event store, which now holds what the stream
		// does (the replay appended what it lacked) and every older event too.
		if recomputed, err = r.eventStoreTotals(ctx); err != nil {
			return err
		}
	}
	r.report.TotalsChecked, r.report.Recomputed, r.report.Table = true, recomputed, table
	if table != recomputed {
		r.report.Mismatches = append(r.report.Mismatches, fmt.Sprintf(
			"analytics totals: table %s, recomputed from the %s %s", FormatTotals(table), from, FormatTotals(recomputed)))
	}
	return nil
}

// eventStoreTotals recomputes the totals from every event in the event store (and, in a dry
// run, those the run would have appended), each counted once.
func (r *run) eventStoreTotals(ctx context.Context) (toolkit.Totals, error) {
	stored, _, _, err := r.scanEventStore(ctx)
	if err != nil {
		return toolkit.Totals{}, err
	}
	var t toolkit.Totals
	seen := map[string]bool{}
	for _, evs := range append([][]events.Envelope{stored}, slices.Collect(maps.Values(r.applied))...) {
		for _, e := range evs {
			add, counts, err := toolkit.TotalsOf(e)
			if err != nil {
				return toolkit.Totals{}, fmt.Errorf("totals of event %s: %w", e.ID, err)
			}
			if counts && !seen[e.ID] {
				seen[e.ID] = true
				t = toolkit.SumTotals(t, add)
			}
		}
	}
	return t, nil
}

func (r *run) verifyOrder(ctx context.Context, id string) error {
	want, wantErr := toolkit.Fold(r.events[id])
	stored, err := r.es.Load(ctx, id)
	if err != nil {
		r.report.Mismatches = append(r.report.Mismatches, fmt.Sprintf("%s: event store: %v", id, err))
		return nil
	}
	if r.o.From == FromStream {
		stored = append(stored, r.applied[id]...) // in a dry run, what would have been appended
	}
	got, gotErr := toolkit.Fold(stored)
	switch {
	case r.o.From == FromStream && errors.Is(wantErr, toolkit.ErrNotFound) && gotErr == nil && folded(got, r.events[id]):
		// The order began before the stream's retention: the stream holds only its later
		// events, and the event store's fold takes them all in.
		r.report.Partial = append(r.report.Partial, id)
	case wantErr == nil && gotErr == nil:
		if !sameOrder(want, got) {
			r.report.Mismatches = append(r.report.Mismatches, fmt.Sprintf("%s: %s %s, event store %s", id, r.o.From, describe(want), describe(got)))
		}
	case wantErr != nil && gotErr != nil && foldClass(wantErr) == foldClass(gotErr):
		r.report.Unfoldable = append(r.report.Unfoldable, fmt.Sprintf("%s: %s", id, foldError(stored, gotErr)))
	default:
		r.report.Mismatches = append(r.report.Mismatches, fmt.Sprintf("%s: %s %s, event store %s", id, r.o.From,
			describeFold(want, r.events[id], wantErr), describeFold(got, stored, gotErr)))
	}
	_ = ctx
	return nil
}

// folded reports whether o's fold took in every one of evs (its events are sequences 1 to
// len(o.Events), without a gap).
func folded(o toolkit.Order, evs []events.Envelope) bool {
	for _, e := range evs {
		if e.Sequence < 1 || e.Sequence > len(o.Events) {
			return false
		}
	}
	return true
}

// verifyMarkers checks, for one order, that each event that counts is marked as counted, but
// for those older than a marker lasts (toolkit.MarkerRetention): their markers may be gone, and
// the replay did not count them again.
func (r *run) verifyMarkers(ctx context.Context) error {
	r.report.CountedMarked = 0
	for _, e := range r.events[r.o.OrderID] {
		if _, ok, _ := toolkit.TotalsOf(e); !ok || r.o.Now().Sub(e.Time) >= toolkit.MarkerRetention {
			continue
		}
		out, err := r.db.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String(r.d.AnalyticsTable), ConsistentRead: aws.Bool(true),
			Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: markerPrefix + e.ID}},
		})
		if err != nil {
			return fmt.Errorf("read analytics marker of %s: %w", e.ID, err)
		}
		if len(out.Item) == 0 {
			r.report.Mismatches = append(r.report.Mismatches, fmt.Sprintf("analytics: %s %s #%d is not counted", e.OrderID, e.Type, e.Sequence))
			continue
		}
		r.report.CountedMarked++
	}
	return nil
}

// tableTotals reads the analytics totals (plus, in a dry run, what the run would have added).
func (r *run) tableTotals(ctx context.Context) (toolkit.Totals, error) {
	t, err := toolkit.SalesTotals(ctx, r.d.DB, r.d.AnalyticsTable)
	if err != nil {
		return toolkit.Totals{}, err
	}
	if r.dry != nil {
		inc := r.dry.increments(r.d.AnalyticsTable, map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: totalsKey}})
		t.Orders += inc["orders"]
		t.RevenueCents += inc["revenueCents"]
		t.Cancelled += inc["cancelled"]
		t.Refunds += inc["refunds"]
		t.RefundedCents += inc["refundedCents"]
	}
	return t, nil
}

// sameOrder compares two folds as GET /orders/{id} would show them, and their versions.
func sameOrder(a, b toolkit.Order) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb) && a.Version == b.Version
}

func describe(o toolkit.Order) string {
	last := ""
	if n := len(o.Events); n > 0 {
		last = fmt.Sprintf(", last #%d %s", o.Events[n-1].Sequence, o.Events[n-1].Type)
	}
	return fmt.Sprintf("%s after %d events%s", o.Status, len(o.Events), last)
}

// describeFold describes the fold o of evs, or why evs do not fold (err).
func describeFold(o toolkit.Order, evs []events.Envelope, err error) string {
	if err != nil {
		return "does not fold (" + foldError(evs, err) + ")"
	}
	return describe(o)
}

func foldClass(err error) string {
	for _, c := range []error{toolkit.ErrNotFound, toolkit.ErrFoldConflict, toolkit.ErrCorrupt} {
		if errors.Is(err, c) {
			return c.Error()
		}
	}
	return err.Error()
}

// FormatTotals renders totals for people.
func FormatTotals(t toolkit.Totals) string {
	return fmt.Sprintf("{orders %d, revenue %d cents, cancelled %d, refunds %d (%d cents)}", t.Orders, t.RevenueCents, t.Cancelled, t.Refunds, t.RefundedCents)
}

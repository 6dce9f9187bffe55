package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/toolkit"
)

// An event's id is a function of its order and sequence (events.ID), so the two records of a
// conflict share their id almost always: what tells them apart is their content. The fold's and
// the event store's own messages name each record by type and id, which then reads as the same
// event twice; these say what differs instead.

// describeConflict says how two records of one order and sequence, which are not the same fact
// (events.SameFact), differ.
func describeConflict(a, b events.Envelope) string {
	switch {
	case a.ID != b.ID:
		return fmt.Sprintf("sequence %d is both %s (event %s) and %s (event %s)", a.Sequence, a.Type, a.ID, b.Type, b.ID)
	case a.Type != b.Type:
		return fmt.Sprintf("sequence %d is both %s and %s, under the one event id %s", a.Sequence, a.Type, b.Type, a.ID)
	}
	return fmt.Sprintf("sequence %d has two %s records of event %s that share the event id but differ in content: %s",
		a.Sequence, a.Type, a.ID, strings.Join(differences(a, b), ", "))
}

// differences names what events.SameFact found different between two records of one type: the
// envelope fields it compares, and the payload's top-level fields (the payload as a whole if
// either is not a JSON object).
func differences(a, b events.Envelope) []string {
	var out []string
	if a.Version != b.Version {
		out = append(out, fmt.Sprintf("version (%d, %d)", a.Version, b.Version))
	}
	if a.OrderID != b.OrderID {
		out = append(out, "orderId")
	}
	var pa, pb map[string]json.RawMessage
	if json.Unmarshal(a.Payload, &pa) != nil || json.Unmarshal(b.Payload, &pb) != nil {
		if !sameJSON(a.Payload, b.Payload) {
			out = append(out, "payload")
		}
		return out
	}
	var fields []string
	for k, va := range pa {
		if vb, ok := pb[k]; !ok || !sameJSON(va, vb) {
			fields = append(fields, "payload."+k)
		}
	}
	for k := range pb {
		if _, ok := pa[k]; !ok {
			fields = append(fields, "payload."+k)
		}
	}
	sort.Strings(fields)
	out = append(out, fields...)
	if len(out) == 0 {
		out = append(out, "their bytes") // SameFact said so, though no field differs as decoded here
	}
	return out
}

// sameJSON compares two JSON values as events.SameFact does: equal once decoded, each number
// kept to its digits.
func sameJSON(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	decode := func(data []byte) (any, error) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var v any
		err := dec.Decode(&v)
		return v, err
	}
	va, errA := decode(a)
	vb, errB := decode(b)
	return errA == nil && errB == nil && reflect.DeepEqual(va, vb)
}

// firstConflict finds, as toolkit.Fold does, the first sequence of evs that holds two records
// which are not the same fact.
func firstConflict(evs []events.Envelope) (a, b events.Envelope, ok bool) {
	sorted := append([]events.Envelope(nil), evs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Sequence < sorted[j].Sequence })
	for i := 1; i < len(sorted); i++ {
		if sorted[i].Sequence == sorted[i-1].Sequence && !events.SameFact(sorted[i-1], sorted[i]) {
			return sorted[i-1], sorted[i], true
		}
	}
	return events.Envelope{}, events.Envelope{}, false
}

// foldError says why evs do not fold: for a conflict, what differs between its two records.
func foldError(evs []events.Envelope, err error) string {
	if errors.Is(err, toolkit.ErrFoldConflict) {
		if a, b, ok := firstConflict(evs); ok {
			return "conflicting records: " + describeConflict(a, b)
		}
	}
	return err.Error()
}

// conflictLine reports that e, read from the stream, conflicts with the record at its slot in
// the event store (err is the append's): what differs between the two, if the record can be
// read. In a dry run that record may be one the run would have appended, an earlier record of
// the stream that is not in the event store: the line does not say it is the store's.
func (r *run) conflictLine(ctx context.Context, e events.Envelope, err error) string {
	held := r.applied[e.OrderID]
	if stored, loadErr := r.es.Load(ctx, e.OrderID); loadErr == nil {
		held = append(stored, held...)
	}
	whose := "the event store's, which keeps its own"
	if r.o.DryRun {
		whose = "the earlier record's, which the event store would keep"
	}
	for _, s := range held {
		if s.Sequence == e.Sequence && !events.SameFact(s, e) {
			return fmt.Sprintf("%s #%d: the stream's record conflicts with %s: %s", e.OrderID, e.Sequence, whose, describeConflict(s, e))
		}
	}
	return err.Error()
}

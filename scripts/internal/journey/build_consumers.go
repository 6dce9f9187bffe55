package journey

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/orderflow-dev/orderflow/events"
)

// Build's hops downstream of the bus: the streamer's records, the projector's appends to the
// event store, analytics' counts, and the notifications fanned out through the topic.

// stream adds, per record of the order, the streamer's invocation by the rule and its PutRecord.
// It returns the key of the first record of each event (the one the consumers act on).
func (b *builder) stream() map[string]string {
	first := map[string]string{}
	recs := append([]Record(nil), b.ev.Records...)
	sort.SliceStable(recs, func(x, y int) bool { return recs[x].Arrival.Before(recs[y].Arrival) })
	rule := func(id string, conflict bool) string {
		if conflict { // the rules were tried on the stored event, not on this record
			return "the bus"
		}
		return ruleLabel(b.rule(id, b.ev.Resources["streamer"]), "the bus")
	}
	maxSeq := 0
	for _, r := range recs {
		cause, known := b.busByBusID[r.BusID]
		if !known {
			cause = b.busKey[r.EventID]
		}
		stored, own, conflict := b.conflicting(r)
		// A conflicting record is labelled with its own type and sequence, not the stored event's.
		label := func(h Hop) Hop {
			if conflict {
				return withRecord(h, own)
			}
			return b.withEvent(h, r.EventID)
		}
		_, seen := first[r.EventID]
		dup := seen || conflict // not the record the consumers act on
		if dup && !known {
			// The same event put on the bus again by someone outside the saga (a retry, or
			// `make inject -duplicate`): EventBridge gave it a new id, the envelope kept its own.
			what := "the same event put on the bus again, same event id (a retry, or `make inject -duplicate`)"
			if conflict {
				what = fmt.Sprintf("an event put on the bus with the id and sequence of stored event #%d but different content "+
					"(not a retry: a retried producer re-emits the same fact)", stored.Sequence)
			}
			cause = b.bus(label(Hop{Key: "bus/" + r.EventID + "/" + r.BusID, Cause: cause, Time: r.Arrival, Approx: true,
				From: Client, Service: EventBridge, Resource: ResBus, Action: "PutEvents again", Evidence: "Kinesis record",
				What: what, Conflict: conflict}), r.BusID)
		}
		fn := b.add(label(Hop{Key: "fn/streamer/" + r.Seq, Cause: cause, Time: r.Arrival, Approx: true, From: EventBridge,
			Service: Lambda, Resource: "streamer", Actor: "streamer", Action: "→ streamer", Evidence: "Kinesis record",
			What: rule(r.EventID, conflict) + " invoked streamer, which validated the event against its schema", Duplicate: dup, Conflict: conflict}))
		what := fmt.Sprintf("streamer appended record %s to %s (partition key = the order id: all its records go to this one shard, in arrival order)",
			Tail(r.Seq), r.Shard)
		if e, ok := b.byID[r.EventID]; ok && !dup {
			if e.Sequence < maxSeq {
				what = fmt.Sprintf("streamer appended record %s to %s AFTER event #%d: the two were put on the bus together and two streamer "+
					"invocations raced; the stream keeps arrival order, the envelope's sequence number keeps the order of the facts",
					Tail(r.Seq), r.Shard, maxSeq)
			} else {
				maxSeq = e.Sequence
			}
		}
		switch {
		case conflict:
			what = fmt.Sprintf("record %s: a different event under the id and sequence of #%d (the stream keeps everything; "+
				"consumers must tell a conflict from a duplicate by its content)", Tail(r.Seq), stored.Sequence)
		case dup:
			what = fmt.Sprintf("a second record %s of the same event (the stream keeps everything; consumers must de-duplicate)", Tail(r.Seq))
		}
		k := b.add(label(Hop{Key: "kinesis/" + r.Seq, Cause: fn, Time: r.Arrival, From: Lambda, Service: Kinesis,
			Resource: ResStream, Actor: "streamer", Action: "PutRecord", Evidence: "Kinesis GetRecords", What: what, Duplicate: dup,
			Conflict: conflict}))
		switch {
		case conflict:
			b.parkedConflict(r, k, stored, own)
		case dup:
			b.ignoredDuplicate(r, k)
		default:
			first[r.EventID] = k
		}
	}
	return first
}

// ignoredDuplicate shows the projector reading a second record of an event: the event store
// still holds the first copy, so the conditional put wrote nothing.
func (b *builder) ignoredDuplicate(r Record, recordKey string) {
	e, ok := b.byID[r.EventID]
	if !ok {
		return
	}
	b.add(b.withEvent(Hop{Key: "fn/projector/" + r.Seq, Cause: recordKey, Time: r.Arrival, Approx: true, From: Kinesis,
		Service: Lambda, Resource: "projector", Actor: "projector", Action: "→ projector (duplicate ignored)", Evidence: ResEventStore,
		What: fmt.Sprintf("projector read the duplicate; slot #%d already holds event %s, so its conditional put wrote nothing",
			e.Sequence, short(e.ID)), Duplicate: true}, r.EventID))
}

// parkedConflict shows the projector reading a record that claims a stored event's slot with
// other content: its conditional put fails and, the content differing, it is no duplicate to
// ignore but a sequence conflict, which retrying cannot fix: the projector parks the record in
// its dead-letter queue for a person (make redrive keeps it there, as conflicting with the store).
func (b *builder) parkedConflict(r Record, recordKey string, stored Event, own events.Envelope) {
	b.add(withRecord(Hop{Key: "fn/projector/" + r.Seq, Cause: recordKey, Time: r.Arrival, Approx: true, From: Kinesis,
		Service: Lambda, Resource: "projector", Actor: "projector", Action: "→ projector (conflict parked)", Evidence: ResEventStore,
		What: fmt.Sprintf("projector found slot #%d held by event %s with other content: a sequence conflict, not a duplicate; "+
			"it wrote nothing and parked the record in its dead-letter queue (see make redrive)", stored.Sequence, short(stored.ID)),
		Duplicate: true, Conflict: true}, own))
}

// withRecord fills the hop's event fields from the envelope a record carries: for a conflicting
// record, whose id is a stored event's but whose type and content may not be, they are the
// record's own.
func withRecord(h Hop, env events.Envelope) Hop {
	h.EventID, h.EventType, h.Sequence, h.CausationID = env.ID, string(env.Type), env.Sequence, env.CausationID
	return h
}

// conflicting reports whether the record carries an event that claims the slot of a stored event
// (same order and sequence) but is not that event, judged as the projector's Append judges it
// (events.SameFact: id, type, version and payload). It returns the stored event and the record's
// envelope. A record whose slot is not stored yet, or that cannot be read, is no conflict as far
// as the trace can tell.
func (b *builder) conflicting(r Record) (Event, events.Envelope, bool) {
	var rec struct {
		Detail events.Envelope `json:"detail"`
	}
	if json.Unmarshal(r.Raw, &rec) != nil || rec.Detail.Sequence == 0 {
		return Event{}, events.Envelope{}, false
	}
	for _, e := range b.ev.Events {
		if e.Sequence != rec.Detail.Sequence {
			continue
		}
		var stored events.Envelope
		if json.Unmarshal([]byte(e.Detail), &stored) != nil {
			return Event{}, events.Envelope{}, false
		}
		same := e.ID == stored.ID && e.Type == string(stored.Type) && events.SameFact(stored, rec.Detail)
		return e, rec.Detail, !same
	}
	return Event{}, events.Envelope{}, false
}

func (b *builder) recordCause(first map[string]string, e Event) (string, string) {
	if e.KinesisSeq != "" && b.keys["kinesis/"+e.KinesisSeq] {
		return "kinesis/" + e.KinesisSeq, Kinesis
	}
	if k, ok := first[e.ID]; ok {
		return k, Kinesis
	}
	return b.busKey[e.ID], Kinesis
}

// eventStore adds the projector's append of each event (event sourcing: the order is the fold of
// these rows).
func (b *builder) eventStore(first map[string]string) {
	for _, e := range b.ev.Events {
		if e.RecordedAt.IsZero() {
			continue
		}
		cause, from := b.recordCause(first, e)
		fn := b.add(b.withEvent(Hop{Key: fmt.Sprintf("fn/projector/#%d", e.Sequence), Cause: cause, Time: e.RecordedAt, Approx: true,
			From: from, Service: Lambda, Resource: "projector", Actor: "projector", Action: "→ projector", Evidence: ResEventStore,
			What: "the stream invoked projector with the record"}, e.ID))
		what := fmt.Sprintf("projector appended event #%d (key orderId + sequence, conditional put: written once)", e.Sequence)
		for _, earlier := range b.ev.Events {
			if earlier.Sequence < e.Sequence && earlier.RecordedAt.After(e.RecordedAt) {
				what = fmt.Sprintf("projector appended event #%d before #%d was stored: until it is, GET /orders folds the events only up to the gap",
					e.Sequence, earlier.Sequence)
				break
			}
		}
		b.add(b.withEvent(Hop{Key: fmt.Sprintf("ddb/events/%d", e.Sequence), Cause: fn, Time: e.RecordedAt, From: Lambda,
			Service: DynamoDB, Resource: ResEventStore, Actor: "projector", Action: fmt.Sprintf("PutItem #%d", e.Sequence),
			Evidence: ResEventStore, What: what}, e.ID))
	}
}

// analytics adds the analytics function's count of each event it counted.
func (b *builder) analytics(first map[string]string) {
	for _, c := range b.ev.Counted {
		e, ok := b.byID[c.EventID]
		if !ok {
			continue
		}
		cause, from := b.recordCause(first, e)
		fn := b.add(b.withEvent(Hop{Key: "fn/analytics/" + c.EventID, Cause: cause, Time: c.At, Approx: true, From: from,
			Service: Lambda, Resource: "analytics", Actor: "analytics", Action: "→ analytics", Evidence: ResAnalytics,
			What: "the stream invoked analytics, a second reader of the same records at its own pace"}, c.EventID))
		b.add(b.withEvent(Hop{Key: "ddb/analytics/" + c.EventID, Cause: fn, Time: c.At, Approx: true, From: Lambda, Service: DynamoDB,
			Resource: ResAnalytics, Actor: "analytics", Action: "TransactWriteItems", Evidence: ResAnalytics + " (marker's expiry, to the second)",
			What: "analytics counted " + e.Type + " once: marker EVT#" + short(c.EventID) + " and the TOTALS row, in one transaction"}, c.EventID))
	}
}

// notifications adds pub/sub: the rule publishes to the topic, each subscribed queue gets its own
// copy, the notifier records one notification per event per channel.
func (b *builder) notifications() {
	byEvent := map[string][]Notification{}
	var order []string
	for _, n := range b.ev.Notifications {
		if _, ok := byEvent[n.EventID]; !ok {
			order = append(order, n.EventID)
		}
		byEvent[n.EventID] = append(byEvent[n.EventID], n)
	}
	for _, id := range order {
		ns := byEvent[id]
		sort.SliceStable(ns, func(x, y int) bool { return ns[x].SentAt.Before(ns[y].SentAt) })
		channels := make([]string, len(ns))
		for i, n := range ns {
			channels[i] = n.Channel
		}
		rule := ruleLabel(b.rule(id, b.ev.Resources[ResTopic]), "the bus")
		sns := b.add(b.withEvent(Hop{Key: "sns/" + id, Cause: b.busKey[id], Time: ns[0].SentAt, Approx: true, From: EventBridge,
			Service: SNS, Resource: ResTopic, Action: "Publish", Evidence: ResNotifications,
			What: rule + " published it to the topic; subscriptions that got a copy: " + strings.Join(channels, ", ")}, id))
		for _, n := range ns {
			q := n.Channel + " queue"
			sqs := b.add(b.withEvent(Hop{Key: "sqs/" + n.Channel + "/" + id, Cause: sns, Time: n.SentAt, Approx: true, From: SNS,
				Service: SQS, Resource: q, Action: "deliver copy", Evidence: ResNotifications,
				What: "the topic delivered its own copy to the " + q}, id))
			fn := b.add(b.withEvent(Hop{Key: "fn/notifier/" + n.Channel + "/" + id, Cause: sqs, Time: n.SentAt, Approx: true, From: SQS,
				Service: Lambda, Resource: "notifier", Actor: "notifier", Action: "→ notifier", Evidence: ResNotifications,
				What: "notifier received the message from the " + q}, id))
			b.add(b.withEvent(Hop{Key: "ddb/notifications/" + n.Channel + "/" + id, Cause: fn, Time: n.SentAt, From: Lambda,
				Service: DynamoDB, Resource: ResNotifications, Actor: "notifier", Action: "PutItem " + n.Channel, Evidence: ResNotifications,
				What: "notifier sent the " + n.Channel + " notification and recorded it (key eventId + channel: never twice)"}, id))
		}
	}
}

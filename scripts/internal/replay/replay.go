// Package replay rebuilds the projections of the order events (the event store and the sales
// totals) by re-reading every event, from the Kinesis stream (TRIM_HORIZON, every shard) or
// from the event store itself, and checks that they reach the same state. Each event is
// validated with the events package and projected through the code the consumers run
// (functions/internal/projection over the dynamo adapters, through functions/toolkit), so a replay is exactly a second
// delivery of every event: idempotent, and a repair where a write was lost.
//
// The check: every order's fold (toolkit.Fold) over the event store equals its fold over the
// events read, and the totals recomputed from the event store equal the analytics table's. The
// stream keeps 7 days: an order begun before that has only its later events on it, and the
// check asks of it that the event store's fold take them in (Report.Partial); the totals are
// the event store's, which holds what the stream does (the replay appends what it lacks) and
// every older event.
// While the stack takes traffic, events keep arriving: the check catches up with the stream
// (or re-reads the event store) a few times before it reports a difference.
package replay

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/toolkit"
	"github.com/orderflow-dev/orderflow/scripts/internal/deployed"
	"github.com/orderflow-dev/orderflow/scripts/internal/streamlog"
)

// Where a replay reads the events from.
const (
	FromStream     = "stream"
	FromEventStore = "eventstore"
)

// totalsKey is the analytics item holding the totals; markerPrefix+eventID marks a counted event.
const (
	totalsKey    = "TOTALS"
	markerPrefix = "EVT#"
)

// DB is the part of the DynamoDB client a replay uses: the adapters' calls, and Scan to read
// the whole event store.
type DB interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// Deps are the stream and tables a replay works on.
type Deps struct {
	Stream          streamlog.API
	StreamName      string
	DB              DB
	EventStoreTable string
	AnalyticsTable  string
}

// FromStack returns the deployed stack's stream and tables.
func FromStack(s *deployed.Stack) Deps {
	return Deps{
		Stream: kinesis.NewFromConfig(s.AWS), StreamName: s.Output("StreamName"), DB: dynamodb.NewFromConfig(s.AWS),
		EventStoreTable: s.Output("EventStoreTable"), AnalyticsTable: s.Output("AnalyticsTable"),
	}
}

// Options choose what to replay.
type Options struct {
	From    string           // FromStream (default) or FromEventStore
	OrderID string           // only this order; "" for every order
	DryRun  bool             // work out what a replay would do, write nothing
	Now     func() time.Time // the clock (recordedAt, marker expiry); nil is time.Now
	Rounds  int              // catch-up rounds before a difference is reported; 0 is 5
	Pause   time.Duration    // between catch-up rounds; 0 is 1 s
}

// Tally counts what a projection did with the events.
type Tally struct {
	Applied        int // written by this run, in any of its rounds (or, in a dry run, would be)
	AlreadyPresent int // there before: nothing to do
	Conflicts      int // a different event holds the slot (event store only)
	NotCounted     int // events the projection has no use for (analytics only)
	// TooOld are events older than the markers that make counting once possible
	// (toolkit.MarkerRetention): analytics counted them when they were new, and their
	// markers may have expired since, so they are not counted again (analytics only).
	TooOld int
}

// Report is what a replay did and found.
type Report struct {
	From, OrderID string
	DryRun        bool
	Records       int      // stream records or event-store items read
	Events        int      // valid events of the orders replayed
	Invalid       []string // records that are not valid events, and why
	EventStore    Tally
	Analytics     Tally
	Conflicts     []string // the event-store conflicts, one line each
	Orders        int      // orders whose fold was compared
	Unfoldable    []string // orders whose events do not fold, alike on both sides (e.g. no OrderPlaced)
	Partial       []string // (from the stream) orders begun before its retention: checked against the event store's fold
	Mismatches    []string // differences that remained after catching up
	TotalsChecked bool     // Recomputed and Table were compared (every order replayed)
	Recomputed    toolkit.Totals
	Table         toolkit.Totals
	CountedMarked int // countable events of the order found marked as counted (one order replayed)
	// Stopped says why the run ended before its check did (Run's error), "" if it finished: the
	// counts are then what it had done until it stopped, and its check holds no verdict.
	Stopped string
}

// OK reports whether the run finished and the projections reached the state of the events: no
// mismatch, no conflict.
func (r *Report) OK() bool {
	return r.Stopped == "" && len(r.Mismatches) == 0 && r.EventStore.Conflicts == 0
}

// ErrUsage marks what Check finds wrong with the options: the caller asked for something that
// cannot be replayed, before anything was read.
var ErrUsage = errors.New("bad options")

// Check says what is wrong with o, before anything is read: a source that is neither of the two,
// or an order id that is not one (which would otherwise read the whole stream to find nothing).
func (o Options) Check() error {
	if o.From != "" && o.From != FromStream && o.From != FromEventStore {
		return fmt.Errorf("%w: -from %q: want %q or %q", ErrUsage, o.From, FromStream, FromEventStore)
	}
	if o.OrderID != "" && !toolkit.IsOrderID(o.OrderID) {
		return fmt.Errorf("%w: -order %q is not an order id: want ORD-<uuid> in lower case, as POST /orders returns it", ErrUsage, o.OrderID)
	}
	return nil
}

// Run replays and checks, as o says. It checks o first (ErrUsage, and no report). An error later
// returns the report of what was done until then, marked Stopped: it is no verdict.
func Run(ctx context.Context, d Deps, o Options) (*Report, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	if o.From == "" {
		o.From = FromStream
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rounds == 0 {
		o.Rounds = 5
	}
	if o.Pause == 0 {
		o.Pause = time.Second
	}
	r := &run{
		o: o, d: d, db: d.DB,
		report: &Report{From: o.From, OrderID: o.OrderID, DryRun: o.DryRun},
		events: map[string][]events.Envelope{}, applied: map[string][]events.Envelope{}, seen: map[string]bool{},
	}
	if o.DryRun {
		r.dry = newDryRun(d.DB, map[string][]string{d.EventStoreTable: {"orderId", "sequence"}, d.AnalyticsTable: {"pk"}})
		r.db = r.dry
	}
	r.es = toolkit.NewEventStore(r.db, d.EventStoreTable)
	r.an = toolkit.NewAnalytics(r.db, d.AnalyticsTable)
	read := r.fromStream
	if o.From == FromEventStore {
		read = r.fromEventStore
	}
	if err := read(ctx); err != nil {
		r.report.Stopped = err.Error()
		return r.report, err
	}
	if r.report.Events == 0 && o.OrderID != "" {
		r.report.Mismatches = append(r.report.Mismatches, fmt.Sprintf("no event of %s found in the %s", o.OrderID, o.From))
	}
	return r.report, nil
}

type run struct {
	o      Options
	d      Deps
	db     DB
	dry    *dryRun
	es     *toolkit.EventStore
	an     *toolkit.Analytics
	report *Report

	events     map[string][]events.Envelope // order -> its events as read
	applied    map[string][]events.Envelope // order -> events appended by this run (a dry run's are not in the table)
	seen       map[string]bool              // event ids counted into recomputed
	recomputed toolkit.Totals
}

// project sends one event through both projections and recomputes the totals.
func (r *run) project(ctx context.Context, e events.Envelope, kinesisSeq string, arrived time.Time, toEventStore bool) error {
	r.report.Events++
	r.events[e.OrderID] = append(r.events[e.OrderID], e)
	if toEventStore {
		rec, err := toolkit.EventRecord(e, kinesisSeq, arrived, r.o.Now())
		if err != nil {
			return err
		}
		outcome, err := toolkit.Append(ctx, r.es, rec)
		switch {
		case errors.Is(err, toolkit.ErrConflict):
			r.report.EventStore.Conflicts++
			r.report.Conflicts = append(r.report.Conflicts, r.conflictLine(ctx, e, err))
		case err != nil:
			return err
		case outcome == toolkit.Applied:
			r.report.EventStore.Applied++
			r.applied[e.OrderID] = append(r.applied[e.OrderID], e)
		default:
			r.report.EventStore.AlreadyPresent++
		}
	} else {
		r.report.EventStore.AlreadyPresent++ // read from the event store: it is the source
	}
	if r.o.Now().Sub(e.Time) >= toolkit.MarkerRetention {
		// Its marker may be gone: counting it could count it twice. What it adds still goes
		// into the totals recomputed, as analytics counted it when it was new.
		add, counts, err := toolkit.TotalsOf(e)
		switch {
		case err != nil:
			return fmt.Errorf("analytics, event %s: %w", e.ID, err)
		case !counts:
			r.report.Analytics.NotCounted++
			return nil
		}
		r.report.Analytics.TooOld++
		if !r.seen[e.ID] {
			r.seen[e.ID] = true
			r.recomputed = toolkit.SumTotals(r.recomputed, add)
		}
		return nil
	}
	outcome, add, err := toolkit.Count(ctx, r.an, e, r.o.Now())
	if err != nil {
		return fmt.Errorf("analytics, event %s: %w", e.ID, err)
	}
	switch outcome {
	case toolkit.Applied:
		r.report.Analytics.Applied++
	case toolkit.AlreadyPresent:
		r.report.Analytics.AlreadyPresent++
	default:
		r.report.Analytics.NotCounted++
	}
	if !r.seen[e.ID] {
		r.seen[e.ID] = true
		r.recomputed = toolkit.SumTotals(r.recomputed, add)
	}
	return nil
}

func (r *run) fromStream(ctx context.Context) error {
	reader := &streamlog.Reader{Client: r.d.Stream, Stream: r.d.StreamName}
	handle := func(rec streamlog.Record) error {
		r.report.Records++
		e, err := events.FromEventBridge(rec.Data)
		if err != nil {
			r.report.Invalid = append(r.report.Invalid, fmt.Sprintf("shard %s record %s: %v", rec.ShardID, rec.SequenceNumber, err))
			return nil
		}
		if r.o.OrderID != "" && e.OrderID != r.o.OrderID {
			return nil
		}
		return r.project(ctx, e, rec.SequenceNumber, rec.Arrived, true)
	}
	pos, err := reader.ReadFrom(ctx, nil, handle)
	if err != nil {
		return err
	}
	for round := 1; ; round++ {
		if err := r.verify(ctx); err != nil {
			return err
		}
		// Anything that reached the stream while we checked may already be in the tables:
		// project it too and check again.
		before := r.report.Records
		if pos, err = reader.ReadFrom(ctx, pos, handle); err != nil {
			return err
		}
		if r.report.Records == before {
			return nil // nothing arrived while we checked: the verdict stands
		}
		if round >= r.o.Rounds {
			return r.verify(ctx) // the check above is older than what was just read
		}
		if err := sleep(ctx, r.o.Pause); err != nil {
			return err
		}
	}
}

func (r *run) fromEventStore(ctx context.Context) error {
	for round := 1; ; round++ {
		evs, err := r.readEventStore(ctx)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if err := r.project(ctx, e, "", time.Time{}, false); err != nil {
				return err
			}
		}
		if err := r.verify(ctx); err != nil {
			return err
		}
		if len(r.report.Mismatches) == 0 || round >= r.o.Rounds {
			return nil
		}
		// Events were appended while we read: read again, from a clean slate, but for what this
		// run wrote (a second round finds it already there, and must not hide that it wrote it).
		wrote := [2]int{r.report.EventStore.Applied, r.report.Analytics.Applied}
		*r.report = Report{From: r.o.From, OrderID: r.o.OrderID, DryRun: r.o.DryRun}
		r.report.EventStore.Applied, r.report.Analytics.Applied = wrote[0], wrote[1]
		r.events, r.seen, r.recomputed = map[string][]events.Envelope{}, map[string]bool{}, toolkit.Totals{}
		if err := sleep(ctx, r.o.Pause); err != nil {
			return err
		}
	}
}

// readEventStore returns the events of the order, or of every order, in order and sequence.
func (r *run) readEventStore(ctx context.Context) ([]events.Envelope, error) {
	if r.o.OrderID != "" {
		evs, err := r.es.Load(ctx, r.o.OrderID)
		r.report.Records = len(evs)
		return evs, err
	}
	evs, records, invalid, err := r.scanEventStore(ctx)
	r.report.Records += records
	r.report.Invalid = append(r.report.Invalid, invalid...)
	return evs, err
}

// scanEventStore reads every event of the event store, sorted by order and sequence; records
// counts the items read, invalid says which did not parse, and why.
func (r *run) scanEventStore(ctx context.Context) (evs []events.Envelope, records int, invalid []string, err error) {
	p := dynamodb.NewScanPaginator(r.db, &dynamodb.ScanInput{
		TableName: aws.String(r.d.EventStoreTable), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("orderId, #seq, envelope"), ExpressionAttributeNames: map[string]string{"#seq": "sequence"},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, records, invalid, fmt.Errorf("scan the event store: %w", err)
		}
		var items []struct {
			OrderID  string `dynamodbav:"orderId"`
			Sequence int    `dynamodbav:"sequence"`
			Envelope string `dynamodbav:"envelope"`
		}
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &items); err != nil {
			return nil, records, invalid, fmt.Errorf("scan the event store: %w", err)
		}
		for _, it := range items {
			records++
			e, err := events.Parse([]byte(it.Envelope))
			if err != nil {
				invalid = append(invalid, fmt.Sprintf("event store %s #%d: %v", it.OrderID, it.Sequence, err))
				continue
			}
			evs = append(evs, e)
		}
	}
	sort.SliceStable(evs, func(i, j int) bool {
		if evs[i].OrderID != evs[j].OrderID {
			return evs[i].OrderID < evs[j].OrderID
		}
		return evs[i].Sequence < evs[j].Sequence
	})
	return evs, records, invalid, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

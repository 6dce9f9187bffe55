// Package toolkit lends the operator tools under scripts/ (replay, redrive, inject, rescue) and
// the end-to-end tests the pieces of the functions they must share rather than copy: the event
// store, inventory and analytics adapters, the projection of one event, the order fold, the
// catalogue, the bus publisher, the stream writer, the dead-letter attributes and the rescue's
// name. Go's internal rule keeps functions/internal/ out of scripts/' reach; this package is the
// one door, and it only renames: every name here is an alias or a thin wrapper of the code the
// Lambda functions run.
package toolkit

import (
	"github.com/orderflow-dev/orderflow/functions/internal/bus"
	"github.com/orderflow-dev/orderflow/functions/internal/catalogue"
	"github.com/orderflow-dev/orderflow/functions/internal/deadletter"
	"github.com/orderflow-dev/orderflow/functions/internal/dynamo"
	"github.com/orderflow-dev/orderflow/functions/internal/faults"
	"github.com/orderflow-dev/orderflow/functions/internal/metrics"
	"github.com/orderflow-dev/orderflow/functions/internal/order"
	"github.com/orderflow-dev/orderflow/functions/internal/projection"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
	"github.com/orderflow-dev/orderflow/functions/internal/stream"
	"github.com/orderflow-dev/orderflow/functions/internal/workflow"
)

// The event store and the sales totals, as the projector and analytics functions write them.
type (
	EventStore = dynamo.EventStore
	Payment    = store.Payment
	Analytics  = dynamo.Analytics
	Totals     = store.Totals
)

var (
	NewEventStore = dynamo.NewEventStore
	EventRecords  = dynamo.Records // an order's stored events with the projector's notes (the trace)

	// What the consumers stored, read as their adapters write it (the trace).
	PaymentOf           = dynamo.PaymentOf
	ReservationOf       = dynamo.ReservationOf
	ShipmentOf          = dynamo.ShipmentOf
	NotificationsOf     = dynamo.NotificationsOf
	SalesTotals         = dynamo.SalesTotals // analytics' TOTALS item
	CountedMarkerExpiry = dynamo.CountedMarkerExpiry
	NewAnalytics        = dynamo.NewAnalytics
	ErrConflict         = store.ErrConflict
)

// What the stream's consumers make of one event (package projection).
type (
	Outcome       = projection.Outcome
	EventAppender = projection.EventAppender
	TotalsAdder   = projection.TotalsAdder
)

const (
	Applied         = projection.Applied
	AlreadyPresent  = projection.AlreadyPresent
	MarkerRetention = projection.MarkerRetention
)

var (
	EventRecord       = projection.EventRecord
	Append            = projection.Append
	Count             = projection.Count
	TotalsOf          = projection.Totals
	SumTotals         = projection.Sum
	ReasonAttribute   = deadletter.ReasonAttribute
	EncodingAttribute = deadletter.EncodingAttribute
	EncodingBase64    = deadletter.EncodingBase64
	EncodingEmpty     = deadletter.EncodingEmpty
	EmptyBody         = deadletter.EmptyBody
)

// An order's state, the fold of its events (GET /orders/{id} shows it).
type Order = order.Order

var (
	Fold            = order.Fold
	NewOrderID      = order.NewID
	IsOrderID       = order.IsID
	ErrNotFound     = order.ErrNotFound
	ErrFoldConflict = order.ErrConflict
	ErrCorrupt      = order.ErrCorrupt
)

// The stock ledger, as the inventory function keeps it; SetStock restocks a SKU.
type Inventory = dynamo.Inventory

var NewInventory = dynamo.NewInventory

// The business metrics the projector emits (CloudWatch Embedded Metric Format): the CDK
// app's dashboard names them, and its tests check it names them right.
var BusinessMetrics = metrics.Orderflow

// The demo catalogue.
var LookupProduct = catalogue.Lookup

// Publishing to the bus (PutEvents; a rejected entry is an error).
type Publisher = bus.Publisher

var NewPublisher = bus.NewPublisher

// Writing to the order-events stream, as the streamer does (partition key: the order id).
type StreamWriter = stream.Writer

var NewStreamWriter = stream.NewWriter

// Fault injection (package faults): the variable that arms it in a function, and the check of
// its value that the function makes at cold start, for the CDK app to make at synth; the kind a
// harmless delay logs (the others end an invocation abnormally).
const (
	FaultsVariable    = faults.Variable
	FaultKindAddDelay = faults.KindAddDelay
)

// CheckFaults reports what is wrong with a fault configuration (faults.Parse), or nil.
func CheckFaults(config string) error {
	_, err := faults.Parse(config)
	return err
}

// CheckFaultsByFunction reports what is wrong with the shape of the CDK app's faults context
// value, a JSON object from function names to configurations: not one object, or a name given
// twice (the configurations are checked one by one with CheckFaults).
func CheckFaultsByFunction(value []byte) error {
	return faults.OneObjectWithoutDuplicateKeys(value)
}

// The rescue of a stalled execution (package workflow): the name the rescuer starts it under,
// whether an execution that failed with an error compensated its order itself, and the statuses
// of an execution that may have stopped without compensating (which the rescue rule matches).
var (
	RescueName  = workflow.RescueName
	Compensated = workflow.Compensated
	Stalled     = workflow.Stalled
)

// RescuePrefix begins every rescue execution's name; FailRefund is the error of an execution that
// compensated but whose refund failed (an operator refunds).
const (
	RescuePrefix = workflow.RescuePrefix
	FailRefund   = workflow.FailRefund
)

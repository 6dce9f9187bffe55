package journey

import "time"

// Friendly names of the stack's resources, as the trace shows them. Journey.Resources maps each
// to its physical name.
const (
	ResAPI           = "HTTP API"
	ResBus           = "orders bus"
	ResWorkflow      = "order-fulfilment"
	ResStream        = "order-events stream"
	ResTopic         = "order-notifications topic"
	ResPaymentsQueue = "payments queue"
	ResEventStore    = "event store"
	ResInventory     = "inventory table"
	ResPayments      = "payments table"
	ResShipments     = "shipments table"
	ResNotifications = "notifications table"
	ResAnalytics     = "analytics table"
	ResSagas         = "sagas table"
)

// Evidence is everything Collect read about one order, before it becomes hops. Each field says
// which API it came from; Build needs nothing else.
type Evidence struct {
	OrderID   string
	Resources map[string]string // friendly name → physical name

	Events     []Event     // DynamoDB Query of the event store, by sequence
	Executions []Execution // the saga claim (sagas table GetItem), Step Functions ListExecutions, DescribeExecution, GetExecutionHistory
	Records    []Record    // Kinesis GetRecords of the order's shard, partition key = orderId

	Rules     []Rule              // EventBridge ListRules + ListTargetsByRule on the orders bus
	Matches   map[string][]string // event id → short names of the rules its pattern matched
	RuleCheck string              // "TestEventPattern", or the fallback used and why

	// What the consumers wrote (DynamoDB GetItem / Query of their tables).
	Reservation   *Write // inventory table, item RES#<orderId>: its last update
	Payment       *Write // payments table: the decision (APPROVED, DECLINED)
	Refund        *Write // payments table: the refund of that decision, or the void of none
	Shipment      *Write // shipments table
	Notifications []Notification
	Counted       []Counted // analytics table markers EVT#<eventId>

	Notes []string // what could not be read, and why
}

// Execution is one run of the workflow for the order.
type Execution struct {
	Arn, Name, Status string
	Started, Stopped  time.Time // Stopped is zero while it runs
	EventID           string    // the envelope id of the event that started it (its input's detail.id)
	BusID             string    // EventBridge's id for that event (its input's id)
	RescueOf          string    // a rescue execution: the ARN of the stalled execution it took the order from
	States            []State
}

// State is one state the execution entered.
type State struct {
	Name     string
	Type     string // Task, Pass, Choice, Succeed, Fail, Wait, Parallel, Map
	Entered  time.Time
	Attempts []Attempt // a Task's tries, one per TaskScheduled
}

// Attempt is one try of a Task state.
type Attempt struct {
	Resource  string // "lambda:invoke", "sqs:sendMessage.waitForTaskToken", "events:putEvents", ...
	Target    string // friendly name of the function or queue (from the state machine definition)
	Scheduled time.Time
	Ended     time.Time // zero while it runs
	Outcome   string    // Succeeded, Failed, TimedOut; "" while it runs
	Error     string
	Published []Published // for events:putEvents: the entries put on the bus
}

// Published is one entry a Publish state put on the bus.
type Published struct {
	EventID string // the envelope id (entry Detail's id)
	Type    string
	BusID   string // the id EventBridge gave it (the task's output)
}

// Record is one record of the order on the stream.
type Record struct {
	Shard, Seq, PartitionKey string
	Arrival                  time.Time // ApproximateArrivalTimestamp
	BusID                    string    // the EventBridge event's id (the record is the whole event)
	EventID, Type            string    // its detail's id and detail-type
	Raw                      []byte    // the EventBridge event as delivered
}

// Write is an item a consumer wrote.
type Write struct {
	Item   string // e.g. "RES#ORD-…", the partition key
	Status string // what it says: RESERVED, APPROVED, a shipment id...
	Note   string // anything else worth telling, e.g. how many deliveries it took
	At     time.Time
}

// Notification is one row of the notifications table: one event told on one channel.
type Notification struct {
	EventID, Channel string
	SentAt           time.Time
}

// Counted is an analytics marker: the event was counted once. The table keeps only its expiry
// (epoch seconds), so At is approximate to the second.
type Counted struct {
	EventID string
	At      time.Time
}

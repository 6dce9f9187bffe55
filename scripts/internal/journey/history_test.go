package journey

import (
	"encoding/json"
	"math/big"
	"slices"
	"testing"
)

func entries(ids ...string) string {
	var es []map[string]string
	for _, id := range ids {
		d, _ := json.Marshal(map[string]string{"id": id, "type": "X"})
		es = append(es, map[string]string{"Source": "orderflow.x", "DetailType": "X", "Detail": string(d)})
	}
	b, _ := json.Marshal(es)
	return string(b)
}

func TestParseHistory(t *testing.T) {
	def, err := parseDefinition(`{"States":{
		"Reserve":{"Type":"Task","Parameters":{"FunctionName":"arn:aws:lambda:us-east-1:1:function:Stack-Inventory-ABC"}},
		"Pay":{"Type":"Task","Parameters":{"QueueUrl":"https://sqs/1/Stack-Payments-DEF"}},
		"Publish":{"Type":"Task","Parameters":{"Entries.$":"$.state.entries"}}}}`,
		map[string]string{"inventory": "Stack-Inventory-ABC", ResPaymentsQueue: "https://sqs/1/Stack-Payments-DEF"})
	if err != nil {
		t.Fatal(err)
	}
	input := `{"state":{"entries":` + entries("e2", "e3") + `}}`
	for _, tc := range []struct {
		name string
		hist []HistoryEvent
	}{
		{
			name: "an emulator: whole integration ARNs, no parameters, entries from the state's input",
			hist: []HistoryEvent{
				{Type: "ExecutionStarted", Time: at(0)},
				{Type: "TaskStateEntered", Time: at(1), State: "Reserve"},
				{Type: "TaskScheduled", Time: at(1), ResType: "lambda", Resource: "arn:aws:states:::lambda:invoke"},
				{Type: "TaskFailed", Time: at(5), Error: "TransientError: try again"},
				{Type: "TaskScheduled", Time: at(7), ResType: "lambda", Resource: "arn:aws:states:::lambda:invoke"},
				{Type: "TaskSucceeded", Time: at(9), Resource: "arn:aws:states:::lambda:invoke"},
				{Type: "TaskStateEntered", Time: at(10), State: "Pay"},
				{Type: "TaskScheduled", Time: at(10), ResType: "states", Resource: "arn:aws:states:::sqs:sendMessage.waitForTaskToken"},
				{Type: "TaskSucceeded", Time: at(20)},
				{Type: "TaskStateEntered", Time: at(21), State: "Publish", Input: input},
				{Type: "TaskScheduled", Time: at(21), ResType: "states", Resource: "arn:aws:states:::events:putEvents"},
				{Type: "TaskSucceeded", Time: at(22), Output: `{"FailedEntryCount":0,"Entries":[{"EventId":"b2"},{"EventId":"b3"}]}`},
				{Type: "SucceedStateEntered", Time: at(23), State: "Done"},
				{Type: "ExecutionSucceeded", Time: at(23)},
			},
		},
		{
			name: "AWS: resource type and short resource, resolved parameters",
			hist: []HistoryEvent{
				{Type: "ExecutionStarted", Time: at(0)},
				{Type: "TaskStateEntered", Time: at(1), State: "Reserve"},
				{Type: "TaskScheduled", Time: at(1), ResType: "lambda", Resource: "invoke", Parameters: `{"FunctionName":"arn:aws:lambda:us-east-1:1:function:Stack-Inventory-ABC"}`},
				{Type: "TaskFailed", Time: at(5), Error: "TransientError: try again"},
				{Type: "TaskScheduled", Time: at(7), ResType: "lambda", Resource: "invoke"},
				{Type: "TaskSucceeded", Time: at(9), ResType: "lambda", Resource: "invoke"},
				{Type: "TaskStateEntered", Time: at(10), State: "Pay"},
				{Type: "TaskScheduled", Time: at(10), ResType: "sqs", Resource: "sendMessage.waitForTaskToken"},
				{Type: "TaskSucceeded", Time: at(20)},
				{Type: "TaskStateEntered", Time: at(21), State: "Publish", Input: `{}`},
				{Type: "TaskScheduled", Time: at(21), ResType: "events", Resource: "putEvents", Parameters: `{"Entries":` + entries("e2", "e3") + `}`},
				{Type: "TaskSucceeded", Time: at(22), Output: `{"FailedEntryCount":0,"Entries":[{"EventId":"b2"},{"EventId":"b3"}]}`},
				{Type: "SucceedStateEntered", Time: at(23), State: "Done"},
				{Type: "ExecutionSucceeded", Time: at(23)},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := ParseHistory(tc.hist, def)
			if x.Status != "SUCCEEDED" || !x.Started.Equal(at(0)) || !x.Stopped.Equal(at(23)) {
				t.Errorf("execution %s %v–%v", x.Status, x.Started, x.Stopped)
			}
			var names []string
			for _, s := range x.States {
				names = append(names, s.Type+" "+s.Name)
			}
			if !slices.Equal(names, []string{"Task Reserve", "Task Pay", "Task Publish", "Succeed Done"}) {
				t.Fatalf("states %v", names)
			}
			reserve := x.States[0].Attempts
			if len(reserve) != 2 || reserve[0].Outcome != "Failed" || reserve[0].Error != "TransientError: try again" ||
				reserve[1].Outcome != "Succeeded" || reserve[1].Target != "inventory" || reserve[1].Resource != "lambda:invoke" {
				t.Errorf("Reserve attempts %+v", reserve)
			}
			if pay := x.States[1].Attempts; len(pay) != 1 || pay[0].Target != ResPaymentsQueue || pay[0].Resource != "sqs:sendMessage.waitForTaskToken" {
				t.Errorf("Pay attempts %+v", pay)
			}
			pub := x.States[2].Attempts
			if len(pub) != 1 || !slices.Equal(pub[0].Published, []Published{{EventID: "e2", Type: "X", BusID: "b2"}, {EventID: "e3", Type: "X", BusID: "b3"}}) {
				t.Errorf("Publish attempts %+v", pub)
			}
		})
	}
	if x := ParseHistory([]HistoryEvent{{Type: "ExecutionStarted", Time: at(0)}}, nil); x.Status != "RUNNING" || !x.Stopped.IsZero() {
		t.Errorf("a history without an end: %s, stopped %v", x.Status, x.Stopped)
	}
}

func TestJoinErr(t *testing.T) {
	for _, tc := range []struct{ err, cause, want string }{
		{"States.Timeout", "", "States.Timeout"},
		{"ShipmentRefusedError", `{"errorMessage":"ACME Parcel does not carry SKU-451","errorType":"ShipmentRefusedError"}`, "ShipmentRefusedError: ACME Parcel does not carry SKU-451"},
		{"X", "plain cause", "X: plain cause"},
	} {
		if got := joinErr(tc.err, tc.cause); got != tc.want {
			t.Errorf("joinErr(%q, %q) = %q, want %q", tc.err, tc.cause, got, tc.want)
		}
	}
}

func TestParseInput(t *testing.T) {
	in := parseInput(`{"version":"0","id":"bus-1","detail-type":"OrderPlaced","detail":{"id":"e1","orderId":"ORD-1"}}`)
	if in.orderID != "ORD-1" || in.eventID != "e1" || in.busID != "bus-1" {
		t.Errorf("parseInput = %+v", in)
	}
	if in := parseInput(`not json`); in.orderID != "" {
		t.Errorf("an input that is not an event matched order %q", in.orderID)
	}
}

func TestShardHolds(t *testing.T) {
	max := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))
	half := new(big.Int).Rsh(max, 1)
	next := new(big.Int).Add(half, big.NewInt(1))
	for _, key := range []string{"ORD-1", "ORD-536b014b-5c37-4cf5-97d5-11c44f0b0bb0", "x"} {
		if !ShardHolds("0", max.String(), key) {
			t.Errorf("%s: the whole range must hold it", key)
		}
		lo, hi := ShardHolds("0", half.String(), key), ShardHolds(next.String(), max.String(), key)
		if lo == hi {
			t.Errorf("%s: in the lower half %v, in the upper half %v: want exactly one", key, lo, hi)
		}
	}
	// MD5("x") = 9dd4e461268c8034f5c8564e155c67a6: the upper half.
	if !ShardHolds(next.String(), max.String(), "x") {
		t.Error(`"x" hashes into the upper half`)
	}
	if ShardHolds("not a number", max.String(), "x") {
		t.Error("a malformed range holds nothing")
	}
}

func TestShortRule(t *testing.T) {
	for name, want := range map[string]string{
		"Orderflow-RouterOrdersOrderPlacedToWorkflow9F07D610E5628167C78D4": "OrderPlacedToWorkflow",
		"Orderflow-RouterOrdersCustomerFacingToNotificationsF05AD1C4349C5": "CustomerFacingToNotifications",
		"Orderflow-RouterOrdersOrderEventsToStream40DB7E16-49F4A2448F072":  "OrderEventsToStream",
		"Orderflow-RouterOrdersOrderEventsToStream40DB7E16-1ABCDEFGHIJK":   "OrderEventsToStream",
		"my-hand-made-rule": "my-hand-made-rule",
	} {
		if got := ShortRule(name); got != want {
			t.Errorf("ShortRule(%q) = %q, want %q", name, got, want)
		}
	}
}

// SealShipment is the state machine's own put in the shipments table: the trace names the table
// and draws the seal as such, not as the saga's claim, whether the definition names the table
// (an emulator: the history has no parameters) or only the history does (AWS resolves them).
func TestTheSealIsDrawnAsASeal(t *testing.T) {
	res := map[string]string{ResShipments: "Stack-Shipments-XYZ", ResSagas: "Stack-Sagas-ABC"}
	named, err := parseDefinition(`{"States":{"SealShipment":{"Type":"Task","Parameters":{"TableName":"Stack-Shipments-XYZ"}},
		"ClaimSaga":{"Type":"Task","Parameters":{"TableName":"Stack-Sagas-ABC"}}}}`, res)
	if err != nil {
		t.Fatal(err)
	}
	unnamed, err := parseDefinition(`{"States":{"ClaimSaga":{"Type":"Task","Parameters":{"TableName":"Stack-Sagas-ABC"}}}}`, res)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		def    *definition
		params string
	}{{named, ""}, {unnamed, `{"TableName":"Stack-Shipments-XYZ"}`}} {
		def, params := tc.def, tc.params
		x := ParseHistory([]HistoryEvent{
			{Type: "ExecutionStarted", Time: at(0)},
			{Type: "TaskStateEntered", Time: at(1), State: "SealShipment"},
			{Type: "TaskScheduled", Time: at(1), ResType: "states", Resource: "arn:aws:states:::dynamodb:putItem", Parameters: params},
			{Type: "TaskSucceeded", Time: at(2)},
		}, def)
		if a := x.States[0].Attempts; len(a) != 1 || a[0].Target != ResShipments {
			t.Fatalf("parameters %q: attempts %+v, want the shipments table as the target", params, a)
		}
		x.Name, x.Arn = "x1", "arn:exec:x1"
		var seal *Hop
		for _, h := range Build(Evidence{OrderID: "ORD-1", Executions: []Execution{x}}).Hops {
			if h.Actor == "SealShipment" && h.Service == DynamoDB {
				seal = &h
			}
		}
		if seal == nil || seal.Resource != ResShipments || seal.Action != "PutItem (seal)" {
			t.Errorf("parameters %q: the seal's hop %+v, want a PutItem (seal) on the shipments table", params, seal)
		}
	}
}

package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

type aslState struct {
	Type     string
	Resource string
	Next     string
	End      bool
	Default  string
	Choices  []struct{ Next string }
	Catch    []struct {
		ErrorEquals []string
		Next        string
	}
	Retry []struct {
		ErrorEquals     []string
		JitterStrategy  string
		BackoffRate     float64
		MaxAttempts     int
		MaxDelaySeconds int
	}
	TimeoutSeconds int
}

func parseASL(t *testing.T) (start string, states map[string]aslState) {
	t.Helper()
	var def struct {
		StartAt string
		States  map[string]aslState
	}
	if err := json.Unmarshal([]byte(fulfilmentASL), &def); err != nil {
		t.Fatalf("order-fulfilment.asl.json: %v", err)
	}
	return def.StartAt, def.States
}

// permanentErrors are the errorTypes our task functions return for what retrying cannot change
// (workflow.InvalidInputError, shipping.ShipmentRefusedError): a task may list them as not retried.
var permanentErrors = map[string]bool{"InvalidInputError": true, "ShipmentRefusedError": true}

// The saga's safety properties: every task retries with backoff and jitter and catches everything,
// every transition lands on a state, every state is reachable, and every path ends.
func TestWorkflowDefinition(t *testing.T) {
	start, states := parseASL(t)
	edges := func(s aslState) []string {
		out := []string{}
		for _, n := range append([]string{s.Next, s.Default}, choiceNexts(s)...) {
			if n != "" {
				out = append(out, n)
			}
		}
		for _, c := range s.Catch {
			out = append(out, c.Next)
		}
		return out
	}
	for name, s := range states {
		for _, n := range edges(s) {
			if _, ok := states[n]; !ok {
				t.Errorf("%s → %q: no such state", name, n)
			}
		}
		if s.Type != "Task" {
			continue
		}
		if len(s.Catch) == 0 || s.Catch[len(s.Catch)-1].ErrorEquals[0] != "States.ALL" {
			t.Errorf("%s: a task without a final Catch of States.ALL can leave the order stuck", name)
		}
		if len(s.Retry) == 0 {
			t.Errorf("%s: task without Retry", name)
		}
		for i, r := range s.Retry {
			if r.MaxAttempts == 0 { // a list of errors not to retry: only ours, ahead of the retrier
				for _, e := range r.ErrorEquals {
					if !permanentErrors[e] || i == len(s.Retry)-1 {
						t.Errorf("%s: not retried: %q (only %v, ahead of a retrier)", name, e, permanentErrors)
					}
				}
				continue
			}
			if r.JitterStrategy != "FULL" || r.BackoffRate < 2 || r.MaxAttempts < 3 {
				t.Errorf("%s: retry %v, want exponential backoff with full jitter and at least 3 attempts", name, r.ErrorEquals)
			}
		}
		// A function that crashed, timed out or failed for any reason of its own is tried again:
		// every task handler is idempotent, and only a retry budget spent goes to compensation.
		if s.Resource == "arn:aws:states:::lambda:invoke" {
			if last := s.Retry[len(s.Retry)-1]; len(last.ErrorEquals) != 1 || last.ErrorEquals[0] != "States.ALL" || last.MaxAttempts < 6 {
				t.Errorf("%s: last retrier %v × %d, want States.ALL, at least 6 attempts", name, last.ErrorEquals, last.MaxAttempts)
			}
		}
		// A Publish state that gives up compensates: an approved order is refunded and cancelled.
		// Publishing again is safe (the events' ids are fixed), so it waits out PutEvents throttling
		// (an account-wide quota) first: at least 8 attempts backing off to 30 s, about a minute on
		// average with full jitter, two at most.
		if s.Resource == "arn:aws:states:::events:putEvents" {
			if last := s.Retry[len(s.Retry)-1]; last.MaxAttempts < 8 || last.MaxDelaySeconds < 30 {
				t.Errorf("%s: retries %d times up to %d s apart, want at least 8 up to 30 s: a brief throttle would compensate the order", name, last.MaxAttempts, last.MaxDelaySeconds)
			}
		}
		if strings.HasSuffix(s.Resource, ".waitForTaskToken") && s.TimeoutSeconds == 0 {
			t.Errorf("%s: a callback task without TimeoutSeconds can wait a year", name)
		}
		// A charge request the function gives up on (its last receive comes after maxReceiveCount-1
		// visibility timeouts) is dead-lettered and fails its task: that must come before the
		// callback's own timeout, or the saga waits out a message nobody will answer. (A refund's
		// task waits for the redrive: payment's park.)
		if strings.HasSuffix(s.Resource, ".waitForTaskToken") && s.TimeoutSeconds <= maxReceiveCount*paymentVisibilitySeconds {
			t.Errorf("%s: TimeoutSeconds %d, want more than %d receives × the payments queue's %d s visibility",
				name, s.TimeoutSeconds, maxReceiveCount, paymentVisibilitySeconds)
		}
	}
	// Reachability from StartAt; terminal states are Succeed/Fail only.
	seen := map[string]bool{}
	var walk func(string)
	walk = func(n string) {
		if seen[n] {
			return
		}
		seen[n] = true
		for _, m := range edges(states[n]) {
			walk(m)
		}
	}
	walk(start)
	for name, s := range states {
		if !seen[name] {
			t.Errorf("%s: unreachable", name)
		}
		if len(edges(s)) == 0 && s.Type != "Succeed" && s.Type != "Fail" {
			t.Errorf("%s: a dead end that is neither Succeed nor Fail", name)
		}
	}
}

// Every service integration the reference flow promises is in the definition.
func TestWorkflowIntegrations(t *testing.T) {
	_, states := parseASL(t)
	want := map[string]bool{
		"arn:aws:states:::lambda:invoke":                    false,
		"arn:aws:states:::sqs:sendMessage.waitForTaskToken": false,
		"arn:aws:states:::events:putEvents":                 false,
		"arn:aws:states:::dynamodb:putItem":                 false,
	}
	for _, s := range states {
		if _, ok := want[s.Resource]; ok {
			want[s.Resource] = true
		}
	}
	for r, ok := range want {
		if !ok {
			t.Errorf("no task uses %s", r)
		}
	}
}

func choiceNexts(s aslState) []string {
	out := make([]string, 0, len(s.Choices))
	for _, c := range s.Choices {
		out = append(out, c.Next)
	}
	return out
}

// rawStates is the definition as plain JSON, for the checks that read Choice rules and paths.
func rawStates(t *testing.T) map[string]map[string]any {
	t.Helper()
	var def struct{ States map[string]map[string]any }
	if err := json.Unmarshal([]byte(fulfilmentASL), &def); err != nil {
		t.Fatal(err)
	}
	return def.States
}

// lookup resolves a simple JSONPath ("$.a.b") in doc; ok is false when a step is missing or null.
func lookup(doc map[string]any, path string) (any, bool) {
	var cur any = doc
	for _, k := range strings.Split(strings.TrimPrefix(path, "$."), ".") {
		m, ok := cur.(map[string]any)
		if !ok || m[k] == nil {
			return nil, false
		}
		cur = m[k]
	}
	return cur, true
}

// choose evaluates a Choice state on doc as Step Functions does: the first matching rule wins.
// Only the comparisons the definition uses are supported; anything else fails the test.
func choose(t *testing.T, state map[string]any, doc map[string]any) string {
	t.Helper()
	for _, c := range state["Choices"].([]any) {
		rule := c.(map[string]any)
		if matches(t, rule, doc) {
			return rule["Next"].(string)
		}
	}
	return state["Default"].(string)
}

// matches evaluates one Choice rule (a comparison, or an Or of comparisons) on doc.
func matches(t *testing.T, rule map[string]any, doc map[string]any) bool {
	t.Helper()
	if or, ok := rule["Or"].([]any); ok {
		for _, r := range or {
			if matches(t, r.(map[string]any), doc) {
				return true
			}
		}
		return false
	}
	v, present := lookup(doc, rule["Variable"].(string))
	switch {
	case rule["IsNull"] != nil:
		isNull := !present && keyPresent(doc, rule["Variable"].(string))
		return isNull == rule["IsNull"].(bool)
	case rule["IsPresent"] != nil:
		return present == rule["IsPresent"].(bool)
	case rule["StringEquals"] != nil:
		if !present {
			t.Fatalf("%v reads a missing %s: States.Runtime on AWS", rule, rule["Variable"])
		}
		return v == rule["StringEquals"]
	}
	t.Fatalf("unsupported rule %v", rule)
	return false
}

// keyPresent reports whether path's last key is in doc, even with a null value.
func keyPresent(doc map[string]any, path string) bool {
	keys := strings.Split(strings.TrimPrefix(path, "$."), ".")
	parent := "$." + strings.Join(keys[:len(keys)-1], ".")
	var m any = doc
	if len(keys) > 1 {
		var ok bool
		if m, ok = lookup(doc, parent); !ok {
			return false
		}
	}
	obj, ok := m.(map[string]any)
	if !ok {
		return false
	}
	_, ok = obj[keys[len(keys)-1]]
	return ok
}

// Compensation after a failure: the refund runs only when the payment was approved (or its
// outcome is unknown), its events are published only when something was refunded, and a
// failed refund still releases the stock and cancels, but ends in RefundFailed for an operator.
func TestWorkflowCompensationRoutes(t *testing.T) {
	states := rawStates(t)
	catchOf := func(name string) (next, resultPath string) {
		c := states[name]["Catch"].([]any)
		last := c[len(c)-1].(map[string]any)
		return last["Next"].(string), last["ResultPath"].(string)
	}
	for task, want := range map[string]string{
		"ReserveInventory":      "Compensate", // nothing charged yet; the state may be null
		"PublishReservation":    "Compensate",
		"ReleaseInventory":      "Compensate",    // the payment was declined
		"PublishCancellation":   "Compensate",    // its events go out again with the compensation's, not on a best-effort rescue
		"RequestPayment":        "RefundPayment", // failed or timed out: was money taken? the refund finds out
		"PublishPaymentOutcome": "Charged?",
		"ShipOrder":             "Charged?",
		"PublishShipment":       "Charged?",
		"RefundPayment":         "Compensate",
		"PublishRefund":         "Compensate",
		"Compensate":            "CompensationFailed",
		"PublishCompensation":   "CompensationFailed",
	} {
		if next, _ := catchOf(task); next != want {
			t.Errorf("%s catches into %s, want %s", task, next, want)
		}
	}
	if _, rp := catchOf("RefundPayment"); rp != "$.refundError" {
		t.Errorf("RefundPayment catches into %s, want $.refundError (RefundFailed? reads it)", rp)
	}
	// A refund done whose events could not be published is no failed refund: they go out with
	// the compensation's, and the execution must not end RefundFailed (an operator would be
	// sent to refund by hand what was refunded already).
	if _, rp := catchOf("PublishRefund"); rp == "$.refundError" || rp == "$.error" || !strings.HasPrefix(rp, "$.") {
		t.Errorf("PublishRefund catches into %s, want a path of its own (not $.refundError, which RefundFailed? reads; not $.error, the one compensated)", rp)
	}

	for _, tc := range []struct {
		choice string
		doc    string
		want   string
	}{
		{"Charged?", `{"error":{},"state":null}`, "Compensate"},
		{"Charged?", `{"error":{},"state":{"outcome":"reserved"}}`, "Compensate"},
		{"Charged?", `{"error":{},"state":{"outcome":"declined"}}`, "Compensate"},
		{"Charged?", `{"error":{},"state":{"outcome":"approved"}}`, "SealShipment"}, // then the refund, if nothing shipped
		{"Charged?", `{"error":{},"state":{"outcome":"shipped"}}`, "Compensate"},    // the goods left: nothing to refund
		{"Refunded?", `{"error":{},"state":{"outcome":"refunded","entries":[{}]}}`, "PublishRefund"},
		{"Refunded?", `{"error":{},"state":{"outcome":"reserved","entries":[]}}`, "Compensate"}, // voided: no events
		// PublishShipment failed: Compensate left the shipped order as it was, and its OrderShipped went out.
		{"ShippedAfterAll?", `{"error":{},"state":{"outcome":"shipped"},"compensation":{"state":{"outcome":"shipped"}}}`, "Shipped"},
		{"ShippedAfterAll?", `{"error":{},"compensation":{"state":{"outcome":"cancelled"}}}`, "RefundFailed?"},
		{"ShippedAfterAll?", `{"error":{},"compensation":{"state":null}}`, "RefundFailed?"},
		{"ShippedAfterAll?", `{"error":{},"compensation":{}}`, "RefundFailed?"},
		{"RefundFailed?", `{"error":{},"compensation":{}}`, "FulfilmentFailed"},
		{"RefundFailed?", `{"error":{},"refundError":{"Error":"States.Timeout"},"compensation":{}}`, "RefundFailed"},
	} {
		var doc map[string]any
		if err := json.Unmarshal([]byte(tc.doc), &doc); err != nil {
			t.Fatal(err)
		}
		if got := choose(t, states[tc.choice], doc); got != tc.want {
			t.Errorf("%s on %s → %s, want %s", tc.choice, tc.doc, got, tc.want)
		}
	}
	for name, want := range map[string]string{"RefundFailed": "Fail", "FulfilmentFailed": "Fail"} {
		if states[name]["Type"] != want {
			t.Errorf("%s is a %v, want %s", name, states[name]["Type"], want)
		}
	}
}

// An approved order is closed to shipping before its payment is refunded, on both routes that
// refund one (a Catch's Charged?, a rescue's PaymentRequested?): Step Functions does not stop a
// ShipOrder's Lambda when its execution stops, so without the seal a late ShipOrder could book
// the carrier for a refunded, cancelled order. The seal is the state machine's own conditional
// put (compensation must not depend on the shipping function, whose failure is often why it
// runs); a shipment booked first fails it, and the order ships instead (ShipBooked), without a
// way back to Charged?. On the refund route the document goes on unchanged.
func TestWorkflowSealsBeforeRefundingAnApprovedOrder(t *testing.T) {
	states := rawStates(t)
	var approved map[string]any
	_ = json.Unmarshal([]byte(`{"event":{"orderId":"ORD-1"},"state":{"outcome":"approved","order":{"orderId":"ORD-1"}},"error":{"Error":"States.Timeout"}}`), &approved)
	if got := choose(t, states["Charged?"], approved); got != "SealShipment" {
		t.Errorf("Charged? sends an approved order to %s, want SealShipment", got)
	}
	if got := choose(t, states["PaymentRequested?"], approved); got != "SealShipment" {
		t.Errorf("a rescue sends an approved order to %s, want SealShipment", got)
	}
	for name, s := range states {
		if name != "Charged?" && name != "PaymentRequested?" && s["Type"] == "Choice" {
			if got := choose(t, s, approved); got == "RefundPayment" {
				t.Errorf("%s sends an approved order to RefundPayment without sealing it first", name)
			}
		}
	}

	seal := states["SealShipment"]
	if seal["Resource"] != "arn:aws:states:::dynamodb:putItem" || get(seal, "Parameters", "TableName") != "${ShipmentsTable}" {
		t.Fatalf("SealShipment: %v on %v, want a put in the shipments table", seal["Resource"], get(seal, "Parameters", "TableName"))
	}
	if k := get(seal, "Parameters", "Item", "orderId", "S.$"); k != "$.state.order.orderId" {
		t.Errorf("SealShipment seals %v, want the state's order ($.state.order.orderId)", k)
	}
	if c := get(seal, "Parameters", "ConditionExpression"); c != "attribute_not_exists(orderId) OR sealed = :sealed" {
		t.Errorf("SealShipment condition %v: want it to pass on nothing or a seal (its own retry), and fail on a shipment", c)
	}
	if seal["ResultPath"] != nil || seal["Next"] != "RefundPayment" {
		t.Errorf("SealShipment: ResultPath %v, Next %v; want the document unchanged, on to RefundPayment", seal["ResultPath"], seal["Next"])
	}
	catches, _ := seal["Catch"].([]any)
	if len(catches) != 2 {
		t.Fatalf("SealShipment catches %v", catches)
	}
	if c := catches[0].(map[string]any); fmt.Sprint(c["ErrorEquals"]) != "[DynamoDB.ConditionalCheckFailedException]" || c["Next"] != "ShipBooked" || c["ResultPath"] != nil {
		t.Errorf("SealShipment's first Catch %v, want a failed condition (a shipment is there) to go on to ShipBooked, the document unchanged", c)
	}
	if c := catches[1].(map[string]any); c["Next"] != "CompensationFailed" {
		t.Errorf("SealShipment's last Catch %v, want CompensationFailed: whether the goods left is unknown", c)
	}

	booked := states["ShipBooked"]
	if booked["Resource"] != "arn:aws:states:::lambda:invoke" || get(booked, "Parameters", "FunctionName") != "${ShippingFunctionArn}" ||
		get(booked, "Parameters", "Payload", "action") != "ship" || booked["Next"] != "PublishShipment" {
		t.Errorf("ShipBooked: %v %v %v → %v, want the shipping function's ship, then PublishShipment", booked["Resource"],
			get(booked, "Parameters", "FunctionName"), get(booked, "Parameters", "Payload"), booked["Next"])
	}
	if c := booked["Catch"].([]any); c[len(c)-1].(map[string]any)["Next"] != "CompensationFailed" {
		t.Errorf("ShipBooked catches into %v, want CompensationFailed (back to Charged? would seal and come here again)", c[len(c)-1])
	}
	// Once shipped, no route leads back to the seal: PublishShipment's Catch reaches Charged? with
	// outcome shipped, which compensates by publishing the shipment again.
	var shipped map[string]any
	_ = json.Unmarshal([]byte(`{"event":{},"state":{"outcome":"shipped"},"error":{}}`), &shipped)
	if got := choose(t, states["Charged?"], shipped); got != "Compensate" {
		t.Errorf("Charged? sends a shipped order to %s, want Compensate", got)
	}
}

// The two payment commands share the queue and say what they ask for; the refund carries the
// error it compensates, which its answer hands on to Compensate; Compensate keeps the input
// (its result goes under $.compensation) so that RefundFailed? can still read $.refundError.
func TestWorkflowPaymentCommands(t *testing.T) {
	states := rawStates(t)
	for name, want := range map[string][]string{
		"RequestPayment": {"action", "taskToken.$", "event.$", "state.$"},
		"RefundPayment":  {"action", "taskToken.$", "event.$", "state.$", "error.$"},
	} {
		s := states[name]
		body, _ := lookup(s, "$.Parameters.MessageBody")
		m, _ := body.(map[string]any)
		for _, k := range want {
			if _, ok := m[k]; !ok {
				t.Errorf("%s: message body %v lacks %s", name, m, k)
			}
		}
		if s["Resource"] != "arn:aws:states:::sqs:sendMessage.waitForTaskToken" || fmt.Sprint(get(s, "Parameters", "QueueUrl")) != "${PaymentsQueueUrl}" {
			t.Errorf("%s: %v on %v, want a callback message on the payments queue", name, s["Resource"], get(s, "Parameters", "QueueUrl"))
		}
	}
	if a := get(states["RequestPayment"], "Parameters", "MessageBody", "action"); a != "charge" {
		t.Errorf("RequestPayment action %v, want charge", a)
	}
	if a := get(states["RefundPayment"], "Parameters", "MessageBody", "action"); a != "refund" {
		t.Errorf("RefundPayment action %v, want refund", a)
	}
	if c := states["Compensate"]; c["ResultPath"] != "$.compensation" || c["OutputPath"] != nil {
		t.Errorf("Compensate: ResultPath %v OutputPath %v, want its result under $.compensation", c["ResultPath"], c["OutputPath"])
	}
	if e := get(states["PublishCompensation"], "Parameters", "Entries.$"); e != "$.compensation.state.entries" {
		t.Errorf("PublishCompensation publishes %v", e)
	}
}

// One saga per order: the first state claims the order with a conditional put that only this
// execution can pass again (its own retry), and a duplicate ends at once, before any task.
func TestWorkflowClaimsTheOrderFirst(t *testing.T) {
	start, states := parseASL(t)
	if start != "Rescue?" || states["Rescue?"].Default != "ClaimSaga" {
		t.Fatalf("StartAt = %s, then %s; want Rescue?, then ClaimSaga for any execution that is not a rescue", start, states["Rescue?"].Default)
	}
	var notRescue map[string]any
	_ = json.Unmarshal([]byte(`{"version":"0","detail-type":"OrderPlaced","detail":{}}`), &notRescue)
	if got := choose(t, rawStates(t)["Rescue?"], notRescue); got != "ClaimSaga" {
		t.Errorf("an OrderPlaced event goes to %s, want ClaimSaga", got)
	}
	raw := rawStates(t)["ClaimSaga"]
	if raw["Resource"] != "arn:aws:states:::dynamodb:putItem" || fmt.Sprint(get(raw, "Parameters", "TableName")) != "${SagasTable}" {
		t.Errorf("ClaimSaga: %v on %v", raw["Resource"], get(raw, "Parameters", "TableName"))
	}
	if c := fmt.Sprint(get(raw, "Parameters", "ConditionExpression")); c != "attribute_not_exists(orderId) OR executionArn = :me" {
		t.Errorf("ClaimSaga condition = %s", c)
	}
	for _, v := range []any{get(raw, "Parameters", "Item", "executionArn", "S.$"), get(raw, "Parameters", "ExpressionAttributeValues", ":me", "S.$")} {
		if v != "$$.Execution.Id" {
			t.Errorf("ClaimSaga names %v, want the execution ($$.Execution.Id)", v)
		}
	}
	if raw["ResultPath"] != nil {
		t.Errorf("ClaimSaga ResultPath %v, want null (keep the event)", raw["ResultPath"])
	}
	claim := states["ClaimSaga"]
	if len(claim.Catch) != 2 || claim.Catch[0].ErrorEquals[0] != "DynamoDB.ConditionalCheckFailedException" || claim.Catch[0].Next != "Duplicate" {
		t.Errorf("ClaimSaga catches %+v, want ConditionalCheckFailed → Duplicate first", claim.Catch)
	}
	for _, r := range claim.Retry {
		for _, e := range r.ErrorEquals {
			if e == "DynamoDB.ConditionalCheckFailedException" || e == "States.ALL" {
				t.Errorf("ClaimSaga retries %s: a duplicate would wait for nothing", e)
			}
		}
	}
	if states["Duplicate"].Type != "Succeed" || claim.Next != "ReadOrderPlaced" {
		t.Errorf("Duplicate is a %s; ClaimSaga goes on to %s", states["Duplicate"].Type, claim.Next)
	}
}

// A rescue takes the order over from the stalled execution only (or an order nobody claimed),
// and compensates from its last known state as a Catch would: refund first once a payment may
// have been requested.
func TestWorkflowRescue(t *testing.T) {
	states := rawStates(t)
	var rescue map[string]any
	_ = json.Unmarshal([]byte(`{"rescue":{"execution":"arn:x"},"event":{"orderId":"ORD-1"},"state":null,"error":{}}`), &rescue)
	if got := choose(t, states["Rescue?"], rescue); got != "ClaimRescue" {
		t.Fatalf("a rescue goes to %s, want ClaimRescue", got)
	}
	claim := states["ClaimRescue"]
	if c := fmt.Sprint(get(claim, "Parameters", "ConditionExpression")); c != "attribute_not_exists(orderId) OR executionArn = :failed OR executionArn = :me" {
		t.Errorf("ClaimRescue condition = %s", c)
	}
	if v := get(claim, "Parameters", "ExpressionAttributeValues", ":failed", "S.$"); v != "$.rescue.execution" {
		t.Errorf("ClaimRescue takes over from %v, want $.rescue.execution", v)
	}
	if c := claim["Catch"].([]any)[0].(map[string]any); c["Next"] != "Duplicate" {
		t.Errorf("ClaimRescue's first Catch goes to %v, want Duplicate", c["Next"])
	}
	for _, tc := range []struct{ doc, want string }{
		{`{"state":null}`, "Compensate"}, // nothing known: inventory starts from the event
		{`{"state":{"sequence":1}}`, "Compensate"},
		{`{"state":{"outcome":"out-of-stock"}}`, "Compensate"},
		{`{"state":{"outcome":"reserved"}}`, "RefundPayment"}, // waiting for the payment: void it
		{`{"state":{"outcome":"approved"}}`, "SealShipment"},  // then the refund, if nothing shipped
		{`{"state":{"outcome":"declined"}}`, "Compensate"},
		{`{"state":{"outcome":"shipped"}}`, "Compensate"},
	} {
		var doc map[string]any
		if err := json.Unmarshal([]byte(tc.doc), &doc); err != nil {
			t.Fatal(err)
		}
		if got := choose(t, states["PaymentRequested?"], doc); got != tc.want {
			t.Errorf("PaymentRequested? on %s → %s, want %s", tc.doc, got, tc.want)
		}
	}

	// The rescue of an execution whose refund had failed before it compensated carries
	// $.refundError (the rescuer copies it): every state on the way keeps it, so the rescue ends
	// RefundFailed (an operator refunds), not FulfilmentFailed (refunded).
	var refundFailed map[string]any
	_ = json.Unmarshal([]byte(`{"rescue":{"execution":"arn:x"},"event":{"orderId":"ORD-1"},"state":{"outcome":"cancelled"},"error":{},"refundError":{"Error":"States.Timeout"}}`), &refundFailed)
	var path []string
	for at := "ClaimRescue"; len(path) < 10; {
		path = append(path, at)
		s := states[at]
		if s["Type"] == "Fail" {
			break
		}
		if rp, set := s["ResultPath"]; s["Type"] == "Task" && (!set || rp != nil && !strings.HasPrefix(rp.(string), "$.") || rp == "$.refundError") {
			t.Errorf("%s's result replaces the document or writes $.refundError (ResultPath %v): the rescue loses the failed refund", at, rp)
		}
		if s["Type"] == "Choice" {
			at = choose(t, s, refundFailed)
		} else {
			at = s["Next"].(string)
		}
	}
	if got := strings.Join(path, " → "); got != "ClaimRescue → PaymentRequested? → Compensate → PublishCompensation → ShippedAfterAll? → RefundFailed? → RefundFailed" {
		t.Errorf("a rescue after a failed refund runs %s, want it to end RefundFailed", got)
	}
}

// A test deploy shortens the saga's timeouts (-c callbackTimeout, -c executionTimeout); nothing
// else in the definition changes, and without them the definition is the file as written.
func TestWithTimeouts(t *testing.T) {
	if got, err := withTimeouts(fulfilmentASL, Timeouts{}); err != nil || got != fulfilmentASL {
		t.Fatalf("no timeouts: the definition changed (%v)", err)
	}
	decode := func(s string) map[string]any {
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	orig := decode(fulfilmentASL)
	if orig["TimeoutSeconds"] != 1800.0 {
		t.Errorf("the definition's TimeoutSeconds = %v, want 1800 (README, docs)", orig["TimeoutSeconds"])
	}
	got, err := withTimeouts(fulfilmentASL, Timeouts{Callback: 45, Execution: 600})
	if err != nil {
		t.Fatal(err)
	}
	short := decode(got)
	if short["TimeoutSeconds"] != 600.0 {
		t.Errorf("TimeoutSeconds = %v, want 600", short["TimeoutSeconds"])
	}
	changed := []string{}
	for name, v := range orig["States"].(map[string]any) {
		before, after := v.(map[string]any), short["States"].(map[string]any)[name].(map[string]any)
		if after["TimeoutSeconds"] != before["TimeoutSeconds"] {
			if before["TimeoutSeconds"] != 300.0 || after["TimeoutSeconds"] != 45.0 {
				t.Errorf("%s: TimeoutSeconds %v → %v, want 300 → 45", name, before["TimeoutSeconds"], after["TimeoutSeconds"])
			}
			changed = append(changed, name)
			after["TimeoutSeconds"] = before["TimeoutSeconds"]
		}
		if !reflect.DeepEqual(before, after) {
			t.Errorf("%s: changed beyond its timeout", name)
		}
	}
	slices.Sort(changed)
	if want := []string{"RefundPayment", "RequestPayment"}; !slices.Equal(changed, want) {
		t.Errorf("callback timeouts changed in %v, want %v", changed, want)
	}
}

func TestParseTimeouts(t *testing.T) {
	for _, c := range []struct {
		callback, execution any
		want                Timeouts
		err                 string
	}{
		{nil, nil, Timeouts{}, ""},
		{"", " ", Timeouts{}, ""},
		{"45", "600", Timeouts{Callback: 45, Execution: 600}, ""},
		{45.0, nil, Timeouts{Callback: 45}, ""}, // a number in cdk.json
		{"0", nil, Timeouts{}, "callbackTimeout=0"},
		{"5m", nil, Timeouts{}, "callbackTimeout=5m"},
		{nil, "-1", Timeouts{}, "executionTimeout=-1"},
		{"600", "600", Timeouts{}, "must be less than"},
	} {
		got, err := ParseTimeouts(c.callback, c.execution)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseTimeouts(%v, %v) = %v, want an error with %q", c.callback, c.execution, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseTimeouts(%v, %v) = %+v, %v, want %+v", c.callback, c.execution, got, err, c.want)
		}
	}
}

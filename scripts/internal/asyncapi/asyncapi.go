// Package asyncapi generates the AsyncAPI 3.0 document of orderflow's asynchronous interfaces
// (docs/asyncapi.json): the orders bus, the order-events stream, the notifications topic and its
// queues, and the payments queue. Everything in it comes from the event registry (package events:
// types, versions, sources, which types are customer-facing or sent by SMS), the JSON Schemas
// (package schemas, bundled into one self-contained schema per message) and the samples (each
// message's example), so the document cannot say what the code does not do.
//
// `go run ./scripts/asyncapi` rewrites the document; `make lint` fails when the committed one is
// stale, and checks it with the official AsyncAPI parser (pinned in package.json).
package asyncapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/toolkit"
)

// Path is where the document lives, from the repository's root; definition is the saga's
// definition, which says what the payments queue's messages hold.
const (
	Path       = "docs/asyncapi.json"
	definition = "infra/workflow/order-fulfilment.asl.json"
)

// producers names the producer of each source's events, for the operations' descriptions.
var producers = map[string]string{
	events.SourceOrders:     "order-api (POST /orders) puts them",
	events.SourceInventory:  "the order-fulfilment saga's Publish states put them, as its inventory tasks decided",
	events.SourcePayments:   "the order-fulfilment saga's Publish states put them, as the payment service decided",
	events.SourceShipping:   "the order-fulfilment saga's Publish states put them, as its shipping task decided",
	events.SourceFulfilment: "the order-fulfilment saga's Publish states put them",
}

// Document returns the AsyncAPI document, indented, with a final newline; root is the
// repository's root.
func Document(root string) ([]byte, error) {
	bundle, err := newBundler()
	if err != nil {
		return nil, err
	}
	messages := map[string]any{}
	var all []string // message keys, every version of every type
	for _, info := range events.Registry() {
		for v := 1; v <= info.Latest(); v++ {
			key := messageKey(info.Type, v)
			m, err := message(bundle, info, v)
			if err != nil {
				return nil, err
			}
			messages[key] = m
			all = append(all, key)
		}
	}
	task, err := paymentTask(bundle, filepath.Join(root, definition))
	if err != nil {
		return nil, err
	}
	messages["PaymentTask"] = task

	// The rules match on detail-type alone: an older version of a customer-facing type (an
	// OrderPlaced v1 put on the bus) reaches the topic too, and the notifier upcasts it.
	customer := keysOf(all, events.CustomerFacing())
	sms := keysOf(all, events.SMSTypes())
	placed := keysOf(all, []events.Type{events.TypeOrderPlaced})
	channels := map[string]any{
		"ordersBus": channel("{stackName}-orders", "The orders event bus (EventBridge)",
			"Every order event, as an EventBridge event: detail-type is the event's type, source its producer's, detail the envelope. "+
				"Producers put the latest version of each type; the older versions of OrderPlaced are still accepted and upcast by their consumers.",
			all),
		"orderEventsStream": channel(nil, "The order-events stream (Kinesis; the stack's output StreamName)",
			"Every order event the bus's OrderEventsToStream rule delivered to the streamer, as the whole EventBridge event, partitioned by orderId: "+
				"one order's events keep their order within a shard.",
			all),
		"notificationsTopic": channel(nil, "The order-notifications topic (SNS; the stack's output NotificationsTopicArn)",
			"The customer-facing events (the registry's), any version, as the whole EventBridge event, published by the bus's notifications rule.",
			customer),
		"emailQueue": channel(nil, "The e-mail notifications queue (SQS; the stack's output EmailQueueUrl)",
			"A raw-delivered copy of every message of the notifications topic.", customer),
		"smsQueue": channel(nil, "The SMS notifications queue (SQS; the stack's output SmsQueueUrl)",
			"A raw-delivered copy of the topic's messages whose detail-type the subscription's filter allows (the registry's SMS types).", sms),
		"paymentsQueue": channel(nil, "The payments queue (SQS; the stack's output PaymentsQueueUrl)",
			"The saga's payment requests (sqs:sendMessage.waitForTaskToken): the payment service answers each with SendTaskSuccess or SendTaskFailure.",
			[]string{"PaymentTask"}),
	}
	channels["ordersBus"].(map[string]any)["parameters"] = map[string]any{
		"stackName": map[string]any{"description": "The CloudFormation stack's name (Orderflow by default)."},
	}

	operations := map[string]any{}
	for _, src := range events.Sources() {
		var keys []string
		for _, info := range events.Registry() {
			if info.Source() == src {
				keys = append(keys, messageKey(info.Type, info.Latest()))
			}
		}
		name, ok := producers[src]
		if !ok {
			return nil, fmt.Errorf("asyncapi: no producer named for the source %s (scripts/internal/asyncapi)", src)
		}
		operations["put."+src] = operation("send", "ordersBus", "Events of "+src+" onto the bus", name+" (PutEvents).", keys)
	}
	operations["startSaga"] = operation("receive", "ordersBus", "OrderPlaced starts the saga",
		"The OrderPlacedToWorkflow rule starts an order-fulfilment execution (Step Functions) with the event.", placed)
	operations["stream"] = operation("receive", "ordersBus", "Every order event to the stream",
		"The OrderEventsToStream rule invokes the streamer, which appends the event to the stream (an invalid one is parked in its DLQ).", all)
	operations["appendToStream"] = operation("send", "orderEventsStream", "The streamer appends each event", "PutRecord, partition key orderId.", all)
	operations["project"] = operation("receive", "orderEventsStream", "The projector keeps the event store",
		"Appends each event to the event store once (conditional put), and emits the business metrics of an event stored for the first time.", all)
	counted, err := countedTypes()
	if err != nil {
		return nil, err
	}
	operations["count"] = operation("receive", "orderEventsStream", "Analytics keeps the sales totals",
		"Adds "+inWords(counted)+" to one totals item, each event once (a marker per event id, in the same transaction); the other types count nothing.", all)
	operations["notify"] = operation("receive", "ordersBus", "Customer-facing events to the topic",
		"The CustomerFacingToNotifications rule publishes the customer-facing events to the topic.", customer)
	operations["publishNotification"] = operation("send", "notificationsTopic", "The rule publishes to the topic", "SNS fans each message out to the queues.", customer)
	operations["sendEmail"] = operation("receive", "emailQueue", "The notifier sends e-mail", "One notification per event (a conditional put on eventId + channel).", customer)
	operations["sendSms"] = operation("receive", "smsQueue", "The notifier sends SMS", "One notification per event (a conditional put on eventId + channel).", sms)
	operations["requestPayment"] = operation("send", "paymentsQueue", "The saga asks for a payment decision or a refund",
		"RequestPayment (action charge) and RefundPayment (action refund) wait for the task token's answer.", []string{"PaymentTask"})
	operations["decidePayment"] = operation("receive", "paymentsQueue", "The payment service decides once",
		"Charges or refunds once per order (the payments ledger), then answers the waiting task.", []string{"PaymentTask"})

	doc := map[string]any{
		"asyncapi": "3.0.0",
		"info": map[string]any{
			"title":   "orderflow",
			"version": "1.0.0",
			"description": "The asynchronous interfaces of orderflow, an event-driven e-commerce order flow on AWS. " +
				"Generated by `go run ./scripts/asyncapi` from the event registry (package events), the JSON Schemas (schemas/) and the samples (events/samples/): do not edit by hand.",
			"license": map[string]any{"name": "See LICENSE in the repository"},
		},
		"defaultContentType": "application/json",
		"channels":           channels,
		"operations":         operations,
		"components":         map[string]any{"messages": messages, "schemas": bundle.components},
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("asyncapi: %w", err)
	}
	return buf.Bytes(), nil
}

// countedTypes are the event types analytics counts (toolkit.TotalsOf, tried on each type's
// latest sample), in the registry's order.
func countedTypes() ([]string, error) {
	var counted []string
	for _, info := range events.Registry() {
		e, err := events.Parse(events.Sample(info.Type, info.Latest()))
		if err != nil {
			return nil, fmt.Errorf("asyncapi: sample of %s: %w", info.Type, err)
		}
		if _, ok, err := toolkit.TotalsOf(e); err != nil {
			return nil, fmt.Errorf("asyncapi: totals of the %s sample: %w", info.Type, err)
		} else if ok {
			counted = append(counted, string(info.Type))
		}
	}
	return counted, nil
}

// inWords lists names as prose: "A", "A and B", "A, B and C".
func inWords(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// messageKey is a message's key in components/messages: "OrderPlaced.v3".
func messageKey(t events.Type, v int) string { return fmt.Sprintf("%s.v%d", t, v) }

// keysOf keeps the keys of messages of the given types.
func keysOf(keys []string, types []events.Type) []string {
	var out []string
	for _, k := range keys {
		if slices.Contains(types, events.Type(strings.Split(k, ".")[0])) {
			out = append(out, k)
		}
	}
	return out
}

func ref(path string) map[string]any { return map[string]any{"$ref": path} }

func channel(address any, title, description string, keys []string) map[string]any {
	msgs := map[string]any{}
	for _, k := range keys {
		msgs[k] = ref("#/components/messages/" + k)
	}
	return map[string]any{"address": address, "title": title, "description": description, "messages": msgs}
}

func operation(action, channelName, title, description string, keys []string) map[string]any {
	var msgs []any
	for _, k := range keys {
		msgs = append(msgs, ref("#/channels/"+channelName+"/messages/"+k))
	}
	return map[string]any{
		"action": action, "channel": ref("#/channels/" + channelName), "title": title, "description": description, "messages": msgs,
	}
}

// message is one version of one type: the EventBridge event whose detail is its envelope, with
// the sample as the example.
func message(b *bundler, info events.Info, v int) (map[string]any, error) {
	envelope, err := b.schema(info.Type, v)
	if err != nil {
		return nil, err
	}
	var sample any
	if err := json.Unmarshal(events.Sample(info.Type, v), &sample); err != nil {
		return nil, fmt.Errorf("asyncapi: sample of %s v%d: %w", info.Type, v, err)
	}
	var traits []string
	if info.CustomerFacing {
		traits = append(traits, "customer-facing")
	}
	if info.SMS {
		traits = append(traits, "sent by SMS too")
	}
	if info.Status != "" {
		traits = append(traits, "sets the order's status to "+info.Status)
	}
	if info.EndsOrder {
		traits = append(traits, "ends the order: nothing follows it")
	}
	if v < info.Latest() {
		traits = append(traits, fmt.Sprintf("legacy: producers emit v%d; consumers upcast this one", info.Latest()))
	}
	summary := b.description(envelope)
	if len(traits) > 0 {
		summary += " (" + strings.Join(traits, "; ") + ")"
	}
	return map[string]any{
		"name":        string(info.Type),
		"title":       fmt.Sprintf("%s v%d", info.Type, v),
		"summary":     summary,
		"contentType": "application/json",
		"payload":     eventBridge(info, envelope),
		"examples": []any{map[string]any{
			"name":    fmt.Sprintf("%s-v%d", info.Type, v),
			"payload": map[string]any{"version": "0", "detail-type": string(info.Type), "source": info.Source(), "detail": sample},
		}},
	}, nil
}

// eventBridge is the schema of an EventBridge event carrying an envelope of info's type.
func eventBridge(info events.Info, envelope map[string]any) map[string]any {
	return map[string]any{
		"type":     "object",
		"required": []any{"detail-type", "source", "detail"},
		"properties": map[string]any{
			"detail-type": map[string]any{"const": string(info.Type)},
			"source":      map[string]any{"const": info.Source()},
			"detail":      envelope,
		},
	}
}

// paymentTask is the message the saga sends to the payments queue (the payment handler's
// taskMessage): the action, the task token to answer, the OrderPlaced that started the saga (any
// version), the saga's state, and for a refund the failure being compensated.
func paymentTask(b *bundler, definition string) (map[string]any, error) {
	actions, err := queueActions(definition)
	if err != nil {
		return nil, err
	}
	latestPlaced := messageKey(events.TypeOrderPlaced, events.LatestVersion(events.TypeOrderPlaced))
	var placed []any
	for v := 1; v <= events.LatestVersion(events.TypeOrderPlaced); v++ {
		s, err := b.schema(events.TypeOrderPlaced, v)
		if err != nil {
			return nil, err
		}
		placed = append(placed, s)
	}
	var sample any
	if err := json.Unmarshal(events.Sample(events.TypeOrderPlaced, events.LatestVersion(events.TypeOrderPlaced)), &sample); err != nil {
		return nil, fmt.Errorf("asyncapi: sample of OrderPlaced: %w", err)
	}
	placedSample := sample.(map[string]any)
	orderID, _ := placedSample["orderId"].(string)
	example := map[string]any{
		"action": actions[0], "taskToken": "AQCEAAAAKgAAAAMAAAAA...(Step Functions' opaque token)", "event": sample,
		"state": map[string]any{ // after the reservation (sequence 2), as the inventory task leaves it
			"order": placedSample["payload"], "correlationId": events.ID(orderID, 1), "lastEventId": events.ID(orderID, 2),
			"sequence": 2, "outcome": "reserved", "entries": []any{},
		},
	}
	return map[string]any{
		"name":        "PaymentTask",
		"examples":    []any{map[string]any{"name": "charge", "payload": example}},
		"title":       "Payment task",
		"summary":     "A charge or refund request from the order-fulfilment saga, answered through its task token.",
		"contentType": "application/json",
		"payload": map[string]any{
			"type":     "object",
			"required": []any{"action", "taskToken", "event", "state"},
			"properties": map[string]any{
				"action":    map[string]any{"enum": actions, "description": "What the saga asks: the action of each sqs:sendMessage.waitForTaskToken task of its definition."},
				"taskToken": map[string]any{"type": "string", "description": "Step Functions' task token: SendTaskSuccess or SendTaskFailure with it."},
				"event":     map[string]any{"description": "The OrderPlaced (the envelope) that started the saga.", "oneOf": placed},
				"state": map[string]any{
					"type":        "object",
					"description": "The saga's state (package workflow's State). The payment service refuses a state without its order, before sequence 2, or whose ids are not the order's (InvalidInputError).",
					"required":    []any{"order", "correlationId", "lastEventId", "sequence"},
					"properties": map[string]any{
						"order":         map[string]any{"allOf": []any{ref(fmt.Sprintf("#/components/schemas/%s.payload", latestPlaced))}, "description": fmt.Sprintf("The OrderPlaced payload, upcast to its latest version, %s.", latestPlaced)},
						"correlationId": map[string]any{"allOf": []any{ref("#/components/schemas/envelope.uuid")}, "description": "The id of the order's OrderPlaced (sequence 1)."},
						"lastEventId":   map[string]any{"allOf": []any{ref("#/components/schemas/envelope.uuid")}, "description": "The id of the event at sequence: the next event's causation."},
						"sequence":      map[string]any{"type": "integer", "minimum": 2, "description": "The last sequence used (the reservation's, at least)."},
						"outcome":       map[string]any{"type": "string", "description": "The last task's outcome, which the definition's Choices read."},
						"entries":       map[string]any{"type": "array", "description": "What the next Publish state puts on the bus (PutEvents entries)."},
					},
				},
				"error": map[string]any{
					"type": "object", "description": "refund only: the failure being compensated (Step Functions' error and cause).",
					"properties": map[string]any{"Error": map[string]any{"type": "string"}, "Cause": map[string]any{"type": "string"}},
				},
			},
		},
	}, nil
}

// queueActions reads the saga's definition for the actions its payments-queue tasks send
// (Parameters.MessageBody.action of each sqs:sendMessage.waitForTaskToken task).
func queueActions(path string) ([]any, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("asyncapi: %w", err)
	}
	var def struct {
		States map[string]struct {
			Resource   string
			Parameters struct {
				MessageBody struct {
					Action string `json:"action"`
				}
			}
		}
	}
	if err := json.Unmarshal(raw, &def); err != nil {
		return nil, fmt.Errorf("asyncapi: %s: %w", path, err)
	}
	var out []any
	for _, s := range def.States {
		if strings.HasSuffix(s.Resource, "sqs:sendMessage.waitForTaskToken") && s.Parameters.MessageBody.Action != "" {
			out = append(out, s.Parameters.MessageBody.Action)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("asyncapi: %s: no payments-queue task with an action", path)
	}
	slices.SortFunc(out, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
	return slices.Compact(out), nil
}

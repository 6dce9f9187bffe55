// Package events is the contract every orderflow service codes against: the
// event envelope, one Go type per event payload, and the JSON Schemas (package
// schemas) that gate every event on its way in and out.
//
// # Naming
//
// An event type has two Go names, so that neither clashes with the other:
//
//   - the Type constant carries a "Type" prefix: TypeOrderPlaced, TypeInventoryReserved, ...
//     Its value is the bare name ("OrderPlaced"), which is also the EventBridge detail-type.
//   - the payload struct carries the bare name, with a version suffix only for types that
//     have more than one version: OrderPlacedV1, OrderPlacedV2, InventoryReserved, ...
//
// Producers use the Source constants (SourceOrders, ...); SourceOf gives the one source
// allowed for each type (the schemas pin it, and the EventBridge rules match on it).
//
// # Registry
//
// One entry per type (types.go, Registry and Lookup) says everything the rest of the system
// needs to know of it: its source and latest version, whether the customer hears about it
// (CustomerFacing, SMS), the order status it sets and whether it ends the order. The bus
// rules and the SMS filter (infra), the notifier, the fold, the trace, the shop, the load run,
// the Outcome metric and docs/asyncapi.json derive from it.
//
// # Envelope
//
// Every event travels as an Envelope: the EventBridge detail, the payload of the Kinesis
// record (inside the whole EventBridge event) and the item of the event store. Its id is
// deterministic, ID(orderId, sequence), so a retried producer re-emits the same id and every
// consumer can deduplicate with a conditional write. CorrelationID is the id of the order's
// OrderPlaced event and stays the same for the whole order; CausationID is the id of the
// event that caused this one.
//
// # Schema evolution
//
// Each type and version has its own schema, schemas/<Type>.v<N>.schema.json, and its own
// sample, events/samples/<Type>.v<N>.json. A new version may only add optional properties
// and widen enums (compat_test.go enforces it). Consumers call Envelope.Upcast, the one place
// that turns an old version into the latest (OrderPlaced v1 -> v2), and then DecodePayload.
//
// # Validation
//
// The schemas are applied by the package's own validator (validate.go), which knows exactly
// the draft 2020-12 keywords they use and refuses to compile any other, so a schema change it
// does not understand fails the tests instead of being ignored. Parse reads a document once,
// into a tree that the validator checks and the Envelope is filled from; New checks the tree of
// the envelope it built without writing and re-reading it. The tests hold all of it to
// github.com/santhosh-tekuri/jsonschema (equivalence_test.go), which the functions do not link.
// The same reader decodes payloads (DecodePayload) and, through Unmarshal, documents that are no
// event (payment's task messages) in one pass where it can, leaving the rest to encoding/json;
// the tests hold both to encoding/json.
//
// # Errors
//
// New, Parse, FromEventBridge, Upcast and DecodePayload return a *ValidationError for bad
// input. It is permanent: retrying cannot fix it, so handlers park the event (DLQ) instead.
package events

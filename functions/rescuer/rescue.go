package main

// The rescue execution: its input and its name.

import (
	"encoding/json"

	"github.com/orderflow-dev/orderflow/functions/internal/workflow"
)

// Limits of what the rescue execution carries from the failed one (its name: workflow.RescueName).
const (
	maxErrorLen = 256  // Step Functions' limit on an error name
	maxCauseLen = 2048 // the cause is for an operator to read; the history keeps all of it
)

// RescueInput is the input of a rescue execution: the workflow document ({"event", "state",
// "error"}, as a Catch leaves it, and "refundError" if a refund had failed) plus "rescue",
// which the state machine's first Choice tests for. $.rescue.execution is the failed
// execution, from which the rescue claims the order.
type RescueInput struct {
	Rescue      Rescue             `json:"rescue"`
	Event       json.RawMessage    `json:"event"`                 // the OrderPlaced envelope: the failed execution's input's detail
	State       json.RawMessage    `json:"state"`                 // the last saga state the failed execution recorded (none: written null)
	Error       workflow.TaskError `json:"error"`                 // as a Catch writes $.error
	RefundError json.RawMessage    `json:"refundError,omitempty"` // as RefundPayment's Catch wrote it, if it did
}

// encode is json.Marshal of in, but for Event and State, which it writes as they are: they were
// decoded from the execution's input and history, so they are valid JSON already, and
// json.Marshal would scan them again to check and compact them (a tenth of the rescuer's time).
// Either, absent, is written null, as json.Marshal writes a nil RawMessage; RefundError, absent,
// is left out, as omitempty does.
func (in RescueInput) encode() ([]byte, error) {
	rescue, err := json.Marshal(in.Rescue)
	if err != nil {
		return nil, err
	}
	caught, err := json.Marshal(in.Error)
	if err != nil {
		return nil, err
	}
	event, state := orNull(in.Event), orNull(in.State)
	out := make([]byte, 0, len(rescue)+len(event)+len(state)+len(caught)+len(in.RefundError)+len(`{"rescue":,"event":,"state":,"error":,"refundError":}`))
	out = append(append(append(out, `{"rescue":`...), rescue...), `,"event":`...)
	out = append(append(out, event...), `,"state":`...)
	out = append(append(out, state...), `,"error":`...)
	out = append(out, caught...)
	if len(in.RefundError) > 0 {
		out = append(append(out, `,"refundError":`...), in.RefundError...)
	}
	return append(out, '}'), nil
}

func orNull(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage("null")
	}
	return raw
}

// Rescue names the execution rescued and how it ended. Every member is always present
// (error and cause are "" when the execution had none).
type Rescue struct {
	Execution string `json:"execution"` // the failed execution's ARN
	Status    string `json:"status"`    // FAILED, TIMED_OUT or ABORTED
	Error     string `json:"error"`     // its error name, as Step Functions reported it
	Cause     string `json:"cause"`     // its cause, truncated to maxCauseLen bytes
}

// rescueInput builds the rescue execution's input. Its error ($.error, whose reason the rescue's
// refund and cancellation give) is the one the execution's compensation was already for, if it
// had begun one (a Catch wrote $.error: a refund it made may have told its reason already);
// otherwise the execution's own, and for one with no error (timed out, or aborted without one)
// "States."+status, as a Catch would see States.Timeout.
func rescueInput(d statusChange, f failedExecution, envelope json.RawMessage, last recorded) RescueInput {
	errName, cause := workflow.Truncate(f.err, maxErrorLen), workflow.Truncate(f.cause, maxCauseLen)
	caught := workflow.TaskError{Error: errName, Cause: cause}
	switch {
	case last.Caught != nil:
		caught = workflow.TaskError{Error: workflow.Truncate(last.Caught.Error, maxErrorLen), Cause: workflow.Truncate(last.Caught.Cause, maxCauseLen)}
	case errName == "":
		caught.Error = "States." + d.Status
	}
	return RescueInput{
		Rescue:      Rescue{Execution: d.ExecutionARN, Status: d.Status, Error: errName, Cause: cause},
		Event:       envelope,
		State:       last.State,
		Error:       caught,
		RefundError: last.RefundError,
	}
}

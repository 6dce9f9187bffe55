package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/provider"
	"github.com/orderflow-dev/orderflow/functions/internal/record"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
	"github.com/orderflow-dev/orderflow/functions/internal/tasks"
	"github.com/orderflow-dev/orderflow/functions/internal/workflow"
)

// paymentLedger is the payments ledger, one record per order (dynamo.Payments). Each
// method is one conditional update and returns the record as it then stands:
//
//	Claim:  (none) or PENDING -> PENDING, counting the attempt and keeping the claimant's deadline; a decided or closed record is returned as it is
//	Record: PENDING -> APPROVED or DECLINED; otherwise the record in force is returned
//	Void:   (none) or PENDING -> VOIDED
//	Refund: APPROVED -> REFUNDED
//	LateChargeRefunded: notes, on a closed record, that a late charge was given back
type paymentLedger interface {
	Claim(ctx context.Context, orderID, paymentID string, amountCents int64, until time.Time) (store.Payment, error)
	Record(ctx context.Context, p store.Payment) (store.Payment, error)
	Void(ctx context.Context, orderID string, at time.Time) (p store.Payment, voided bool, err error)
	Refund(ctx context.Context, orderID string, at time.Time) (p store.Payment, refunded bool, err error)
	LateChargeRefunded(ctx context.Context, orderID string, at time.Time) (p store.Payment, marked bool, err error)
}

// intentReader reads the payment intent that holds an order's payment token (dynamo.PaymentIntents).
type intentReader interface {
	Get(ctx context.Context, intentID string) (store.PaymentIntent, error)
}

// paymentProvider takes and gives back money, deduplicating both by idempotency key (the
// payment id): see package provider for the contract, provider.Sandbox for the deployed one.
type paymentProvider interface {
	Charge(ctx context.Context, req provider.ChargeRequest) (provider.Result, error)
	Refund(ctx context.Context, idempotencyKey string) error
}

// callback answers the waiting Step Functions task, and tells whether a token is one Step
// Functions issued (tasks.Callback).
type callback interface {
	Live(ctx context.Context, token string) error
	Succeed(ctx context.Context, token, output string) error
	Fail(ctx context.Context, token, errorName, cause string) error
}

// sealer closes an order to shipping before its approved charge is given back
// (dynamo.Shipments.Seal): store.ErrConflict when its shipment is booked.
type sealer interface {
	Seal(ctx context.Context, orderID string, at time.Time) error
}

// parker sends a poison message to the dead-letter queue (deadletter.Queue).
type parker interface {
	Park(ctx context.Context, body []byte, reason string) error
}

// errorDeadLettered is the error a waiting charge task fails with when its message is
// dead-lettered (it kept failing until its last attempt, or that attempt never answered): the
// state machine compensates at once instead of waiting for the task's timeout.
const errorDeadLettered = "PaymentDeadLettered"

// paymentIDNamespace makes payment ids deterministic per order. Never change it: ids are stored.
var paymentIDNamespace = uuid.MustParse("3d0f6a2c-5b1e-4c8d-9a7f-2e6b4c1d8f93")

// taskMessage is what the state machine sends to the payments queue
// (sqs:sendMessage.waitForTaskToken).
type taskMessage struct {
	Action    string              `json:"action,omitempty"`
	TaskToken string              `json:"taskToken"`
	Event     json.RawMessage     `json:"event"`
	State     *workflow.State     `json:"state"`
	Error     *workflow.TaskError `json:"error,omitempty"` // refund: the failure being compensated
}

// ports are the adapters the handler works through.
type ports struct {
	payments paymentLedger
	intents  intentReader
	provider paymentProvider
	tasks    callback
	seals    sealer
	dlq      parker
	source   record.Deleter // the payments queue: a parked message is deleted from it at once
}

// Handler is the payment service: a point-to-point consumer of the payments queue that
// answers the workflow's waiting task.
type Handler struct {
	ports
	busName  string
	queue    record.SQSConsumer
	now      func() time.Time
	deadline func(ctx context.Context) time.Time // when the invocation handling ctx ends
}

// newHandler wires the middleware: a message that fails permanently, or still fails
// transiently on its last attempt, or is received again after a last attempt that never
// answered (maxReceiveCount, the queue's redrive setting: record.LastReceive), is parked with
// its reason (and a charge's task failed, see park); earlier transient failures are retried by SQS.
func newHandler(busName string, p ports, maxReceiveCount int, logger *slog.Logger) *Handler {
	h := &Handler{ports: p, busName: busName, now: time.Now}
	h.deadline = func(ctx context.Context) time.Time {
		if d, ok := ctx.Deadline(); ok { // Lambda's
			return d
		}
		return h.now().Add(maxInvocation) // a test, a direct call: the longest an invocation may run
	}
	h.queue = record.NewSQSConsumer(h.message, logger, record.DeleteParked(h.park, p.source), maxReceiveCount, batchConcurrency)
	return h
}

// maxInvocation is the longest a Lambda invocation may run.
const maxInvocation = 15 * time.Minute

// chargeSettles is how long after its caller's deadline a charge may still be taken at the
// provider: a request sent just before it, the provider's own processing of it, and the second
// at most that record.Reserve keeps back from the handler's deadline for parking.
const chargeSettles = 5 * time.Second

// batchConcurrency is how many messages of a batch are handled at once: all of them (the batch
// size is 10). Messages of one batch belong to different orders, or are a charge and a refund of
// one order, which the ledger's conditional writes make safe in any interleaving (interleave_test.go).
const batchConcurrency = 10

// Handle processes a batch and reports the messages to retry.
func (h *Handler) Handle(ctx context.Context, ev lambdaevents.SQSEvent) (lambdaevents.SQSEventResponse, error) {
	return h.queue.Handle(ctx, ev), nil
}

// park dead-letters the message with its reason. If it is a charge request with a task token,
// the waiting task is failed too, so the workflow compensates now rather than at the task's
// timeout (the compensation voids the payment; a charge redriven later refunds itself); that
// answer is best effort (the timeout remains the backstop). A refund's task is left waiting:
// failed, the saga would cancel the order with the money still taken, and the refund a redrive
// does later could no longer tell the order's history (its PaymentRefunded goes out through
// that task). Redriven before the callback's timeout, the refund completes the saga as usual.
func (h *Handler) park(ctx context.Context, m record.Message, reason string) error {
	if err := h.dlq.Park(ctx, m.Body, reason); err != nil {
		return err
	}
	var msg struct { // the token and action alone: a message parked for a mistyped field elsewhere still has them
		Action    string `json:"action"`
		TaskToken string `json:"taskToken"`
	}
	if json.Unmarshal(m.Body, &msg) != nil || msg.TaskToken == "" || msg.Action == workflow.ActionRefund {
		return nil
	}
	if err := h.tasks.Fail(ctx, msg.TaskToken, errorDeadLettered, reason); err != nil && !errors.Is(err, tasks.ErrTaskClosed) {
		record.Logger(ctx).ErrorContext(ctx, "could not fail the task of a dead-lettered message: it will time out", "error", err.Error())
	}
	return nil
}

// message charges or refunds the order's payment and completes the task with the outcome.
func (h *Handler) message(ctx context.Context, m record.Message) error {
	var msg taskMessage
	if err := events.Unmarshal(m.Body, &msg); err != nil { // in one pass where it can: the body is 2–3 KB
		return record.Permanentf("not a payment task: %w", err)
	}
	if msg.TaskToken == "" {
		return record.Permanentf("not a payment task: no taskToken")
	}
	closed, err := h.issued(ctx, msg.TaskToken)
	if err != nil {
		return err
	}
	if err := check(msg.State); err != nil {
		return h.fail(ctx, msg.TaskToken, err)
	}
	st := msg.State
	record.Bind(ctx, "correlationId", st.CorrelationID, "orderId", st.Order.OrderID, "action", msg.Action)
	switch msg.Action {
	case "", workflow.ActionCharge:
		return h.charge(ctx, msg, closed)
	case workflow.ActionRefund:
		return h.refund(ctx, msg)
	default:
		return h.fail(ctx, msg.TaskToken, fmt.Errorf("unknown action %q (want %s or %s)", msg.Action, workflow.ActionCharge, workflow.ActionRefund))
	}
}

// issued checks, before any money moves, that the token is one Step Functions issued: a
// message forged onto the payments queue (anyone with sqs:SendMessage on it) or a direct invoke
// could otherwise charge a cancelled order or refund a shipped one. A closed task is no
// forgery (closed is true): a redelivery after its answer, or a redrive after its timeout; the
// ledger decides those, and a charge of a closed task takes no money (see charge). (A real
// token of a closed task, copied into a forged message, passes: the queue's own policy is what
// keeps such senders out.)
func (h *Handler) issued(ctx context.Context, token string) (closed bool, err error) {
	err = h.tasks.Live(ctx, token)
	switch {
	case err == nil:
		return false, nil
	case errors.Is(err, tasks.ErrTaskClosed):
		return true, nil
	case errors.Is(err, tasks.ErrInvalidToken):
		return false, record.Permanentf("not a payment task: its taskToken is no task token Step Functions issued: %w", err)
	default:
		return false, err // the API's: retried
	}
}

// succeed completes the task with doc. A task already closed is done, not an error (closed):
// a redelivered message, or a message redriven after its task timed out.
func (h *Handler) succeed(ctx context.Context, token string, doc workflow.Doc) (closed bool, err error) {
	out, err := doc.Encode()
	if err != nil {
		return false, h.fail(ctx, token, fmt.Errorf("encode output: %w", err))
	}
	if err := h.tasks.Succeed(ctx, token, out); err != nil {
		if errors.Is(err, tasks.ErrTaskClosed) {
			return true, nil
		}
		return false, err
	}
	return false, nil
}

// fail fails the task with InvalidInputError: the state machine does not retry it, it
// catches it and compensates.
func (h *Handler) fail(ctx context.Context, token string, cause error) error {
	record.Logger(ctx).ErrorContext(ctx, "payment task failed", "error", cause.Error())
	err := h.tasks.Fail(ctx, token, "InvalidInputError", cause.Error())
	if errors.Is(err, tasks.ErrTaskClosed) {
		return nil
	}
	return err
}

// check rejects a state that cannot come from the workflow, before any money moves: ids are
// deterministic, so the correlation and last event ids must match the order and sequence.
func check(st *workflow.State) error {
	switch {
	case st == nil:
		return errors.New("payment task without a state")
	case st.Order.OrderID == "" || st.Sequence < 2:
		return fmt.Errorf("payment task state: order %q at sequence %d, want an order with its stock reserved", st.Order.OrderID, st.Sequence)
	case st.CorrelationID != events.ID(st.Order.OrderID, 1) || st.LastEventID != events.ID(st.Order.OrderID, st.Sequence):
		return fmt.Errorf("payment task state: ids do not match order %s at sequence %d", st.Order.OrderID, st.Sequence)
	}
	return nil
}

// PaymentID is the order's payment id: a UUID v5 of the order id, so a retry names the same payment.
func PaymentID(orderID string) string {
	return uuid.NewSHA1(paymentIDNamespace, []byte(orderID)).String()
}

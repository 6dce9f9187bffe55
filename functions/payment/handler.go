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
	"github.com/orderflow-dev/orderflow/functions/internal/record"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
	"github.com/orderflow-dev/orderflow/functions/internal/tasks"
	"github.com/orderflow-dev/orderflow/functions/internal/workflow"
)

// paymentStore is the payments ledger, one record per order (dynamo.Payments): attempts are
// counted, one decision is kept, and an approved payment is refunded at most once.
type paymentStore interface {
	Attempt(ctx context.Context, orderID string) (store.Payment, error)
	Record(ctx context.Context, p store.Payment) (store.Payment, error)
	Refund(ctx context.Context, orderID string, at time.Time) (p store.Payment, refunded bool, err error)
}

// callback answers the waiting Step Functions task (tasks.Callback).
type callback interface {
	Succeed(ctx context.Context, token, output string) error
	Fail(ctx context.Context, token, errorName, cause string) error
}

// parker sends a poison message to the dead-letter queue (deadletter.Queue).
type parker interface {
	Park(ctx context.Context, body []byte, reason string) error
}

// Test tokens decide the outcome, as payment providers' sandboxes do.
const (
	tokenApprove         = "tok_visa"
	tokenDecline         = "tok_declined"
	tokenProcessingError = "tok_processing_error" // a transient provider error on the first attempt, approved on the next
)

// Actions the state machine asks for (the "action" of the message; none means charge).
const (
	actionCharge = "charge" // RequestPayment: decide the order's payment once
	actionRefund = "refund" // RefundPayment, in compensation: give an approved payment back
)

// errorDeadLettered is the error a waiting task fails with when its message is dead-lettered
// (it kept failing until its last receive): the state machine compensates at once instead of
// waiting for the task's timeout.
const errorDeadLettered = "PaymentDeadLettered"

// errProcessing is the provider's "processing error": transient, worth another attempt.
var errProcessing = errors.New("payment provider: processing error, try again")

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

// Handler is the payment service: a point-to-point consumer of the payments queue that
// answers the workflow's waiting task.
type Handler struct {
	busName  string
	payments paymentStore
	tasks    callback
	dlq      parker
	handle   record.Handler
	now      func() time.Time
}

// newHandler wires the middleware: a message that fails permanently, or still fails
// transiently on its last receive (maxReceiveCount, the queue's redrive setting), is parked
// with its reason (and its task failed, see park); earlier transient failures are retried by SQS.
func newHandler(busName string, payments paymentStore, tasks callback, dlq parker, maxReceiveCount int, logger *slog.Logger) *Handler {
	h := &Handler{busName: busName, payments: payments, tasks: tasks, dlq: dlq, now: time.Now}
	h.handle = record.Chain(h.message, record.Log(logger), record.Park(h.park), record.LastReceive(maxReceiveCount), record.Recover())
	return h
}

// Handle processes a batch and reports the messages to retry.
func (h *Handler) Handle(ctx context.Context, ev lambdaevents.SQSEvent) (lambdaevents.SQSEventResponse, error) {
	return record.SQS(ctx, ev, h.handle), nil
}

// park dead-letters the message with its reason. If it carries a task token (it gave up on
// its last receive), the waiting task is failed too, so the workflow compensates now rather
// than at the task's timeout; that answer is best effort (the timeout remains the backstop).
func (h *Handler) park(ctx context.Context, m record.Message, reason string) error {
	if err := h.dlq.Park(ctx, m.Body, reason); err != nil {
		return err
	}
	var msg taskMessage
	if json.Unmarshal(m.Body, &msg) != nil || msg.TaskToken == "" {
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
	if err := json.Unmarshal(m.Body, &msg); err != nil {
		return record.Permanentf("not a payment task: %w", err)
	}
	if msg.TaskToken == "" {
		return record.Permanentf("not a payment task: no taskToken")
	}
	if err := check(msg.State); err != nil {
		return h.fail(ctx, msg.TaskToken, err)
	}
	st := msg.State
	record.Bind(ctx, "correlationId", st.CorrelationID, "orderId", st.Order.OrderID, "action", msg.Action)
	switch msg.Action {
	case "", actionCharge:
		return h.charge(ctx, msg)
	case actionRefund:
		return h.refund(ctx, msg)
	default:
		return h.fail(ctx, msg.TaskToken, fmt.Errorf("unknown action %q (want %s or %s)", msg.Action, actionCharge, actionRefund))
	}
}

// charge takes (or reuses) the order's payment decision: PaymentApproved + OrderConfirmed, or
// PaymentDeclined. A transient provider error fails the message, which SQS redelivers.
func (h *Handler) charge(ctx context.Context, msg taskMessage) error {
	st := msg.State
	orderID := st.Order.OrderID
	p, err := h.payments.Attempt(ctx, orderID)
	if err != nil {
		return err // transient: the message is retried
	}
	if p.Status == "" { // undecided: ask the provider
		status, reason, err := decide(st.Order.PaymentToken, p.Attempts)
		if err != nil {
			return fmt.Errorf("charge %s, attempt %d: %w", orderID, p.Attempts, err) // transient: SQS redelivers it
		}
		p, err = h.payments.Record(ctx, store.Payment{
			OrderID: orderID, PaymentID: PaymentID(orderID), Status: status,
			AmountCents: st.Order.TotalCents, Reason: reason, CreatedAt: h.now(),
		})
		if err != nil {
			return err
		}
	}
	st.ClearEntries()
	st.PaymentID = p.PaymentID
	if err := h.emitDecision(st, p); err != nil {
		return h.fail(ctx, msg.TaskToken, err)
	}
	if err := h.succeed(ctx, msg.TaskToken, workflow.Doc{Event: msg.Event, State: st}); err != nil {
		return err
	}
	record.Logger(ctx).InfoContext(ctx, "payment decided", "outcome", st.Outcome, "paymentId", p.PaymentID, "amountCents", p.AmountCents, "attempts", p.Attempts)
	return nil
}

// refund gives the order's approved payment back (once: a redelivery finds it REFUNDED and
// refunds nothing more, but re-emits the same events) and emits PaymentRefunded; an order
// never charged is voided and emits nothing. If the workflow never heard of the charge (the
// payment request timed out after the money was taken), PaymentApproved is emitted first, so
// that the order's history tells what happened to the money.
func (h *Handler) refund(ctx context.Context, msg taskMessage) error {
	st := msg.State
	orderID := st.Order.OrderID
	p, refundedNow, err := h.payments.Refund(ctx, orderID, h.now())
	if err != nil {
		return err // transient: the message is retried
	}
	st.KeepUnpublished() // reached from a Catch: events the failed step never published go out first
	if p.Status == store.PaymentRefunded {
		now := h.now()
		if st.Outcome != workflow.OutcomeApproved {
			if err := st.Emit(h.busName, events.TypePaymentApproved, events.SourceOf(events.TypePaymentApproved),
				events.PaymentApproved{OrderID: orderID, PaymentID: p.PaymentID, AmountCents: p.AmountCents}, now); err != nil {
				return h.fail(ctx, msg.TaskToken, err)
			}
		}
		if err := st.Emit(h.busName, events.TypePaymentRefunded, events.SourceOf(events.TypePaymentRefunded),
			events.PaymentRefunded{OrderID: orderID, PaymentID: p.PaymentID, AmountCents: p.AmountCents, Reason: events.ReasonFulfilmentFailed}, now); err != nil {
			return h.fail(ctx, msg.TaskToken, err)
		}
		st.Outcome, st.PaymentID = workflow.OutcomeRefunded, p.PaymentID
	}
	// The output keeps the error being compensated: the states after the refund still read it.
	if err := h.succeed(ctx, msg.TaskToken, workflow.Doc{Event: msg.Event, State: st, Error: msg.Error}); err != nil {
		return err
	}
	record.Logger(ctx).InfoContext(ctx, "refund done", "status", p.Status, "refundedNow", refundedNow, "paymentId", p.PaymentID, "amountCents", p.AmountCents)
	return nil
}

// succeed completes the task with doc; a task already closed (a redelivered message) is done.
func (h *Handler) succeed(ctx context.Context, token string, doc workflow.Doc) error {
	out, err := json.Marshal(doc)
	if err != nil {
		return h.fail(ctx, token, fmt.Errorf("encode output: %w", err))
	}
	if err := h.tasks.Succeed(ctx, token, string(out)); err != nil {
		if errors.Is(err, tasks.ErrTaskClosed) {
			record.Logger(ctx).InfoContext(ctx, "task already closed: duplicate delivery", "outcome", doc.State.Outcome)
			return nil
		}
		return err
	}
	return nil
}

// emitDecision appends the events of the stored decision: PaymentApproved + OrderConfirmed,
// or PaymentDeclined. A payment refunded or voided before this charge request was handled
// (the workflow gave up on it) cannot be used.
func (h *Handler) emitDecision(st *workflow.State, p store.Payment) error {
	orderID := st.Order.OrderID
	now := h.now()
	switch p.Status {
	case store.PaymentApproved:
		st.Outcome = workflow.OutcomeApproved
		if err := st.Emit(h.busName, events.TypePaymentApproved, events.SourceOf(events.TypePaymentApproved),
			events.PaymentApproved{OrderID: orderID, PaymentID: p.PaymentID, AmountCents: p.AmountCents}, now); err != nil {
			return err
		}
		return st.Emit(h.busName, events.TypeOrderConfirmed, events.SourceOf(events.TypeOrderConfirmed),
			events.OrderConfirmed{OrderID: orderID, TotalCents: st.Order.TotalCents}, now)
	case store.PaymentDeclined:
		st.Outcome, st.Reason = workflow.OutcomeDeclined, p.Reason
		return st.Emit(h.busName, events.TypePaymentDeclined, events.SourceOf(events.TypePaymentDeclined),
			events.PaymentDeclined{OrderID: orderID, PaymentID: p.PaymentID, Reason: p.Reason}, now)
	case store.PaymentRefunded, store.PaymentVoided:
		return fmt.Errorf("payment of %s is %s: the order was compensated before this charge request was handled", orderID, p.Status)
	default:
		return fmt.Errorf("stored payment of %s has status %q", orderID, p.Status)
	}
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

// decide is the sandbox provider's answer to charge attempt number attempt (1-based, counted
// in the payments table, so it survives redeliveries to other instances): tok_visa approves,
// tok_declined declines, tok_processing_error fails with a transient processing error on the
// first attempt and approves on the next, anything else is an unknown token, declined.
func decide(token string, attempt int) (status, reason string, err error) {
	switch token {
	case tokenApprove:
		return store.PaymentApproved, "", nil
	case tokenDecline:
		return store.PaymentDeclined, "card-declined", nil
	case tokenProcessingError:
		if attempt < 2 {
			return "", "", errProcessing
		}
		return store.PaymentApproved, "", nil
	default:
		return store.PaymentDeclined, "unknown-token", nil
	}
}

// PaymentID is the order's payment id: a UUID v5 of the order id, so a retry names the same payment.
func PaymentID(orderID string) string {
	return uuid.NewSHA1(paymentIDNamespace, []byte(orderID)).String()
}

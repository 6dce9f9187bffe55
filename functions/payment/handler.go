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

// paymentStore keeps one payment decision per order (dynamo.Payments).
type paymentStore interface {
	Record(ctx context.Context, p store.Payment) (store.Payment, error)
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
	tokenApprove = "tok_visa"
	tokenDecline = "tok_declined"
)

// paymentIDNamespace makes payment ids deterministic per order. Never change it: ids are stored.
var paymentIDNamespace = uuid.MustParse("3d0f6a2c-5b1e-4c8d-9a7f-2e6b4c1d8f93")

// taskMessage is what the state machine sends to the payments queue
// (sqs:sendMessage.waitForTaskToken).
type taskMessage struct {
	TaskToken string          `json:"taskToken"`
	Event     json.RawMessage `json:"event"`
	State     *workflow.State `json:"state"`
}

// Handler is the payment service: a point-to-point consumer of the payments queue that
// answers the workflow's waiting task.
type Handler struct {
	busName  string
	payments paymentStore
	tasks    callback
	handle   record.Handler
	now      func() time.Time
}

func newHandler(busName string, payments paymentStore, tasks callback, dlq parker, logger *slog.Logger) *Handler {
	h := &Handler{busName: busName, payments: payments, tasks: tasks, now: time.Now}
	h.handle = record.Chain(h.message, record.Log(logger), record.Recover(), record.Park(func(ctx context.Context, m record.Message, reason string) error {
		return dlq.Park(ctx, m.Body, reason)
	}))
	return h
}

// Handle processes a batch and reports the messages to retry.
func (h *Handler) Handle(ctx context.Context, ev lambdaevents.SQSEvent) (lambdaevents.SQSEventResponse, error) {
	return record.SQS(ctx, ev, h.handle), nil
}

// message takes (or reuses) the order's payment decision and completes the task with it.
func (h *Handler) message(ctx context.Context, m record.Message) error {
	var msg taskMessage
	if err := json.Unmarshal(m.Body, &msg); err != nil {
		return record.Permanentf("not a payment task: %w", err)
	}
	if msg.TaskToken == "" {
		return record.Permanentf("not a payment task: no taskToken")
	}
	st := msg.State
	if err := check(st); err != nil {
		return h.fail(ctx, msg.TaskToken, err)
	}
	record.Bind(ctx, "correlationId", st.CorrelationID, "orderId", st.Order.OrderID)

	status, reason := decide(st.Order.PaymentToken)
	p, err := h.payments.Record(ctx, store.Payment{
		OrderID: st.Order.OrderID, PaymentID: PaymentID(st.Order.OrderID), Status: status,
		AmountCents: st.Order.TotalCents, Reason: reason, CreatedAt: h.now(),
	})
	if err != nil {
		return err // transient: the message is retried
	}
	st.ClearEntries()
	st.PaymentID = p.PaymentID
	if err := h.emit(st, p); err != nil {
		return h.fail(ctx, msg.TaskToken, err)
	}
	out, err := json.Marshal(workflow.Doc{Event: msg.Event, State: st})
	if err != nil {
		return h.fail(ctx, msg.TaskToken, fmt.Errorf("encode output: %w", err))
	}
	if err := h.tasks.Succeed(ctx, msg.TaskToken, string(out)); err != nil {
		if errors.Is(err, tasks.ErrTaskClosed) {
			record.Logger(ctx).InfoContext(ctx, "task already closed: duplicate delivery", "outcome", st.Outcome)
			return nil
		}
		return err
	}
	record.Logger(ctx).InfoContext(ctx, "payment decided", "outcome", st.Outcome, "paymentId", p.PaymentID, "amountCents", p.AmountCents)
	return nil
}

// emit appends the events of the stored decision: PaymentApproved + OrderConfirmed, or
// PaymentDeclined.
func (h *Handler) emit(st *workflow.State, p store.Payment) error {
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

// decide is the sandbox's rule: tok_visa approves, tok_declined declines, anything else is
// an unknown token, declined.
func decide(token string) (status, reason string) {
	switch token {
	case tokenApprove:
		return store.PaymentApproved, ""
	case tokenDecline:
		return store.PaymentDeclined, "card-declined"
	default:
		return store.PaymentDeclined, "unknown-token"
	}
}

// PaymentID is the order's payment id: a UUID v5 of the order id, so a retry names the same payment.
func PaymentID(orderID string) string {
	return uuid.NewSHA1(paymentIDNamespace, []byte(orderID)).String()
}

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
//	Claim:  (none) or PENDING -> PENDING, counting the attempt; a decided or closed record is returned as it is
//	Record: PENDING -> APPROVED or DECLINED; otherwise the record in force is returned
//	Void:   (none) or PENDING -> VOIDED
//	Refund: APPROVED -> REFUNDED
//	LateChargeRefunded: notes, on a closed record, that a late charge was given back
type paymentLedger interface {
	Claim(ctx context.Context, orderID, paymentID string, amountCents int64) (store.Payment, error)
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

// callback answers the waiting Step Functions task (tasks.Callback).
type callback interface {
	Succeed(ctx context.Context, token, output string) error
	Fail(ctx context.Context, token, errorName, cause string) error
}

// parker sends a poison message to the dead-letter queue (deadletter.Queue).
type parker interface {
	Park(ctx context.Context, body []byte, reason string) error
}

// errorDeadLettered is the error a waiting task fails with when its message is dead-lettered
// (it kept failing until its last receive): the state machine compensates at once instead of
// waiting for the task's timeout.
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
	dlq      parker
}

// Handler is the payment service: a point-to-point consumer of the payments queue that
// answers the workflow's waiting task.
type Handler struct {
	ports
	busName string
	handle  record.Handler
	now     func() time.Time
}

// newHandler wires the middleware: a message that fails permanently, or still fails
// transiently on its last receive (maxReceiveCount, the queue's redrive setting), is parked
// with its reason (and its task failed, see park); earlier transient failures are retried by SQS.
func newHandler(busName string, p ports, maxReceiveCount int, logger *slog.Logger) *Handler {
	h := &Handler{ports: p, busName: busName, now: time.Now}
	h.handle = record.Consumer(h.message, logger, h.park, maxReceiveCount)
	return h
}

// batchConcurrency is how many messages of a batch are handled at once: all of them (the batch
// size is 10). Messages of one batch belong to different orders, or are a charge and a refund of
// one order, which the ledger's conditional writes make safe in any interleaving (interleave_test.go).
const batchConcurrency = 10

// Handle processes a batch and reports the messages to retry.
func (h *Handler) Handle(ctx context.Context, ev lambdaevents.SQSEvent) (lambdaevents.SQSEventResponse, error) {
	return record.SQS(ctx, ev, h.handle, batchConcurrency), nil
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
	case "", workflow.ActionCharge:
		return h.charge(ctx, msg)
	case workflow.ActionRefund:
		return h.refund(ctx, msg)
	default:
		return h.fail(ctx, msg.TaskToken, fmt.Errorf("unknown action %q (want %s or %s)", msg.Action, workflow.ActionCharge, workflow.ActionRefund))
	}
}

// charge takes (or reuses) the order's payment decision: PaymentApproved + OrderConfirmed, or
// PaymentDeclined. It claims the payment (PENDING) before it asks the provider, names the
// payment id as the provider's idempotency key, and records the answer only over its claim:
//
//   - a payment already decided is reused, with no provider call (a redelivered request);
//   - a payment voided by compensation is refunded at the provider, since an earlier
//     delivery may have charged it and stopped before recording, and the task is failed;
//   - a payment refunded already fails the task: any charge under its id was that one;
//   - an approval that finds the payment closed when it is recorded (voided meanwhile) is
//     refunded at once: compensation has run or is running, and must not be outlived by a charge.
//
// A transient provider or ledger error fails the message, which SQS redelivers.
func (h *Handler) charge(ctx context.Context, msg taskMessage) error {
	st := msg.State
	orderID, paymentID := st.Order.OrderID, PaymentID(st.Order.OrderID)
	p, err := h.payments.Claim(ctx, orderID, paymentID, st.Order.TotalCents)
	if err != nil {
		return err // transient: the message is retried
	}
	switch p.Status {
	case store.PaymentPending:
		if p, err = h.decide(ctx, msg, p); err != nil {
			var invalid *workflow.InvalidInputError
			if errors.As(err, &invalid) {
				return h.fail(ctx, msg.TaskToken, err) // the claim stays PENDING: compensation voids it
			}
			return err
		}
	case store.PaymentVoided:
		if err := h.provider.Refund(ctx, paymentID); err != nil {
			return fmt.Errorf("refund voided payment %s at the provider: %w", orderID, err)
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

// decide asks the provider to charge the claimed payment (attempt p.Attempts) and records
// its answer. It returns the record in force: the answer, another delivery's decision, or a
// closed payment, in which case an approval of ours has been given back.
func (h *Handler) decide(ctx context.Context, msg taskMessage, p store.Payment) (store.Payment, error) {
	st := msg.State
	orderID := st.Order.OrderID
	token, err := h.token(ctx, msg)
	if err != nil {
		return store.Payment{}, err
	}
	res, err := h.provider.Charge(ctx, provider.ChargeRequest{
		IdempotencyKey: p.PaymentID, Token: token, AmountCents: st.Order.TotalCents, Currency: st.Order.Currency, Attempt: p.Attempts,
	})
	if err != nil {
		return store.Payment{}, fmt.Errorf("charge %s, attempt %d: %w", orderID, p.Attempts, err) // transient: SQS redelivers it
	}
	decision := store.Payment{OrderID: orderID, PaymentID: p.PaymentID, Status: store.PaymentDeclined, AmountCents: st.Order.TotalCents, Reason: res.Reason, CreatedAt: h.now()}
	if res.Approved {
		decision.Status, decision.Reason = store.PaymentApproved, ""
	}
	got, err := h.payments.Record(ctx, decision)
	if err != nil {
		return store.Payment{}, err
	}
	if res.Approved && got.Status != store.PaymentApproved {
		// Closed while we charged: the money must not stay. The same key gives back what
		// the provider took for it (nothing, if it deduplicated our charge into a refunded one).
		if err := h.provider.Refund(ctx, p.PaymentID); err != nil {
			return store.Payment{}, fmt.Errorf("refund late charge of %s at the provider: %w", orderID, err)
		}
		record.Logger(ctx).WarnContext(ctx, "late charge refunded: the payment was closed while the provider charged it",
			"paymentId", p.PaymentID, "status", got.Status, "amountCents", decision.AmountCents)
		if got, _, err = h.payments.LateChargeRefunded(ctx, orderID, h.now()); err != nil {
			return store.Payment{}, err
		}
	}
	return got, nil
}

// token finds the order's payment token: in its payment intent, or, for an order placed as
// OrderPlaced v1 or v2 (no intent id), in that event, which the message carries. A missing
// intent, one of another order or amount, or a legacy event without a token is an
// *InvalidInputError: the task fails and the workflow compensates. The token itself is never
// part of an error.
func (h *Handler) token(ctx context.Context, msg taskMessage) (provider.Token, error) {
	order := msg.State.Order
	if order.PaymentIntentID == "" {
		return legacyToken(order.OrderID, msg.Event)
	}
	in, err := h.intents.Get(ctx, order.PaymentIntentID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", &workflow.InvalidInputError{Err: fmt.Errorf("order %s: %w", order.OrderID, err)}
	case err != nil:
		return "", err // transient
	case in.OrderID != order.OrderID:
		return "", &workflow.InvalidInputError{Err: fmt.Errorf("payment intent %s is order %s's, not %s's", in.IntentID, in.OrderID, order.OrderID)}
	case in.AmountCents != order.TotalCents || (in.Currency != "" && order.Currency != "" && in.Currency != order.Currency):
		return "", &workflow.InvalidInputError{Err: fmt.Errorf("payment intent %s is for %d %s, order %s totals %d %s",
			in.IntentID, in.AmountCents, in.Currency, order.OrderID, order.TotalCents, order.Currency)}
	case in.Token == "":
		return "", &workflow.InvalidInputError{Err: fmt.Errorf("payment intent %s holds no payment token", in.IntentID)}
	}
	return provider.Token(in.Token), nil
}

// legacyToken reads the token an OrderPlaced v1 or v2 event carried. Its validation errors
// are summed up by path only: their messages may quote the token.
func legacyToken(orderID string, event json.RawMessage) (provider.Token, error) {
	e, err := events.Parse(event)
	if err != nil {
		var ve *events.ValidationError
		paths := []string{}
		if errors.As(err, &ve) {
			for _, pr := range ve.Problems {
				paths = append(paths, pr.Path)
			}
		}
		return "", &workflow.InvalidInputError{Err: fmt.Errorf("order %s has no payment intent and its OrderPlaced event is not valid (at %v)", orderID, paths)}
	}
	tok, ok := events.LegacyPaymentToken(e)
	if !ok || e.OrderID != orderID {
		return "", &workflow.InvalidInputError{Err: fmt.Errorf("order %s has no payment intent, and its event (%s v%d of %s) carries no payment token", orderID, e.Type, e.Version, e.OrderID)}
	}
	return provider.Token(tok), nil
}

// refund is compensation: it makes sure no money stays with the order, whatever happened to
// its charge request, and tells what happened to the money.
//
//   - Nothing decided yet (no record, or PENDING): the payment is VOIDED first, so that a charge
//     in flight cannot be recorded (it refunds itself instead), then refunded at the provider
//     in case a charge was taken by a delivery that stopped before recording it. No events.
//   - APPROVED: refunded at the provider, then REFUNDED on the ledger; a redelivery after a
//     stop between the two refunds again (the provider deduplicates) and records once.
//     PaymentRefunded is emitted, after PaymentApproved if the workflow never heard of the
//     charge (the payment request timed out after the money was taken).
//   - REFUNDED: done already; the events are emitted again (same ids: consumers drop them).
//   - DECLINED: nothing was charged.
//   - VOIDED: refunded at the provider again, which costs nothing and covers a charge whose
//     delivery stopped after the void was recorded but before it refunded.
func (h *Handler) refund(ctx context.Context, msg taskMessage) error {
	st := msg.State
	orderID, paymentID := st.Order.OrderID, PaymentID(st.Order.OrderID)
	now := h.now()
	p, voidedNow, err := h.payments.Void(ctx, orderID, now)
	if err != nil {
		return err // transient: the message is retried
	}
	refundedNow := false
	switch p.Status {
	case store.PaymentVoided:
		if err := h.provider.Refund(ctx, paymentID); err != nil {
			return fmt.Errorf("refund voided payment %s at the provider: %w", orderID, err)
		}
	case store.PaymentApproved:
		if err := h.provider.Refund(ctx, p.PaymentID); err != nil {
			return fmt.Errorf("refund payment %s at the provider: %w", orderID, err)
		}
		if p, refundedNow, err = h.payments.Refund(ctx, orderID, now); err != nil {
			return err
		}
	}
	st.KeepUnpublished() // reached from a Catch: events the failed step never published go out first
	if p.Status == store.PaymentRefunded {
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
	record.Logger(ctx).InfoContext(ctx, "refund done", "status", p.Status, "voidedNow", voidedNow, "refundedNow", refundedNow,
		"paymentId", p.PaymentID, "amountCents", p.AmountCents)
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

// PaymentID is the order's payment id: a UUID v5 of the order id, so a retry names the same payment.
func PaymentID(orderID string) string {
	return uuid.NewSHA1(paymentIDNamespace, []byte(orderID)).String()
}

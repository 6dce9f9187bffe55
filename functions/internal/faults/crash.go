package faults

import (
	"context"
	"log/slog"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go/middleware"
)

// crashID is the crash middleware's id in the SDK's stack.
const crashID = "orderflow.faults.CrashAfterWrite"

// writeOperations are the calls a crashAfterWrite follows, as "ServiceID.Operation" (the SDK's
// service id and operation name: its span name): the data-plane writes of the services the
// functions call. A reader (GetItem, Query, ReceiveMessage, DescribeExecution…) never crashes.
var writeOperations = []string{
	"DynamoDB.PutItem", "DynamoDB.UpdateItem", "DynamoDB.DeleteItem", "DynamoDB.TransactWriteItems", "DynamoDB.BatchWriteItem",
	"SQS.SendMessage", "SQS.SendMessageBatch", "SQS.DeleteMessage", "SQS.DeleteMessageBatch",
	"EventBridge.PutEvents",
	"Kinesis.PutRecord", "Kinesis.PutRecords",
	"SFN.StartExecution", "SFN.StopExecution", "SFN.SendTaskSuccess", "SFN.SendTaskFailure",
}

// WriteOperations returns the calls a crashAfterWrite follows by default, and the only ones its
// operations may list.
func WriteOperations() []string { return slices.Clone(writeOperations) }

// Instrument returns cfg with the crash middleware added to its APIOptions when crashAfterWrite
// is armed, and cfg as it is otherwise. Every client made from the result carries it.
func (i *Injector) Instrument(cfg aws.Config) aws.Config {
	if i == nil || i.cfg.CrashAfterWrite == nil {
		return cfg
	}
	// Clip: never append into a backing array the caller's config may share.
	cfg.APIOptions = append(slices.Clip(cfg.APIOptions), func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc(crashID, i.crashAfterWrite), middleware.Before)
	})
	return cfg
}

// crashAfterWrite runs first in the Initialize step, so it sees the operation's outcome last,
// exactly as the caller would: once per operation, after the retries, the deserializer and the
// response checks. (A Deserialize-step middleware would run once per attempt, inside the
// retry loop, before those checks.) A failed call (a ConditionalCheckFailedException included:
// nothing was written) never crashes. A success with per-entry failures (PutEvents'
// FailedEntryCount, PutRecords', SendMessageBatch's Failed, BatchWriteItem's UnprocessedItems)
// counts as a write: part of it landed.
func (i *Injector) crashAfterWrite(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	out, md, err := next.HandleInitialize(ctx, in)
	if err != nil {
		return out, md, err
	}
	op := middleware.GetServiceID(ctx) + "." + middleware.GetOperationName(ctx)
	if !i.writes[op] || !i.calls.roll(i.cfg.CrashAfterWrite.CallPercentage) {
		return out, md, err
	}
	// The handler writes the line to stdout in one write, unbuffered: it is out before the exit.
	i.log(ctx, KindCrashAfterWrite, slog.String("operation", op), slog.Int("exitCode", CrashExitCode))
	i.o.Exit(CrashExitCode)
	return out, md, err // only a test's Exit returns
}

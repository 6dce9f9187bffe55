package redrive

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/orderflow-dev/orderflow/functions/toolkit"
)

// Kind is what put a message in a dead-letter queue.
type Kind string

// Kinds of dead-lettered messages.
const (
	// Parked: a handler (record.Park, the streamer) sent the message it could not process,
	// with the reason in the errorReason attribute. The body is the message as received.
	Parked Kind = "parked"
	// AsyncFailure: Lambda's on-failure destination of an asynchronous invoke (the streamer,
	// invoked by EventBridge) after its retries; the invoke's payload is requestPayload.
	AsyncFailure Kind = "lambda-async-failure"
	// KinesisBatch: a Kinesis event source mapping's on-failure destination: no records, only
	// where they are on the stream (KinesisBatchInfo).
	KinesisBatch Kind = "kinesis-batch"
	// RuleFailure: an EventBridge rule's dead-letter queue: the event it could not deliver,
	// with ERROR_CODE and ERROR_MESSAGE attributes.
	RuleFailure Kind = "eventbridge-rule-failure"
	// Exhausted: SQS moved it after maxReceiveCount failed receives; nobody said why.
	Exhausted Kind = "max-receives"
)

// BatchInfo is where a failed Kinesis batch lies on the stream.
type BatchInfo struct {
	ShardID             string `json:"shardId"`
	StartSequenceNumber string `json:"startSequenceNumber"`
	EndSequenceNumber   string `json:"endSequenceNumber"`
	StreamArn           string `json:"streamArn"`
	BatchSize           int    `json:"batchSize"`
}

// Message is one dead-lettered message, understood.
type Message struct {
	ID      string
	Kind    Kind
	Reason  string     // why it failed, as well as the message says
	Payload []byte     // what to deliver again (the body, or the invoke's payload)
	Batch   *BatchInfo // KinesisBatch only
	Attrs   map[string]types.MessageAttributeValue
}

// failureRecord is the JSON Lambda writes to an on-failure destination, for an asynchronous
// invoke (requestPayload, responsePayload) or a stream batch (KinesisBatchInfo).
type failureRecord struct {
	RequestContext *struct {
		Condition              string `json:"condition"`
		FunctionArn            string `json:"functionArn"`
		ApproximateInvokeCount int    `json:"approximateInvokeCount"`
	} `json:"requestContext"`
	ResponseContext struct {
		FunctionError string `json:"functionError"`
	} `json:"responseContext"`
	RequestPayload  json.RawMessage `json:"requestPayload"`
	ResponsePayload *struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	} `json:"responsePayload"`
	KinesisBatchInfo *BatchInfo `json:"KinesisBatchInfo"`
}

// Parse works out what put the message in its dead-letter queue, why, and what to deliver again.
func Parse(id, body string, attrs map[string]types.MessageAttributeValue) (Message, error) {
	m := Message{ID: id, Payload: []byte(body), Attrs: map[string]types.MessageAttributeValue{}}
	for k, v := range attrs {
		switch k {
		case toolkit.ReasonAttribute, toolkit.EncodingAttribute, "ERROR_CODE", "ERROR_MESSAGE", "RULE_ARN", "TARGET_ARN":
		default:
			m.Attrs[k] = v // the message's own attributes travel back with it
		}
	}
	if reason, ok := attrs[toolkit.ReasonAttribute]; ok {
		m.Kind, m.Reason = Parked, aws.ToString(reason.StringValue)
		switch enc := attrs[toolkit.EncodingAttribute]; aws.ToString(enc.StringValue) {
		case toolkit.EncodingBase64:
			if body == toolkit.EmptyBody { // an empty body as parked before EncodingEmpty (the placeholder is no base64)
				m.Payload = []byte{}
				break
			}
			b, err := base64.StdEncoding.DecodeString(body)
			if err != nil {
				return m, fmt.Errorf("message %s: body marked base64 does not decode: %w", id, err)
			}
			m.Payload = b
		case toolkit.EncodingEmpty:
			m.Payload = []byte{} // parked with no body: SQS's body is a placeholder
		}
		return m, nil
	}
	if code, ok := attrs["ERROR_CODE"]; ok {
		m.Kind, m.Reason = RuleFailure, strings.TrimSpace(aws.ToString(code.StringValue)+": "+attrString(attrs, "ERROR_MESSAGE"))
		return m, nil
	}
	var rec failureRecord
	if json.Unmarshal([]byte(body), &rec) == nil && rec.RequestContext != nil {
		switch {
		case rec.KinesisBatchInfo != nil:
			b := rec.KinesisBatchInfo
			if b.ShardID == "" || b.StartSequenceNumber == "" || b.EndSequenceNumber == "" {
				return m, fmt.Errorf("message %s: KinesisBatchInfo without shard or sequence numbers", id)
			}
			m.Kind, m.Batch, m.Payload = KinesisBatch, b, nil
			m.Reason = fmt.Sprintf("%s after %d invokes (%s)", rec.RequestContext.Condition, rec.RequestContext.ApproximateInvokeCount, orUnknown(rec.ResponseContext.FunctionError))
			return m, nil
		case len(rec.RequestPayload) > 0:
			m.Kind, m.Payload = AsyncFailure, rec.RequestPayload
			m.Reason = rec.RequestContext.Condition
			if p := rec.ResponsePayload; p != nil && (p.ErrorType != "" || p.ErrorMessage != "") {
				m.Reason += ": " + strings.TrimPrefix(p.ErrorType+": "+p.ErrorMessage, ": ")
			}
			return m, nil
		}
	}
	m.Kind, m.Reason = Exhausted, "no reason recorded: the queue moved it here after maxReceiveCount failed receives (see the consumer's logs)"
	return m, nil
}

func attrString(attrs map[string]types.MessageAttributeValue, k string) string {
	if v, ok := attrs[k]; ok {
		return aws.ToString(v.StringValue)
	}
	return ""
}

func orUnknown(s string) string {
	if s == "" {
		return "no function error"
	}
	return s
}

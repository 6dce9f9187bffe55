// Package deadletter parks poison messages: a message that retrying can never fix (it does
// not parse, it breaks its schema, it conflicts with a recorded fact) is sent to a dead-letter
// queue with the reason in the "errorReason" message attribute, and acknowledged, so that it
// neither blocks its batch nor disappears unexplained. Sources deletes a parked SQS message from
// its queue at once.
package deadletter

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// ReasonAttribute is the message attribute that says why a message was parked.
const ReasonAttribute = "errorReason"

// EncodingAttribute says how a parked body is written when it was not text SQS can carry:
// EncodingBase64 (invalid UTF-8, control characters: the body encoded), or EncodingEmpty (no
// body at all, which SQS rejects: the message body is a placeholder).
const EncodingAttribute = "bodyEncoding"

// The values of EncodingAttribute, and the body an empty one is parked with.
const (
	EncodingBase64 = "base64"
	EncodingEmpty  = "empty"
	EmptyBody      = "(empty)"
)

// maxReason keeps the reason readable in a console.
const maxReason = 1000

// SendMessageAPI is the part of the SQS client the dead-letter queue uses.
type SendMessageAPI interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// Queue is one dead-letter queue.
type Queue struct {
	client SendMessageAPI
	url    string
}

// New returns the dead-letter queue at url.
func New(client SendMessageAPI, url string) *Queue {
	return &Queue{client: client, url: url}
}

// Park sends body to the queue with reason attached.
func (q *Queue) Park(ctx context.Context, body []byte, reason string) error {
	reason = strings.Map(func(r rune) rune {
		if allowed(r) {
			return r
		}
		return '?'
	}, strings.ToValidUTF8(reason, "?"))
	if reason == "" {
		reason = "unspecified"
	}
	if r := []rune(reason); len(r) > maxReason {
		reason = string(r[:maxReason]) + "…"
	}
	attrs := map[string]types.MessageAttributeValue{
		ReasonAttribute: {DataType: aws.String("String"), StringValue: aws.String(reason)},
	}
	text, encoding := string(body), ""
	switch {
	case len(body) == 0:
		text, encoding = EmptyBody, EncodingEmpty // SQS rejects an empty body
	case !sqsText(body):
		text, encoding = base64.StdEncoding.EncodeToString(body), EncodingBase64
	}
	if encoding != "" {
		attrs[EncodingAttribute] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(encoding)}
	}
	_, err := q.client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:          aws.String(q.url),
		MessageBody:       aws.String(text),
		MessageAttributes: attrs,
	})
	if err != nil {
		return fmt.Errorf("park message (%s): %w", reason, err)
	}
	return nil
}

// sqsText reports whether body can travel as an SQS message body as it is: non-empty,
// valid UTF-8, and only the characters SQS allows.
func sqsText(body []byte) bool {
	if len(body) == 0 || !utf8.Valid(body) {
		return false
	}
	for _, r := range string(body) {
		if !allowed(r) {
			return false
		}
	}
	return true
}

// allowed is SQS's character set: #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF.
func allowed(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}

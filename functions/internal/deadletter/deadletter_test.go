package deadletter

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

type recordingSQS struct {
	sent []*sqs.SendMessageInput
	err  error
}

func (r *recordingSQS) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	r.sent = append(r.sent, in)
	return &sqs.SendMessageOutput{}, r.err
}

func TestPark(t *testing.T) {
	tests := []struct {
		name         string
		body         []byte
		reason       string
		sendErr      error
		wantBody     string
		wantReason   string
		wantEncoding string
		wantErr      bool
	}{
		{name: "text body kept as is", body: []byte(`{"a":1}`), reason: "invalid event", wantBody: `{"a":1}`, wantReason: "invalid event"},
		{name: "binary body base64", body: []byte{0xff, 0x00}, reason: "x", wantBody: base64.StdEncoding.EncodeToString([]byte{0xff, 0x00}), wantReason: "x", wantEncoding: "base64"},
		{name: "control character base64", body: []byte("a\x01b"), reason: "x", wantBody: base64.StdEncoding.EncodeToString([]byte("a\x01b")), wantReason: "x", wantEncoding: "base64"},
		{name: "reason made safe", body: []byte("b"), reason: "bad \x00 byte \xff", wantBody: "b", wantReason: "bad ? byte ?"},
		{name: "long multibyte reason cut on a rune", body: []byte("b"), reason: strings.Repeat("é", 2000), wantBody: "b", wantReason: strings.Repeat("é", maxReason) + "…"},
		{name: "empty body", body: nil, reason: "x", wantBody: "(empty)", wantReason: "x", wantEncoding: EncodingEmpty},
		{name: "empty reason", body: []byte("b"), wantBody: "b", wantReason: "unspecified"},
		{name: "long reason cut", body: []byte("b"), reason: strings.Repeat("r", 5000), wantBody: "b", wantReason: strings.Repeat("r", maxReason) + "…"},
		{name: "send fails", body: []byte("b"), reason: "x", sendErr: errors.New("down"), wantBody: "b", wantReason: "x", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := &recordingSQS{err: tc.sendErr}
			err := New(q, "https://sqs/dlq").Park(context.Background(), tc.body, tc.reason)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			in := q.sent[0]
			if aws.ToString(in.QueueUrl) != "https://sqs/dlq" || aws.ToString(in.MessageBody) != tc.wantBody {
				t.Errorf("sent %q to %q", aws.ToString(in.MessageBody), aws.ToString(in.QueueUrl))
			}
			if got := aws.ToString(in.MessageAttributes[ReasonAttribute].StringValue); got != tc.wantReason || aws.ToString(in.MessageAttributes[ReasonAttribute].DataType) != "String" {
				t.Errorf("reason = %q", got)
			}
			if got := aws.ToString(in.MessageAttributes[EncodingAttribute].StringValue); got != tc.wantEncoding {
				t.Errorf("encoding = %q", got)
			}
		})
	}
}

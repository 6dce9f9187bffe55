package boot_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/orderflow-dev/orderflow/functions/internal/boot"
)

// What one AWS call costs a function, client and an in-process server together, against the
// same HTTP exchange without the SDK: compare these before and after changing the versions of
// the SDK's service modules (go.mod; README, Performance):
//
//	go test -run '^$' -bench . -cpu 1 ./functions/internal/boot

// sdkConfig is the functions' AWS config (FromEnv) for a server that answers every request
// with body.
func sdkConfig(b *testing.B, body string) aws.Config {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		_, _ = io.WriteString(w, body)
	}))
	b.Cleanup(srv.Close)
	env := map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "key", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_ENDPOINT_URL": srv.URL}
	cfg, err := boot.FromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}

// A conditional PutItem of an event-store-sized item (about 1 KB).
func BenchmarkSDKPutItem(b *testing.B) {
	client := dynamodb.NewFromConfig(sdkConfig(b, `{}`))
	in := &dynamodb.PutItemInput{
		TableName: aws.String("events"),
		Item: map[string]types.AttributeValue{
			"orderId":  &types.AttributeValueMemberS{Value: "ORD-fef9e49d-ba39-5385-abdf-c338b2188506"},
			"sequence": &types.AttributeValueMemberN{Value: "1"},
			"event":    &types.AttributeValueMemberS{Value: strings.Repeat("x", 900)},
		},
		ConditionExpression: aws.String("attribute_not_exists(orderId)"),
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := client.PutItem(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
}

// A PutRecord of one event, as the streamer writes it.
func BenchmarkSDKPutRecord(b *testing.B) {
	client := kinesis.NewFromConfig(sdkConfig(b, `{"SequenceNumber":"1","ShardId":"shardId-000000000000"}`))
	in := &kinesis.PutRecordInput{StreamName: aws.String("order-events"), PartitionKey: aws.String("ORD-fef9e49d-ba39-5385-abdf-c338b2188506"), Data: make([]byte, 900)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := client.PutRecord(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
}

// The floor: the same exchange (a 1 KB POST, a short JSON answer) with net/http alone.
func BenchmarkSDKFloorHTTP(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, `{}`)
	}))
	b.Cleanup(srv.Close)
	body := strings.Repeat("x", 1000)
	b.ReportAllocs()
	for b.Loop() {
		resp, err := http.Post(srv.URL, "application/x-amz-json-1.0", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
}

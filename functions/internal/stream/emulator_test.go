package stream

// Against a real Kinesis API; skipped unless ORDERFLOW_TEST_ENDPOINT is set (see package dynamo).

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/google/uuid"

	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
)

func TestEmulatorPut(t *testing.T) {
	ctx := context.Background()
	client := kinesis.NewFromConfig(fixture.Emulator(t))
	name := "test-stream-" + uuid.NewString()[:8]
	if _, err := client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = client.DeleteStream(context.Background(), &kinesis.DeleteStreamInput{StreamName: aws.String(name)})
	})
	if err := kinesis.NewStreamExistsWaiter(client).Wait(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(name)}, time.Minute); err != nil {
		t.Fatal(err)
	}

	seq, err := NewWriter(client, name).Put(ctx, "ORD-1", []byte(`{"detail":{}}`))
	if err != nil || seq == "" {
		t.Fatalf("put: %q, %v", seq, err)
	}
	shards, err := client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	it, err := client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(name), ShardId: shards.Shards[0].ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	out, err := client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Records) != 1 || string(out.Records[0].Data) != `{"detail":{}}` || aws.ToString(out.Records[0].PartitionKey) != "ORD-1" || aws.ToString(out.Records[0].SequenceNumber) != seq {
		t.Errorf("records = %+v", out.Records)
	}
}

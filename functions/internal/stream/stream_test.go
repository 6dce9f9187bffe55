package stream

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

type recordingKinesis struct {
	puts []*kinesis.PutRecordInput
	err  error
}

func (r *recordingKinesis) PutRecord(_ context.Context, in *kinesis.PutRecordInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordOutput, error) {
	r.puts = append(r.puts, in)
	if r.err != nil {
		return nil, r.err
	}
	return &kinesis.PutRecordOutput{SequenceNumber: aws.String("4959"), ShardId: aws.String("shardId-000000000000")}, nil
}

func TestPut(t *testing.T) {
	k := &recordingKinesis{}
	seq, err := NewWriter(k, "order-events").Put(context.Background(), "ORD-1", []byte(`{"x":1}`))
	if err != nil || seq != "4959" {
		t.Fatalf("seq %q, err %v", seq, err)
	}
	in := k.puts[0]
	if aws.ToString(in.StreamName) != "order-events" || aws.ToString(in.PartitionKey) != "ORD-1" || string(in.Data) != `{"x":1}` {
		t.Errorf("put = %+v", in)
	}
	k.err = errors.New("ProvisionedThroughputExceededException")
	if _, err := NewWriter(k, "order-events").Put(context.Background(), "ORD-1", nil); !errors.Is(err, k.err) {
		t.Errorf("err = %v", err)
	}
}

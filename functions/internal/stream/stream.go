// Package stream writes records to the Kinesis stream, partitioned by order id so that one
// order's events keep their order within a shard.
package stream

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// PutRecordAPI is the part of the Kinesis client the writer uses.
type PutRecordAPI interface {
	PutRecord(ctx context.Context, in *kinesis.PutRecordInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordOutput, error)
}

// Writer puts records on one stream.
type Writer struct {
	client PutRecordAPI
	name   string
}

// NewWriter returns a writer to the stream called name.
func NewWriter(client PutRecordAPI, name string) *Writer {
	return &Writer{client: client, name: name}
}

// Put writes data with partitionKey and returns the record's sequence number.
func (w *Writer) Put(ctx context.Context, partitionKey string, data []byte) (string, error) {
	out, err := w.client.PutRecord(ctx, &kinesis.PutRecordInput{
		StreamName:   aws.String(w.name),
		PartitionKey: aws.String(partitionKey),
		Data:         data,
	})
	if err != nil {
		return "", fmt.Errorf("put record %s: %w", partitionKey, err)
	}
	return aws.ToString(out.SequenceNumber), nil
}

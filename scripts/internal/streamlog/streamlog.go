// Package streamlog reads the order-events Kinesis stream: every shard from its start (a
// replay), from where an earlier read stopped (to catch up), or one shard's range of sequence
// numbers (what a Kinesis on-failure destination names).
package streamlog

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// API is the part of the Kinesis client a reader uses.
type API interface {
	ListShards(ctx context.Context, in *kinesis.ListShardsInput, optFns ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error)
	GetShardIterator(ctx context.Context, in *kinesis.GetShardIteratorInput, optFns ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error)
}

// Record is one record of the stream.
type Record struct {
	ShardID        string
	SequenceNumber string
	PartitionKey   string
	Data           []byte
	Arrived        time.Time
}

// Positions is, per shard, the sequence number of the last record read.
type Positions map[string]string

// Reader reads one stream.
type Reader struct {
	Client API
	Stream string
	// EmptyPause is the pause after an empty page while the shard is still behind its tip
	// (Kinesis allows five reads a second per shard). Zero means 200 ms.
	EmptyPause time.Duration
}

// Shards lists the stream's shards, parents before children (ListShards' order), paging.
func (r *Reader) Shards(ctx context.Context) ([]types.Shard, error) {
	var shards []types.Shard
	in := &kinesis.ListShardsInput{StreamName: aws.String(r.Stream)}
	for {
		out, err := r.Client.ListShards(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list shards of %s: %w", r.Stream, err)
		}
		shards = append(shards, out.Shards...)
		if aws.ToString(out.NextToken) == "" {
			return shards, nil
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken} // a token excludes the stream name
	}
}

// ReadFrom calls fn for every record of every shard after from (from the start of a shard
// that from does not name) up to the shard's tip, and returns the new positions. A nil from
// reads the whole stream (TRIM_HORIZON).
func (r *Reader) ReadFrom(ctx context.Context, from Positions, fn func(Record) error) (Positions, error) {
	shards, err := r.Shards(ctx)
	if err != nil {
		return nil, err
	}
	next := Positions{}
	for k, v := range from {
		next[k] = v
	}
	for _, sh := range shards {
		id := aws.ToString(sh.ShardId)
		in := &kinesis.GetShardIteratorInput{StreamName: aws.String(r.Stream), ShardId: sh.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon}
		if last := from[id]; last != "" {
			in.ShardIteratorType, in.StartingSequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(last)
		}
		err := r.read(ctx, in, func(rec Record) (bool, error) {
			next[id] = rec.SequenceNumber
			return true, fn(rec)
		})
		if err != nil {
			return nil, err
		}
	}
	return next, nil
}

// ReadRange calls fn for the records of one shard whose sequence numbers lie between first
// and last, both included. It fails, before calling fn at all, when the stream no longer holds
// first (trimmed: past its retention) and starts reading after it: the range can no longer be
// read whole.
func (r *Reader) ReadRange(ctx context.Context, shardID, first, last string, fn func(Record) error) error {
	end, ok := new(big.Int).SetString(last, 10)
	if !ok {
		return fmt.Errorf("sequence number %q is not a number", last)
	}
	in := &kinesis.GetShardIteratorInput{
		StreamName: aws.String(r.Stream), ShardId: aws.String(shardID),
		ShardIteratorType: types.ShardIteratorTypeAtSequenceNumber, StartingSequenceNumber: aws.String(first),
	}
	started := false
	return r.read(ctx, in, func(rec Record) (bool, error) {
		if !started && rec.SequenceNumber != first {
			return false, fmt.Errorf("shard %s: the range starts at record %s, but the stream's first record there is %s: its start is no longer on the stream (past its retention?)",
				shardID, first, rec.SequenceNumber)
		}
		started = true
		n, ok := new(big.Int).SetString(rec.SequenceNumber, 10)
		if !ok || n.Cmp(end) > 0 {
			return false, nil
		}
		return true, fn(rec)
	})
}

// read pages through one shard from the iterator in asks for until the shard's tip, the end of
// a closed shard, or fn says stop.
func (r *Reader) read(ctx context.Context, in *kinesis.GetShardIteratorInput, fn func(Record) (bool, error)) error {
	shard := aws.ToString(in.ShardId)
	it, err := r.Client.GetShardIterator(ctx, in)
	if err != nil {
		return fmt.Errorf("shard %s: iterator: %w", shard, err)
	}
	pause := r.EmptyPause
	if pause == 0 {
		pause = 200 * time.Millisecond
	}
	iter := it.ShardIterator
	for iter != nil {
		out, err := r.Client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
		var expired *types.ExpiredIteratorException
		if errors.As(err, &expired) {
			return fmt.Errorf("shard %s: %w (a read paused for more than five minutes)", shard, err)
		}
		if err != nil {
			return fmt.Errorf("shard %s: get records: %w", shard, err)
		}
		for _, rec := range out.Records {
			more, err := fn(Record{
				ShardID: shard, SequenceNumber: aws.ToString(rec.SequenceNumber), PartitionKey: aws.ToString(rec.PartitionKey),
				Data: rec.Data, Arrived: aws.ToTime(rec.ApproximateArrivalTimestamp),
			})
			if err != nil {
				return err
			}
			if !more {
				return nil
			}
		}
		iter = out.NextShardIterator
		// Caught up with the tip: a page at it, records or not (a live shard gains records
		// between any two calls, so an empty page may never come; what arrives later is the
		// next read's, from the positions this one returns). Without the figure, an empty page.
		if behind := out.MillisBehindLatest; (behind != nil && *behind == 0) || (behind == nil && len(out.Records) == 0) {
			return nil
		}
		if len(out.Records) > 0 {
			continue
		}
		select { // behind, yet an empty page: Kinesis skips over empty stretches one call at a time
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
	return nil // a closed shard, read to its end
}

package journey

import (
	"context"
	"crypto/md5"
	"encoding/json"
	"fmt"
	"math/big"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// The stream's side of the evidence: an order's Kinesis records, read from the shard its
// partition key hashes to (or, with SharedStream, through the collector's cache of every shard).

// stream reads the order's records: only the shard its partition key hashes to (as Kinesis
// routes it), from a little before the order's first event to the tip. If that shard holds none
// (an endpoint that routes differently), it reads every shard.
func (c *Collector) stream(ctx context.Context, orderID string, since time.Time) ([]Record, error) {
	name := c.res[ResStream]
	var shards []kintypes.Shard
	in := &kinesis.ListShardsInput{StreamName: aws.String(name)}
	for pages := 0; pages < 100; pages++ {
		page, err := c.kin.ListShards(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list shards of %s: %w", name, err)
		}
		shards = append(shards, page.Shards...)
		if page.NextToken == nil {
			break
		}
		in = &kinesis.ListShardsInput{NextToken: page.NextToken} // with a token, no stream name
	}
	var mine, others []kintypes.Shard
	for _, sh := range shards {
		if sh.HashKeyRange != nil && ShardHolds(aws.ToString(sh.HashKeyRange.StartingHashKey), aws.ToString(sh.HashKeyRange.EndingHashKey), orderID) {
			mine = append(mine, sh)
		} else {
			others = append(others, sh)
		}
	}
	read := c.readShards
	if c.sharedStream {
		read = c.readShared
	}
	recs, err := read(ctx, name, mine, orderID, since)
	if err != nil || len(recs) > 0 {
		return recs, err
	}
	return read(ctx, name, others, orderID, since)
}

// ShardHolds reports whether a partition key hashes into a shard's range: Kinesis routes a
// record to the shard whose range holds the MD5 of its partition key, read as a 128-bit number.
func ShardHolds(start, end, partitionKey string) bool {
	lo, ok1 := new(big.Int).SetString(start, 10)
	hi, ok2 := new(big.Int).SetString(end, 10)
	if !ok1 || !ok2 {
		return false
	}
	sum := md5.Sum([]byte(partitionKey))
	h := new(big.Int).SetBytes(sum[:])
	return lo.Cmp(h) <= 0 && h.Cmp(hi) <= 0
}

// maxBatches bounds the GetRecords calls of one read of one shard.
const maxBatches = 200

func (c *Collector) readShards(ctx context.Context, stream string, shards []kintypes.Shard, orderID string, since time.Time) ([]Record, error) {
	var recs []Record
	for _, sh := range shards {
		iter, _, err := c.iterator(ctx, stream, aws.ToString(sh.ShardId), since, "")
		if err != nil {
			return recs, err
		}
		_, err = c.drain(ctx, aws.ToString(sh.ShardId), iter, func(r kintypes.Record) {
			if aws.ToString(r.PartitionKey) == orderID {
				recs = append(recs, parseRecord(aws.ToString(sh.ShardId), r))
			}
		})
		if err != nil {
			return recs, err
		}
	}
	return recs, nil
}

// iterator starts a read of a shard: after the record numbered after, if given; otherwise at
// since or, where the endpoint does not know AT_TIMESTAMP, from the shard's start (then exact is
// false: the read holds records from before since).
func (c *Collector) iterator(ctx context.Context, stream, shard string, since time.Time, after string) (iter *string, exact bool, err error) {
	in := &kinesis.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: aws.String(shard),
		ShardIteratorType: kintypes.ShardIteratorTypeAtTimestamp, Timestamp: aws.Time(since)}
	if after != "" {
		in.ShardIteratorType, in.Timestamp, in.StartingSequenceNumber = kintypes.ShardIteratorTypeAfterSequenceNumber, nil, aws.String(after)
	}
	it, err := c.kin.GetShardIterator(ctx, in)
	if err == nil {
		return it.ShardIterator, true, nil
	}
	if after != "" {
		return nil, false, fmt.Errorf("shard iterator of %s after %s: %w", shard, Tail(after), err)
	}
	// Not every endpoint knows AT_TIMESTAMP: read the shard from its start.
	it, err = c.kin.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
		StreamName: aws.String(stream), ShardId: aws.String(shard), ShardIteratorType: kintypes.ShardIteratorTypeTrimHorizon,
	})
	if err != nil {
		return nil, false, fmt.Errorf("shard iterator of %s: %w", shard, err)
	}
	return it.ShardIterator, false, nil
}

// drain reads a shard from iter up to its tip (at most maxBatches calls), handing each record to
// keep, and returns the sequence number of the last record read ("" if none). A shard still
// behind its tip after maxBatches calls is an error, with what was read handed on: the records
// after it are missing.
func (c *Collector) drain(ctx context.Context, shard string, iter *string, keep func(kintypes.Record)) (string, error) {
	last := ""
	for i := 0; iter != nil; i++ {
		if i == maxBatches {
			return last, fmt.Errorf("read %d batches of %s and it is still behind its tip: records after %s are missing", maxBatches, shard, Tail(last))
		}
		out, err := c.kin.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(1000)})
		if err != nil {
			return last, fmt.Errorf("get records of %s: %w", shard, err)
		}
		for _, r := range out.Records {
			keep(r)
			last = aws.ToString(r.SequenceNumber)
		}
		behind := out.MillisBehindLatest
		if (behind != nil && *behind == 0) || (behind == nil && len(out.Records) == 0) {
			break
		}
		iter = out.NextShardIterator
	}
	return last, nil
}

// shardCache is what SharedStream read of one shard: every record from a time on, by partition key.
type shardCache struct {
	from  time.Time // records read from then on (zero: from the shard's start)
	last  string    // sequence number of the last record read: the next read starts after it
	byKey map[string][]Record
}

// readShared reads the shards through the collector's cache: a shard is read once from a window
// before the earliest since asked for (orders gathered a little out of order read nothing twice),
// then only from where the last read stopped.
func (c *Collector) readShared(ctx context.Context, stream string, shards []kintypes.Shard, orderID string, since time.Time) ([]Record, error) {
	c.streamMu.Lock()
	defer c.streamMu.Unlock()
	var recs []Record
	for _, sh := range shards {
		id := aws.ToString(sh.ShardId)
		sc := c.shards[id]
		if sc != nil && sc.from.After(since) {
			sc = nil // asked for earlier records than were read: read again from there
		}
		var iter *string
		var err error
		if sc == nil {
			var exact bool
			from := since.Add(-window)
			if iter, exact, err = c.iterator(ctx, stream, id, from, ""); err != nil {
				return recs, err
			}
			sc = &shardCache{from: from, byKey: map[string][]Record{}}
			if !exact {
				sc.from = time.Time{}
			}
			c.shards[id] = sc
		} else if iter, _, err = c.iterator(ctx, stream, id, sc.from, sc.last); err != nil {
			return recs, err
		}
		last, err := c.drain(ctx, id, iter, func(r kintypes.Record) {
			k := aws.ToString(r.PartitionKey)
			sc.byKey[k] = append(sc.byKey[k], parseRecord(id, r))
		})
		if last != "" {
			sc.last = last
		}
		recs = append(recs, sc.byKey[orderID]...)
		if err != nil {
			return recs, err
		}
	}
	return recs, nil
}

func parseRecord(shard string, r kintypes.Record) Record {
	var ev struct {
		ID         string `json:"id"`
		DetailType string `json:"detail-type"`
		Detail     struct {
			ID string `json:"id"`
		} `json:"detail"`
	}
	_ = json.Unmarshal(r.Data, &ev) // a record that is not an event still shows, without an event
	return Record{Shard: shard, Seq: aws.ToString(r.SequenceNumber), PartitionKey: aws.ToString(r.PartitionKey),
		Arrival: aws.ToTime(r.ApproximateArrivalTimestamp), BusID: ev.ID, EventID: ev.Detail.ID, Type: ev.DetailType, Raw: r.Data}
}

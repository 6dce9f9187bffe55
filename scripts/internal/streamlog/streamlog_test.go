package streamlog

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// fakeKinesis serves shards of records two per page, lists one shard per ListShards page, and
// answers one empty page "behind the tip" before each shard's first record, as Kinesis does
// over an empty stretch of a shard.
type fakeKinesis struct {
	order  []string            // shard ids
	shards map[string][]string // shard id -> record sequence numbers
	closed map[string]bool
	calls  int
	// trimmed: an AT_SEQUENCE_NUMBER iterator for a record the shard no longer holds starts at
	// its oldest record (else: an error)
	trimmed bool
}

func (f *fakeKinesis) ListShards(_ context.Context, in *kinesis.ListShardsInput, _ ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error) {
	if in.NextToken != nil && in.StreamName != nil {
		return nil, fmt.Errorf("NextToken and StreamName together")
	}
	i := 0
	if in.NextToken != nil {
		i, _ = strconv.Atoi(*in.NextToken)
	}
	out := &kinesis.ListShardsOutput{Shards: []types.Shard{{ShardId: aws.String(f.order[i])}}}
	if i+1 < len(f.order) {
		out.NextToken = aws.String(strconv.Itoa(i + 1))
	}
	return out, nil
}

// iterators are "shard/index/primed".
func (f *fakeKinesis) GetShardIterator(_ context.Context, in *kinesis.GetShardIteratorInput, _ ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error) {
	id, recs := *in.ShardId, f.shards[*in.ShardId]
	start := 0
	switch in.ShardIteratorType {
	case types.ShardIteratorTypeTrimHorizon:
	case types.ShardIteratorTypeAtSequenceNumber, types.ShardIteratorTypeAfterSequenceNumber:
		start = -1
		for i, s := range recs {
			if s == *in.StartingSequenceNumber {
				start = i
			}
		}
		if start < 0 && f.trimmed {
			start = 0
		} else if start < 0 {
			return nil, fmt.Errorf("no record %s", *in.StartingSequenceNumber)
		}
		if in.ShardIteratorType == types.ShardIteratorTypeAfterSequenceNumber {
			start++
		}
	default:
		return nil, fmt.Errorf("unexpected iterator type %s", in.ShardIteratorType)
	}
	return &kinesis.GetShardIteratorOutput{ShardIterator: aws.String(fmt.Sprintf("%s/%d/no", id, start))}, nil
}

func (f *fakeKinesis) GetRecords(_ context.Context, in *kinesis.GetRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error) {
	f.calls++
	parts := strings.Split(*in.ShardIterator, "/")
	id, primed := parts[0], parts[2] == "yes"
	i, _ := strconv.Atoi(parts[1])
	recs := f.shards[id]
	if !primed && i < len(recs) {
		return &kinesis.GetRecordsOutput{MillisBehindLatest: aws.Int64(1000), NextShardIterator: aws.String(fmt.Sprintf("%s/%d/yes", id, i))}, nil
	}
	out := &kinesis.GetRecordsOutput{MillisBehindLatest: aws.Int64(0)}
	for ; i < len(recs) && len(out.Records) < 2; i++ {
		out.Records = append(out.Records, types.Record{SequenceNumber: aws.String(recs[i]), PartitionKey: aws.String("pk-" + recs[i]), Data: []byte("d" + recs[i])})
	}
	if i < len(recs) {
		out.MillisBehindLatest = aws.Int64(500)
	}
	if i < len(recs) || !f.closed[id] {
		out.NextShardIterator = aws.String(fmt.Sprintf("%s/%d/yes", id, i))
	}
	return out, nil
}

func newFake() *fakeKinesis {
	return &fakeKinesis{
		order:  []string{"shard-0", "shard-1", "shard-2"},
		shards: map[string][]string{"shard-0": {"10", "11", "12", "13", "14"}, "shard-1": {"20", "21", "22"}, "shard-2": {}},
		closed: map[string]bool{"shard-0": true},
	}
}

func collect(t *testing.T, f *fakeKinesis, from Positions) ([]string, Positions) {
	t.Helper()
	r := &Reader{Client: f, Stream: "s", EmptyPause: 1}
	var got []string
	pos, err := r.ReadFrom(context.Background(), from, func(rec Record) error {
		if rec.PartitionKey != "pk-"+rec.SequenceNumber || string(rec.Data) != "d"+rec.SequenceNumber {
			t.Errorf("record %+v", rec)
		}
		got = append(got, rec.ShardID+":"+rec.SequenceNumber)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, pos
}

func TestReadFromTheStartEveryShardEveryPage(t *testing.T) {
	f := newFake()
	got, pos := collect(t, f, nil)
	want := []string{"shard-0:10", "shard-0:11", "shard-0:12", "shard-0:13", "shard-0:14", "shard-1:20", "shard-1:21", "shard-1:22"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read %v, want %v", got, want)
	}
	if want := (Positions{"shard-0": "14", "shard-1": "22"}); !reflect.DeepEqual(pos, want) {
		t.Errorf("positions %v, want %v", pos, want)
	}

	// Catching up reads only what arrived since.
	f.shards["shard-1"] = append(f.shards["shard-1"], "23")
	f.shards["shard-2"] = append(f.shards["shard-2"], "30")
	got, pos = collect(t, f, pos)
	if want := []string{"shard-1:23", "shard-2:30"}; !reflect.DeepEqual(got, want) {
		t.Errorf("caught up with %v, want %v", got, want)
	}
	if got, _ := collect(t, f, pos); len(got) != 0 {
		t.Errorf("nothing new, yet read %v", got)
	}
}

func TestReadRange(t *testing.T) {
	f := newFake()
	r := &Reader{Client: f, Stream: "s", EmptyPause: 1}
	var got []string
	if err := r.ReadRange(context.Background(), "shard-0", "11", "13", func(rec Record) error {
		got = append(got, rec.SequenceNumber)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"11", "12", "13"}; !reflect.DeepEqual(got, want) {
		t.Errorf("range read %v, want %v", got, want)
	}
	if err := r.ReadRange(context.Background(), "shard-0", "11", "x", func(Record) error { return nil }); err == nil {
		t.Error("a range ending at a non-number was accepted")
	}

	// A range whose start the stream has trimmed: nothing read, an error saying why (a caller
	// that went on with the rest would take part of a batch for all of it).
	f.trimmed = true
	got = nil
	err := r.ReadRange(context.Background(), "shard-0", "9", "12", func(rec Record) error {
		got = append(got, rec.SequenceNumber)
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "no longer on the stream") || len(got) != 0 {
		t.Errorf("trimmed start: read %v, err %v; want nothing read and the reason", got, err)
	}
}

// liveKinesis is one shard under steady traffic: it holds n records when the read starts, one
// more arrives between any two GetRecords calls, and every page is at the tip.
type liveKinesis struct{ n, gets int }

func (f *liveKinesis) ListShards(context.Context, *kinesis.ListShardsInput, ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error) {
	return &kinesis.ListShardsOutput{Shards: []types.Shard{{ShardId: aws.String("s0")}}}, nil
}

// iterators are the index of the next record; record i's sequence number is i+1.
func (f *liveKinesis) GetShardIterator(_ context.Context, in *kinesis.GetShardIteratorInput, _ ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error) {
	if in.ShardIteratorType == types.ShardIteratorTypeAfterSequenceNumber {
		return &kinesis.GetShardIteratorOutput{ShardIterator: in.StartingSequenceNumber}, nil
	}
	return &kinesis.GetShardIteratorOutput{ShardIterator: aws.String("0")}, nil
}

func (f *liveKinesis) GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.gets++
	i, _ := strconv.Atoi(*in.ShardIterator)
	var recs []types.Record
	for ; i < f.n; i++ {
		recs = append(recs, types.Record{SequenceNumber: aws.String(strconv.Itoa(i + 1)), PartitionKey: aws.String("k")})
	}
	f.n++
	return &kinesis.GetRecordsOutput{Records: recs, NextShardIterator: aws.String(strconv.Itoa(i)), MillisBehindLatest: aws.Int64(0)}, nil
}

// A read of a shard that never has an empty page (records arrive between any two calls) ends
// at the tip; it waited for an empty page before, and a replay under traffic never finished.
func TestReadEndsAtTheTipOfALiveShard(t *testing.T) {
	f := &liveKinesis{n: 100}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	read := 0
	pos, err := (&Reader{Client: f, Stream: "s", EmptyPause: 1}).ReadFrom(ctx, nil, func(Record) error { read++; return nil })
	if err != nil {
		t.Fatalf("read: %v after %d calls", err, f.gets)
	}
	if f.gets != 1 || read != 100 || pos["s0"] != "100" {
		t.Errorf("%d calls, %d records read, position %v; want 1 call, the 100 there, at 100", f.gets, read, pos)
	}
	// The next read takes up from there: what arrived meanwhile, once.
	if _, err := (&Reader{Client: f, Stream: "s", EmptyPause: 1}).ReadFrom(ctx, pos, func(Record) error { read++; return nil }); err != nil || read != 101 {
		t.Errorf("caught up with %d records in all (%v), want 101", read, err)
	}
}

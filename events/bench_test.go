package events_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"testing"

	"github.com/orderflow-dev/orderflow/events"
)

// The benchmarks run on the samples, one sub-benchmark per type and version:
//
//	go test ./events -run '^$' -bench . -benchmem
//
// BenchmarkFloor is the plain JSON cost of the same bytes (decode into an Envelope, encode it
// again): what validation adds is the rest.

func benchSamples() []struct {
	key string
	doc []byte
} {
	all := events.Samples()
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]struct {
		key string
		doc []byte
	}, len(keys))
	for i, k := range keys {
		var b bytes.Buffer
		if err := json.Compact(&b, all[k]); err != nil { // as events travel
			panic(err)
		}
		out[i].key, out[i].doc = k, b.Bytes()
	}
	return out
}

func BenchmarkParse(b *testing.B) {
	for _, s := range benchSamples() {
		b.Run(s.key, func(b *testing.B) {
			b.SetBytes(int64(len(s.doc)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := events.Parse(s.doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkFromEventBridge(b *testing.B) {
	for _, s := range benchSamples() {
		e, err := events.Parse(s.doc)
		if err != nil {
			b.Fatal(err)
		}
		raw := []byte(fmt.Sprintf(`{"version":"0","id":"0d7e3bc1-8e3a-4c5b-b8b0-7e2f1f9c3a11","detail-type":%q,"source":%q,`+
			`"account":"000000000000","time":"2026-03-14T09:26:53Z","region":"us-east-1","resources":[],"detail":%s}`, e.Type, e.Source, s.doc))
		b.Run(s.key, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := events.FromEventBridge(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkNew(b *testing.B) {
	for _, g := range goldenEvents() {
		b.Run(fmt.Sprintf("%s.v%d", g.t, g.version), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := events.New(events.Spec{Type: g.t, Version: g.version, OrderID: g.orderID, Sequence: g.seq, CorrelationID: g.correlationID(), CausationID: g.causationID, Payload: g.payload, Time: g.at}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNewEntry is a producer's path: New, then the PutEvents entry.
func BenchmarkNewEntry(b *testing.B) {
	for _, g := range goldenEvents() {
		b.Run(fmt.Sprintf("%s.v%d", g.t, g.version), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				e, err := events.New(events.Spec{Type: g.t, Version: g.version, OrderID: g.orderID, Sequence: g.seq, CorrelationID: g.correlationID(), CausationID: g.causationID, Payload: g.payload, Time: g.at})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := e.Entry("orders"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkFloor(b *testing.B) {
	for _, s := range benchSamples() {
		b.Run(s.key, func(b *testing.B) {
			b.SetBytes(int64(len(s.doc)))
			b.ReportAllocs()
			for b.Loop() {
				var e events.Envelope
				if err := json.Unmarshal(s.doc, &e); err != nil {
					b.Fatal(err)
				}
				if _, err := json.Marshal(e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

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

// benchDoc is one document the benchmarks read: a sample, compacted as events travel, or what
// is built from one.
type benchDoc struct {
	key string
	doc []byte
}

func benchSamples() []benchDoc {
	all := events.Samples()
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]benchDoc, len(keys))
	for i, k := range keys {
		var b bytes.Buffer
		if err := json.Compact(&b, all[k]); err != nil { // as events travel
			panic(err)
		}
		out[i] = benchDoc{k, b.Bytes()}
	}
	return out
}

// benchDocs runs read once an iteration on each document, a sub-benchmark each that counts
// the document's bytes.
func benchDocs(b *testing.B, docs []benchDoc, read func([]byte) error) {
	for _, s := range docs {
		b.Run(s.key, func(b *testing.B) {
			b.SetBytes(int64(len(s.doc)))
			b.ReportAllocs()
			for b.Loop() {
				if err := read(s.doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchGoldens runs produce once an iteration on each golden value's Spec, a sub-benchmark each.
func benchGoldens(b *testing.B, produce func(events.Spec) error) {
	for _, g := range goldenEvents() {
		b.Run(fmt.Sprintf("%s.v%d", g.t, g.version), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := produce(g.spec()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	benchDocs(b, benchSamples(), func(doc []byte) error {
		_, err := events.Parse(doc)
		return err
	})
}

func BenchmarkFromEventBridge(b *testing.B) {
	var raws []benchDoc
	for _, s := range benchSamples() {
		e, err := events.Parse(s.doc)
		if err != nil {
			b.Fatal(err)
		}
		raw := []byte(fmt.Sprintf(`{"version":"0","id":"0d7e3bc1-8e3a-4c5b-b8b0-7e2f1f9c3a11","detail-type":%q,"source":%q,`+
			`"account":"000000000000","time":"2026-03-14T09:26:53Z","region":"us-east-1","resources":[],"detail":%s}`, e.Type, e.Source, s.doc))
		raws = append(raws, benchDoc{s.key, raw})
	}
	benchDocs(b, raws, func(raw []byte) error {
		_, err := events.FromEventBridge(raw)
		return err
	})
}

func BenchmarkNew(b *testing.B) {
	benchGoldens(b, func(spec events.Spec) error {
		_, err := events.New(spec)
		return err
	})
}

// BenchmarkNewEntry is a producer's path: New, then the PutEvents entry.
func BenchmarkNewEntry(b *testing.B) {
	benchGoldens(b, func(spec events.Spec) error {
		e, err := events.New(spec)
		if err != nil {
			return err
		}
		_, err = e.Entry("orders")
		return err
	})
}

func BenchmarkFloor(b *testing.B) {
	benchDocs(b, benchSamples(), func(doc []byte) error {
		var e events.Envelope
		if err := json.Unmarshal(doc, &e); err != nil {
			return err
		}
		_, err := json.Marshal(e)
		return err
	})
}

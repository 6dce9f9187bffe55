package metrics_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/metrics"
	"github.com/orderflow-dev/orderflow/functions/internal/metrics/metricstest"
)

var clock = func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 123_456_789, time.UTC) }

// testCatalog has what the orderflow catalog lacks: a high-resolution metric and several dimensions.
func testCatalog() metrics.Catalog {
	return metrics.Catalog{
		Namespace: "Test/App",
		Metrics: []metrics.Metric{
			{Name: "Requests", Unit: metrics.Count, Dimensions: [][]string{{"Status", "Route"}}},
			{Name: "Latency", Unit: metrics.Milliseconds, Dimensions: [][]string{{"Status", "Route"}}, HighResolution: true},
			{Name: "Payload", Unit: metrics.Bytes, Dimensions: [][]string{{"Route"}, {}}},
		},
		Dimensions: []metrics.Dimension{
			{Name: "Route", Values: []string{"GET /orders", "POST /orders"}},
			{Name: "Status", Values: []string{"2xx", "4xx", "5xx"}},
		},
	}
}

func newEmitter(t *testing.T, c metrics.Catalog) (*metrics.Emitter, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	e, err := metrics.New(&buf, c, clock)
	if err != nil {
		t.Fatal(err)
	}
	return e, &buf
}

// emitCase is one record emitted with the catalog: its dimensions and values, and what Emit
// should make of it (the line it writes, or words of the error it rejects the record with).
type emitCase struct {
	name    string
	catalog metrics.Catalog
	dims    map[string]string
	values  []metrics.Value
	want    string
}

func TestGolden(t *testing.T) {
	for _, tc := range []emitCase{
		{"count without dimensions", metrics.Orderflow(), nil, []metrics.Value{metrics.Of(metrics.OrdersPlaced, 1)},
			`{"_aws":{"Timestamp":1772366400123,"CloudWatchMetrics":[{"Namespace":"Orderflow","Dimensions":[[]],"Metrics":[{"Name":"OrdersPlaced","Unit":"Count"}]}]},"OrdersPlaced":1}`},
		{"count in total and by reason", metrics.Orderflow(), map[string]string{metrics.Reason: events.ReasonOutOfStock}, []metrics.Value{metrics.Of(metrics.OrdersCancelled, 1)},
			`{"_aws":{"Timestamp":1772366400123,"CloudWatchMetrics":[{"Namespace":"Orderflow","Dimensions":[[],["Reason"]],"Metrics":[{"Name":"OrdersCancelled","Unit":"Count"}]}]},"Reason":"out-of-stock","OrdersCancelled":1}`},
		{"metrics with different dimension sets: one directive each", metrics.Orderflow(), map[string]string{metrics.Reason: events.ReasonPaymentDeclined, metrics.Outcome: metrics.OutcomeCancelled},
			[]metrics.Value{metrics.Of(metrics.OrdersCancelled, 1), metrics.Of(metrics.PlacedToTerminal, 2000)},
			`{"_aws":{"Timestamp":1772366400123,"CloudWatchMetrics":[{"Namespace":"Orderflow","Dimensions":[[],["Reason"]],"Metrics":[{"Name":"OrdersCancelled","Unit":"Count"}]},{"Namespace":"Orderflow","Dimensions":[[],["Outcome"]],"Metrics":[{"Name":"PlacedToTerminal","Unit":"Milliseconds"}]}]},"Outcome":"cancelled","Reason":"payment-declined","OrdersCancelled":1,"PlacedToTerminal":2000}`},
		{"two metrics in one record", metrics.Orderflow(), map[string]string{}, []metrics.Value{metrics.Of(metrics.Refunds, 1), metrics.Of(metrics.RefundedCents, 4999)},
			`{"_aws":{"Timestamp":1772366400123,"CloudWatchMetrics":[{"Namespace":"Orderflow","Dimensions":[[]],"Metrics":[{"Name":"Refunds","Unit":"Count"},{"Name":"RefundedCents","Unit":"Count"}]}]},"Refunds":1,"RefundedCents":4999}`},
		{"fractional milliseconds", metrics.Orderflow(), map[string]string{metrics.Outcome: metrics.OutcomeShipped}, []metrics.Value{metrics.Of(metrics.PlacedToTerminal, metrics.Millis(4*time.Second+250*time.Microsecond))},
			`{"_aws":{"Timestamp":1772366400123,"CloudWatchMetrics":[{"Namespace":"Orderflow","Dimensions":[[],["Outcome"]],"Metrics":[{"Name":"PlacedToTerminal","Unit":"Milliseconds"}]}]},"Outcome":"shipped","PlacedToTerminal":4000.25}`},
		{"dimensions sorted, arrays, high resolution", testCatalog(), map[string]string{"Status": "2xx", "Route": "GET /orders"},
			[]metrics.Value{metrics.Of("Latency", 12.5, 3, 1e-3), metrics.Of("Payload", 512), metrics.Of("Requests", 3)},
			`{"_aws":{"Timestamp":1772366400123,"CloudWatchMetrics":[{"Namespace":"Test/App","Dimensions":[["Route","Status"]],"Metrics":[{"Name":"Latency","Unit":"Milliseconds","StorageResolution":1},{"Name":"Requests","Unit":"Count"}]},{"Namespace":"Test/App","Dimensions":[["Route"],[]],"Metrics":[{"Name":"Payload","Unit":"Bytes"}]}]},"Route":"GET /orders","Status":"2xx","Latency":[12.5,3,0.001],"Payload":512,"Requests":3}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, buf := newEmitter(t, tc.catalog)
			if err := e.Emit(tc.dims, tc.values...); err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); got != tc.want+"\n" {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			metricstest.Lines(t, buf.Bytes())
		})
	}
}

func TestCatalogValidation(t *testing.T) {
	long := strings.Repeat("M", 256)
	for _, tc := range []struct {
		name   string
		change func(*metrics.Catalog)
		want   string
	}{
		{"empty namespace", func(c *metrics.Catalog) { c.Namespace = "" }, "namespace"},
		{"namespace with a space", func(c *metrics.Catalog) { c.Namespace = "Order flow" }, "namespace"},
		{"AWS namespace", func(c *metrics.Catalog) { c.Namespace = "AWS/Lambda" }, "reserved"},
		{"namespace too long", func(c *metrics.Catalog) { c.Namespace = long }, "namespace"},
		{"no metric", func(c *metrics.Catalog) { c.Metrics = nil }, "no metric"},
		{"empty metric name", func(c *metrics.Catalog) { c.Metrics[0].Name = "" }, "metric name"},
		{"metric name too long", func(c *metrics.Catalog) { c.Metrics[0].Name = long }, "metric name"},
		{"metric name not ASCII", func(c *metrics.Catalog) { c.Metrics[0].Name = "Commandes€" }, "metric name"},
		{"metric name with a newline", func(c *metrics.Catalog) { c.Metrics[0].Name = "Orders\nPlaced" }, "metric name"},
		{"metric named _aws", func(c *metrics.Catalog) { c.Metrics[0].Name = "_aws" }, "metadata"},
		{"metric twice", func(c *metrics.Catalog) { c.Metrics[1].Name = c.Metrics[0].Name }, "already a metric"},
		{"bad unit", func(c *metrics.Catalog) { c.Metrics[0].Unit = "Cents" }, `unit "Cents"`},
		{"unit in lower case", func(c *metrics.Catalog) { c.Metrics[0].Unit = "count" }, `unit "count"`},
		{"no unit", func(c *metrics.Catalog) { c.Metrics[0].Unit = "" }, `unit ""`},
		{"dimension named like a metric", func(c *metrics.Catalog) { c.Dimensions[0].Name = metrics.OrdersPlaced }, "already a metric"},
		{"dimension name with a colon first", func(c *metrics.Catalog) { c.Dimensions[0].Name = ":Reason" }, "':'"},
		{"dimension without values", func(c *metrics.Catalog) { c.Dimensions[0].Values = nil }, "no allowed value"},
		{"empty dimension value", func(c *metrics.Catalog) { c.Dimensions[0].Values = []string{""} }, "value"},
		{"blank dimension value", func(c *metrics.Catalog) { c.Dimensions[0].Values = []string{"  "} }, "value"},
		{"dimension value too long", func(c *metrics.Catalog) { c.Dimensions[0].Values = []string{strings.Repeat("x", 1025)} }, "value"},
		{"dimension value twice", func(c *metrics.Catalog) { c.Dimensions[0].Values = []string{"a", "a"} }, "twice"},
		{"metric with an undeclared dimension", func(c *metrics.Catalog) { c.Metrics[0].Dimensions = [][]string{{"OrderId"}} }, `dimension "OrderId" is not in the catalog`},
		{"metric dimensioned by a metric", func(c *metrics.Catalog) { c.Metrics[0].Dimensions = [][]string{{metrics.Refunds}} }, "is not in the catalog"},
		{"dimension twice in a set", func(c *metrics.Catalog) { c.Metrics[0].Dimensions = [][]string{{metrics.Reason, metrics.Reason}} }, "twice in a set"},
		{"dimension set twice", func(c *metrics.Catalog) {
			c.Metrics[0].Dimensions = [][]string{{metrics.Reason, metrics.Outcome}, {metrics.Outcome, metrics.Reason}}
		}, "declared twice"},
		{"empty dimension set twice", func(c *metrics.Catalog) { c.Metrics[0].Dimensions = [][]string{{}, nil} }, "declared twice"},
		{"31 dimensions in a set", func(c *metrics.Catalog) {
			var set []string
			for i := range 31 {
				set = append(set, fmt.Sprintf("D%02d", i))
				c.Dimensions = append(c.Dimensions, metrics.Dimension{Name: set[i], Values: []string{"v"}})
			}
			c.Metrics[0].Dimensions = [][]string{set}
		}, "at most 30"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := metrics.Orderflow()
			tc.change(&c)
			_, err := metrics.New(&bytes.Buffer{}, c, clock)
			if !errors.Is(err, metrics.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v, want ErrInvalid naming %q", err, tc.want)
			}
		})
	}
	if err := metrics.Orderflow().Validate(); err != nil {
		t.Errorf("the orderflow catalog: %v", err)
	}
	if _, err := metrics.New(nil, metrics.Orderflow(), clock); err == nil {
		t.Error("New without a writer: no error")
	}
}

// big is a catalog at the specification's limits: 101 metrics without dimensions (one more
// than a record may hold) and "Wide", with a set of 30 dimensions (as many as a set may hold).
func big() metrics.Catalog {
	c := metrics.Catalog{Namespace: "Test"}
	for i := range 101 {
		c.Metrics = append(c.Metrics, metrics.Metric{Name: fmt.Sprintf("M%03d", i), Unit: metrics.Count})
	}
	var wide []string
	for i := range 30 {
		c.Dimensions = append(c.Dimensions, metrics.Dimension{Name: fmt.Sprintf("D%02d", i), Values: []string{"v", "w"}})
		wide = append(wide, fmt.Sprintf("D%02d", i))
	}
	c.Metrics = append(c.Metrics, metrics.Metric{Name: "Wide", Unit: metrics.Percent, Dimensions: [][]string{wide, {}, {"D00"}}, HighResolution: true})
	return c
}

func bigValues(n int) []metrics.Value {
	var vs []metrics.Value
	for i := range n {
		vs = append(vs, metrics.Of(fmt.Sprintf("M%03d", i), float64(i)))
	}
	return vs
}

func bigDims(n int) map[string]string {
	d := map[string]string{}
	for i := range n {
		d[fmt.Sprintf("D%02d", i)] = "v"
	}
	return d
}

func TestEmitRejects(t *testing.T) {
	hundredAndOne := make([]float64, 101)
	for _, tc := range []emitCase{
		{"no metric", metrics.Orderflow(), nil, nil, "1 to 100 metrics"},
		{"too many metrics", big(), nil, bigValues(101), "1 to 100 metrics"},
		{"a dimension missing", metrics.Orderflow(), nil, []metrics.Value{metrics.Of(metrics.OrdersCancelled, 1)}, `dimension "Reason" has no value`},
		{"a dimension of another metric", metrics.Orderflow(), map[string]string{metrics.Reason: events.ReasonOutOfStock}, []metrics.Value{metrics.Of(metrics.OrdersPlaced, 1)}, `"Reason": no metric of the record has it`},
		{"one of many dimensions missing", big(), func() map[string]string { d := bigDims(30); delete(d, "D17"); return d }(), []metrics.Value{metrics.Of("Wide", 1)}, `"D17" has no value`},
		{"empty name", metrics.Orderflow(), nil, []metrics.Value{metrics.Of("", 1)}, `metric ""`},
		{"name not in the catalog", metrics.Orderflow(), nil, []metrics.Value{metrics.Of("Revenue", 1)}, `"Revenue" is not in the Orderflow catalog`},
		{"metric twice", metrics.Orderflow(), nil, []metrics.Value{metrics.Of(metrics.Refunds, 1), metrics.Of(metrics.Refunds, 1)}, "twice"},
		{"no value", metrics.Orderflow(), nil, []metrics.Value{metrics.Of(metrics.Refunds)}, "1 to 100 values"},
		{"too many values", metrics.Orderflow(), nil, []metrics.Value{metrics.Of(metrics.Refunds, hundredAndOne...)}, "1 to 100 values"},
		{"NaN", metrics.Orderflow(), nil, []metrics.Value{metrics.Of(metrics.PlacedToTerminal, math.NaN())}, "NaN"},
		{"+Inf", metrics.Orderflow(), nil, []metrics.Value{metrics.Of(metrics.PlacedToTerminal, math.Inf(1))}, "+Inf"},
		{"-Inf in an array", metrics.Orderflow(), nil, []metrics.Value{metrics.Of(metrics.PlacedToTerminal, 1, math.Inf(-1))}, "-Inf"},
		{"beyond 2^360", metrics.Orderflow(), nil, []metrics.Value{metrics.Of(metrics.RefundedCents, math.Ldexp(1, 361))}, "2^360"},
		{"dimension not in the catalog", metrics.Orderflow(), map[string]string{"orderId": "ORD-1"}, []metrics.Value{metrics.Of(metrics.OrdersPlaced, 1)}, `dimension "orderId"`},
		{"dimension value not allowed", metrics.Orderflow(), map[string]string{metrics.Reason: "tok_visa"}, []metrics.Value{metrics.Of(metrics.OrdersCancelled, 1)}, `"tok_visa" is not one of`},
		{"empty dimension value", metrics.Orderflow(), map[string]string{metrics.Reason: ""}, []metrics.Value{metrics.Of(metrics.OrdersCancelled, 1)}, `value "" is not one of`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, buf := newEmitter(t, tc.catalog)
			err := e.Emit(tc.dims, tc.values...)
			if !errors.Is(err, metrics.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Emit: %v, want ErrInvalid naming %q", err, tc.want)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %q for a rejected record", buf)
			}
		})
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("stdout closed") }

func TestWriteFailure(t *testing.T) {
	e, err := metrics.New(failingWriter{}, metrics.Orderflow(), clock)
	if err != nil {
		t.Fatal(err)
	}
	err = e.Emit(nil, metrics.Of(metrics.OrdersPlaced, 1))
	if err == nil || errors.Is(err, metrics.ErrInvalid) || !strings.Contains(err.Error(), "stdout closed") {
		t.Errorf("Emit = %v, want the writer's error", err)
	}
}

// Every line the emitter writes, up to the specification's limits, is an EMF document.
func TestEveryLineIsEMF(t *testing.T) {
	e, buf := newEmitter(t, big())
	full := make([]float64, 100)
	for i := range full {
		full[i] = float64(i) - 50.5
	}
	records := []struct {
		dims   map[string]string
		values []metrics.Value
	}{
		{nil, bigValues(1)},
		{nil, bigValues(100)},
		{bigDims(30), []metrics.Value{metrics.Of("Wide", full...)}},
		{bigDims(30), append(bigValues(99), metrics.Of("Wide", 1))},
		{nil, []metrics.Value{metrics.Of("M001", 0), metrics.Of("M002", -1), metrics.Of("M003", math.Ldexp(1, 360)), metrics.Of("M004", math.SmallestNonzeroFloat64)}},
	}
	for _, r := range records {
		if err := e.Emit(r.dims, r.values...); err != nil {
			t.Fatal(err)
		}
	}
	e2, buf2 := newEmitter(t, testCatalog())
	for _, route := range []string{"GET /orders", "POST /orders"} {
		if err := e2.Emit(map[string]string{"Route": route, "Status": "5xx"}, metrics.Of("Latency", 1, 2), metrics.Of("Payload", 512)); err != nil {
			t.Fatal(err)
		}
	}
	e3, buf3 := newEmitter(t, metrics.Orderflow())
	for _, reason := range []string{events.ReasonOutOfStock, events.ReasonPaymentDeclined, events.ReasonFulfilmentFailed} {
		if err := e3.Emit(map[string]string{metrics.Reason: reason}, metrics.Of(metrics.OrdersCancelled, 1)); err != nil {
			t.Fatal(err)
		}
	}
	recs := metricstest.Lines(t, append(append(buf.Bytes(), buf2.Bytes()...), buf3.Bytes()...))
	if len(recs) != len(records)+2+3 {
		t.Fatalf("%d lines", len(recs))
	}
	if n := len(recs[1].Metrics()); n != 100 {
		t.Errorf("the record at the limits has %d metrics", n)
	}
	wide := recs[2].Metrics()[0]
	if got := wide.Values; len(got) != 100 || got[0] != -50.5 {
		t.Errorf("array values = %v", got)
	}
	if len(wide.Dimensions) != 3 || len(wide.Dimensions[0]) != 30 || recs[2].Dimension("D29") != "v" || recs[2].Directives[0].Metrics[0].StorageResolution != 1 {
		t.Errorf("the wide metric: %+v, directive %+v", wide, recs[2].Directives[0])
	}
	if d := recs[3].Directives; len(d) != 2 || len(d[0].Metrics) != 99 || d[1].Metrics[0].Name != "Wide" {
		t.Errorf("99 metrics without dimensions and one wide: directives %+v", d)
	}
	if !recs[0].Timestamp.Equal(clock().Truncate(time.Millisecond)) {
		t.Errorf("timestamp %v, want the clock's millisecond", recs[0].Timestamp)
	}
}

// The validator the tests rely on refuses what the specification refuses.
func TestValidatorRefuses(t *testing.T) {
	const ok = `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["D"]],"Metrics":[{"Name":"M","Unit":"Count"}]}]},"D":"d","M":1}`
	if _, err := metricstest.Parse([]byte(ok + "\n")); err != nil {
		t.Fatalf("a valid line refused: %v", err)
	}
	keys, members := make([]string, 31), ""
	for i := range keys {
		keys[i] = fmt.Sprintf(`"D%02d"`, i)
		members += fmt.Sprintf(`,"D%02d":"d"`, i)
	}
	thirty := strings.Replace(ok, `[["D"]]`, "[["+strings.Join(keys[:30], ",")+"]]", 1) // 30 keys: allowed
	thirty = strings.Replace(thirty, `"M":1}`, `"M":1`+members+"}", 1)
	if _, err := metricstest.Parse([]byte(thirty)); err != nil {
		t.Fatalf("30 dimensions refused: %v", err)
	}
	thirtyOne := strings.Replace(thirty, "[["+strings.Join(keys[:30], ",")+"]]", "[["+strings.Join(keys, ",")+"]]", 1)
	for _, tc := range []struct{ name, line string }{
		{"no _aws", `{"M":1}`},
		{"text before the object", `INFO ` + ok},
		{"text after the object", ok + ` trailing`},
		{"two objects", ok + ok},
		{"two lines", strings.Replace(ok, `,"M":1`, ",\n"+`"M":1`, 1)},
		{"member twice", strings.Replace(ok, `"M":1}`, `"M":1,"M":2}`, 1)},
		{"timestamp not an integer", strings.Replace(ok, `"Timestamp":1`, `"Timestamp":"1"`, 1)},
		{"timestamp missing", strings.Replace(ok, `"Timestamp":1,`, ``, 1)},
		{"extra metadata member", strings.Replace(ok, `"Timestamp":1,`, `"Timestamp":1,"LogGroupName":"x",`, 1)},
		{"no namespace", strings.Replace(ok, `"Namespace":"N",`, ``, 1)},
		{"no dimensions", strings.Replace(ok, `"Dimensions":[["D"]],`, ``, 1)},
		{"empty dimensions array", strings.Replace(ok, `[["D"]]`, `[]`, 1)},
		{"dimension value missing", strings.Replace(ok, `"D":"d",`, ``, 1)},
		{"dimension value a number", strings.Replace(ok, `"D":"d"`, `"D":7`, 1)},
		{"metric value missing", strings.Replace(ok, `,"M":1`, ``, 1)},
		{"metric value a string", strings.Replace(ok, `"M":1`, `"M":"1"`, 1)},
		{"metric value an empty array", strings.Replace(ok, `"M":1`, `"M":[]`, 1)},
		{"metric value 101 numbers", strings.Replace(ok, `"M":1`, `"M":[`+strings.TrimSuffix(strings.Repeat("1,", 101), ",")+`]`, 1)},
		{"metric name empty", strings.Replace(ok, `"Name":"M"`, `"Name":""`, 1)},
		{"bad unit", strings.Replace(ok, `"Unit":"Count"`, `"Unit":"Cents"`, 1)},
		{"bad storage resolution", strings.Replace(ok, `"Unit":"Count"`, `"Unit":"Count","StorageResolution":5`, 1)},
		{"31 dimensions", thirtyOne},
		{"a dimension twice in a set", strings.Replace(ok, `[["D"]]`, `[["D","D"]]`, 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := metricstest.Parse([]byte(tc.line)); err == nil {
				t.Errorf("accepted %s", tc.line)
			}
		})
	}
}

// Records emitted concurrently come out as whole lines.
func TestConcurrentEmit(t *testing.T) {
	var out fixture.Buffer
	e, err := metrics.New(&out, metrics.Orderflow(), clock)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if err := e.Emit(nil, metrics.Of(metrics.OrdersPlaced, 1)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if recs := metricstest.Lines(t, []byte(out.String())); len(recs) != 50 {
		t.Errorf("%d records, want 50", len(recs))
	}
}

// A consumer's batch outcome is one record of RecordsFailed and RecordsParked, per Consumer; a
// consumer the catalog does not list writes nothing and says so in the log.
func TestConsumerOutcomes(t *testing.T) {
	var out, logs bytes.Buffer
	e, err := metrics.New(&out, metrics.Orderflow(), clock)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	metrics.ConsumerOutcomes(e, "payment", logger)(context.Background(), 2, 1)
	rec, err := metricstest.Parse(out.Bytes())
	if err != nil {
		t.Fatalf("%s: %v", out.String(), err)
	}
	got := map[string]float64{}
	for _, m := range rec.Metrics() {
		if m.Namespace != metrics.Namespace || m.Unit != string(metrics.Count) || len(m.Values) != 1 || len(m.Dimensions) != 1 || !slices.Equal(m.Dimensions[0], []string{metrics.Consumer}) {
			t.Errorf("metric %+v", m)
		}
		got[m.Name] = m.Values[0]
	}
	if rec.Dimension(metrics.Consumer) != "payment" || !maps.Equal(got, map[string]float64{metrics.RecordsFailed: 2, metrics.RecordsParked: 1}) {
		t.Errorf("record %s: consumer %q, metrics %v", out.String(), rec.Dimension(metrics.Consumer), got)
	}

	out.Reset()
	metrics.ConsumerOutcomes(e, "someone", logger)(context.Background(), 1, 0)
	if out.Len() != 0 || !strings.Contains(logs.String(), "batch metrics not emitted") {
		t.Errorf("an unknown consumer: wrote %q, logged %q", out.String(), logs.String())
	}
}

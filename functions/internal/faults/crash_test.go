package faults

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"
)

// fakeAWS answers the JSON protocols as DynamoDB and EventBridge do: table "conflict" refuses
// every write with ConditionalCheckFailedException, table "broken" answers 500; everything else
// succeeds. It counts the writes it accepted.
type fakeAWS struct {
	mu     sync.Mutex
	writes int
}

func (f *fakeAWS) accepted() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes
}

func (f *fakeAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct{ TableName string }
	_ = json.NewDecoder(r.Body).Decode(&body)
	_, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	switch {
	case body.TableName == "conflict":
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}`))
		return
	case body.TableName == "broken":
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"try again"}`))
		return
	}
	switch op {
	case "GetItem":
		_, _ = w.Write([]byte(`{"Item":{"pk":{"S":"order-1"}}}`))
	case "Query":
		_, _ = w.Write([]byte(`{"Items":[],"Count":0,"ScannedCount":0}`))
	case "PutEvents":
		f.count()
		_, _ = w.Write([]byte(`{"FailedEntryCount":0,"Entries":[{"EventId":"e-1"}]}`))
	default: // PutItem, UpdateItem, TransactWriteItems…
		f.count()
		_, _ = w.Write([]byte(`{}`))
	}
}

func (f *fakeAWS) count() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
}

// exits records the crashes instead of exiting, with the writes the server had accepted then.
type exits struct {
	mu          sync.Mutex
	codes       []int
	writesSoFar []int
}

func (e *exits) list() ([]int, []int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]int(nil), e.codes...), append([]int(nil), e.writesSoFar...)
}

// crashRig is an aws.Config instrumented by an Injector, pointed at a fakeAWS.
func crashRig(t *testing.T, config string) (aws.Config, *fakeAWS, *exits, *logLines) {
	t.Helper()
	cfg, err := Parse(config)
	if err != nil {
		t.Fatal(err)
	}
	server := &fakeAWS{}
	srv := httptest.NewServer(server)
	t.Cleanup(srv.Close)
	ex, logs := &exits{}, &logLines{}
	i := New(cfg, Options{Function: "orderflow-payment", Logger: logs.logger(), Exit: func(code int) {
		ex.mu.Lock()
		defer ex.mu.Unlock()
		ex.codes = append(ex.codes, code)
		ex.writesSoFar = append(ex.writesSoFar, server.accepted())
	}})
	awsCfg := i.Instrument(aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		BaseEndpoint:     aws.String(srv.URL),
		RetryMaxAttempts: 1,
	})
	return awsCfg, server, ex, logs
}

func put(table string) *dynamodb.PutItemInput {
	return &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "order-1"}}}
}

// At 100 %, every successful write crashes, after the server took it; reads and failed calls
// never do.
func TestCrashAfterWriteFollowsSuccessfulWritesOnly(t *testing.T) {
	awsCfg, server, ex, logs := crashRig(t, `{"crashAfterWrite":{"callPercentage":100}}`)
	db, bus := dynamodb.NewFromConfig(awsCfg), eventbridge.NewFromConfig(awsCfg)
	ctx := context.Background()
	key := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "order-1"}}

	if _, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("orders"), Key: key}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("orders")}); err != nil {
		t.Fatal(err)
	}
	var conflict *types.ConditionalCheckFailedException
	if _, err := db.PutItem(ctx, put("conflict")); !errors.As(err, &conflict) {
		t.Fatalf("conditional put: %v, want ConditionalCheckFailedException", err)
	}
	if _, err := db.PutItem(ctx, put("broken")); err == nil {
		t.Fatal("a 500 succeeded")
	}
	if codes, _ := ex.list(); len(codes) != 0 {
		t.Fatalf("crashed after a read or a failed call: %v", codes)
	}

	if _, err := db.PutItem(ctx, put("orders")); err != nil {
		t.Fatal(err)
	}
	if _, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{{Put: &types.Put{TableName: aws.String("orders"), Item: key}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("orders"), Key: key}); err != nil {
		t.Fatal(err)
	}
	if _, err := bus.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{Source: aws.String("orderflow.orders")}}}); err != nil {
		t.Fatal(err)
	}
	codes, writesSoFar := ex.list()
	if !reflect.DeepEqual(codes, []int{CrashExitCode, CrashExitCode, CrashExitCode, CrashExitCode}) {
		t.Errorf("exit codes %v, want four %d", codes, CrashExitCode)
	}
	if !reflect.DeepEqual(writesSoFar, []int{1, 2, 3, 4}) || server.accepted() != 4 {
		t.Errorf("writes accepted at each crash %v, want each crash after its own write", writesSoFar)
	}
	var ops []any
	for _, l := range logs.lines(t, "fault injected") {
		if l["kind"] != KindCrashAfterWrite || l["function"] != "orderflow-payment" || l["exitCode"] != float64(CrashExitCode) {
			t.Errorf("log line %v", l)
		}
		ops = append(ops, l["operation"])
	}
	if want := []any{"DynamoDB.PutItem", "DynamoDB.TransactWriteItems", "DynamoDB.UpdateItem", "EventBridge.PutEvents"}; !reflect.DeepEqual(ops, want) {
		t.Errorf("crashed after %v, want %v", ops, want)
	}
}

func TestCrashAfterWriteRate(t *testing.T) {
	const n = 2_000
	awsCfg, _, ex, _ := crashRig(t, `{"crashAfterWrite":{"callPercentage":10},"seed":5}`)
	db := dynamodb.NewFromConfig(awsCfg)
	for range n {
		if _, err := db.PutItem(context.Background(), put("orders")); err != nil {
			t.Fatal(err)
		}
		if _, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("orders"), Key: put("").Item}); err != nil {
			t.Fatal(err)
		}
	}
	if codes, _ := ex.list(); !within(len(codes), n, 0.10) {
		t.Errorf("%d crashes after %d writes, want about 10%%", len(codes), n)
	}
}

// With operations listed, only those writes crash.
func TestCrashAfterChosenWrites(t *testing.T) {
	awsCfg, _, ex, logs := crashRig(t, `{"crashAfterWrite":{"callPercentage":100,"operations":["DynamoDB.TransactWriteItems"]}}`)
	db := dynamodb.NewFromConfig(awsCfg)
	if _, err := db.PutItem(context.Background(), put("orders")); err != nil {
		t.Fatal(err)
	}
	if codes, _ := ex.list(); len(codes) != 0 {
		t.Fatalf("crashed after PutItem: %v", codes)
	}
	if _, err := db.TransactWriteItems(context.Background(), &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{{Put: &types.Put{TableName: aws.String("orders"), Item: put("").Item}}}}); err != nil {
		t.Fatal(err)
	}
	if codes, _ := ex.list(); len(codes) != 1 {
		t.Errorf("crashes %v, want one after TransactWriteItems", codes)
	}
	if lines := logs.lines(t, "fault injected"); len(lines) != 1 || lines[0]["operation"] != "DynamoDB.TransactWriteItems" {
		t.Errorf("log %v", lines)
	}
}

// Instrument leaves the config alone unless crashAfterWrite is armed, and never writes into
// the caller's APIOptions.
func TestInstrument(t *testing.T) {
	base := aws.Config{Region: "us-east-1", APIOptions: make([]func(*middleware.Stack) error, 1, 4)}
	var none *Injector
	for name, i := range map[string]*Injector{
		"nil":                 none,
		"invocation faults":   New(Config{InvocationTimeout: &Timeout{InvocationPercentage: 5}}, Options{}),
		"error and add-delay": New(Config{InvocationError: &InvocationError{InvocationPercentage: 5}, InvocationAddDelay: &AddDelay{InvocationPercentage: 5, StartupDelayMilliseconds: 5}}, Options{}),
	} {
		if got := i.Instrument(base); len(got.APIOptions) != 1 || &got.APIOptions[0] != &base.APIOptions[0] {
			t.Errorf("%s: APIOptions %d, want the caller's 1", name, len(got.APIOptions))
		}
	}
	got := New(Config{CrashAfterWrite: &CrashAfterWrite{CallPercentage: 5}}, Options{}).Instrument(base)
	if len(got.APIOptions) != 2 || base.APIOptions[:2][1] != nil {
		t.Errorf("armed: APIOptions %d (want 2); caller's spare capacity written: %v", len(got.APIOptions), base.APIOptions[:2][1] != nil)
	}
}

// Every write operation names a real client method of the service whose id it carries.
func TestWriteOperationsExist(t *testing.T) {
	clients := map[string]reflect.Type{
		dynamodb.ServiceID:    reflect.TypeFor[*dynamodb.Client](),
		sqs.ServiceID:         reflect.TypeFor[*sqs.Client](),
		eventbridge.ServiceID: reflect.TypeFor[*eventbridge.Client](),
		kinesis.ServiceID:     reflect.TypeFor[*kinesis.Client](),
		sfn.ServiceID:         reflect.TypeFor[*sfn.Client](),
	}
	for _, op := range WriteOperations() {
		service, name, _ := strings.Cut(op, ".")
		client, ok := clients[service]
		if !ok {
			t.Errorf("%s: no service with id %q", op, service)
			continue
		}
		if _, ok := client.MethodByName(name); !ok {
			t.Errorf("%s: %s has no method %s", op, client, name)
		}
	}
}

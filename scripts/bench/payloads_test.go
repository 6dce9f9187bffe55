package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/toolkit"
)

const repoRoot = "../.."

// Every function has a payload, and the environment its Config reads.
func TestEveryFunctionHasAPayloadAndItsEnvironment(t *testing.T) {
	all, err := payloads()
	if err != nil {
		t.Fatal(err)
	}
	names, err := functionNames(repoRoot, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 9 {
		t.Fatalf("functions %v", names)
	}
	for _, name := range append([]string{helloFunctionName}, names...) {
		p, ok := all[name]
		if !ok {
			t.Errorf("no payload for %s", name)
			continue
		}
		if p.Path == "" || !json.Valid(p.Event) || p.Expect == nil {
			t.Errorf("%s: payload %q %s", name, p.Path, p.Event)
		}
		env, err := functionEnv(name, repoRoot, "http://127.0.0.1:9", "/nonexistent", "/usr/bin")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		vars := map[string]string{}
		for _, kv := range env {
			k, v, _ := strings.Cut(kv, "=")
			vars[k] = v
		}
		if vars["AWS_ENDPOINT_URL"] != "http://127.0.0.1:9" || vars["AWS_MAX_ATTEMPTS"] != "1" || vars["AWS_REGION"] == "" || vars["HOME"] != "/nonexistent" {
			t.Errorf("%s: environment %v", name, env)
		}
		if name == helloFunctionName {
			continue
		}
		config, err := configEnv(filepath.Join(repoRoot, "functions", name, "main.go"))
		if err != nil || len(config) == 0 {
			t.Errorf("%s: Config variables %v, %v", name, config, err)
		}
		for _, c := range config {
			if vars[c] == "" {
				t.Errorf("%s: %s not set", name, c)
			}
			if strings.HasSuffix(c, "_URL") && !strings.HasPrefix(vars[c], "http://127.0.0.1:9/") {
				t.Errorf("%s: %s=%s does not name the refusing endpoint", name, c, vars[c])
			}
		}
	}
	if _, err := functionNames(repoRoot, "order-api,nope"); err == nil {
		t.Error("-functions accepted a folder that is not a function")
	}
}

func TestConfigEnv(t *testing.T) {
	dir := t.TempDir()
	src := "package main\n\ntype Config struct {\n\tA string `env:\"TABLE\"`\n\tB string `json:\"b\"`\n\tC string `env:\"DLQ_URL\" json:\"c\"`\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := configEnv(filepath.Join(dir, "main.go"))
	if err != nil || !reflect.DeepEqual(got, []string{"TABLE", "DLQ_URL"}) {
		t.Errorf("configEnv = %v, %v", got, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := configEnv(filepath.Join(dir, "main.go")); err == nil {
		t.Error("no Config: no error")
	}
	for name, want := range map[string]string{
		"MAX_RECEIVE_COUNT": "3",
		"QUEUE_CHANNELS":    notifyQueueARN + "=email",
		"STATE_MACHINE_ARN": stateMachineARN,
		"DLQ_URL":           "http://e/000000000000/orderflow-bench-dlq",
		"EVENT_STORE_TABLE": "orderflow-bench-event-store-table",
	} {
		if got := envValue(name, "http://e"); got != want {
			t.Errorf("envValue(%s) = %q, want %q", name, got, want)
		}
	}
}

// The events the payloads carry are valid, so that each invoke takes the path it names.
func TestPayloadEventsAreValid(t *testing.T) {
	b := &builder{}
	for _, e := range append(b.lifecycles(), b.customerFacing(1)...) {
		if _, err := events.FromEventBridge(b.eventBridge(e)); err != nil {
			t.Errorf("%s: %v", e.Type, err)
		}
	}
	if len(b.uncounted()) != benchBatchSize {
		t.Errorf("%d uncounted events", len(b.uncounted()))
	}
	for _, e := range b.uncounted() {
		if _, counts, err := toolkit.TotalsOf(e); counts || err != nil {
			t.Errorf("uncounted %s: analytics counts it (%v)", e.Type, err)
		}
	}
	var reserve struct{ Event json.RawMessage }
	if err := json.Unmarshal(b.reserveWrongID(), &reserve); err != nil {
		t.Fatal(err)
	}
	if _, err := events.Parse(reserve.Event); err == nil || !strings.Contains(err.Error(), "deterministic id") {
		t.Errorf("the wrong-id event: %v, want only its id refused", err)
	}
	if b.err != nil {
		t.Fatal(b.err)
	}
}

func TestExpectations(t *testing.T) {
	for _, tc := range []struct {
		name   string
		expect func([]byte) error
		good   string
		bad    []string
	}{
		{"json", func(a []byte) error { return wantJSON(a, `{"hello":"world"}`) }, `{"hello": "world"}`, []string{`{"hello":"you"}`, `nope`}},
		{"http", wantHTTP(400, "Idempotency-Key"), `{"statusCode":400,"body":"{\"error\":\"Idempotency-Key must be ...\"}"}`,
			[]string{`{"statusCode":201,"body":"Idempotency-Key"}`, `{"statusCode":400,"body":"other"}`, `null`}},
		{"error type", wantErrorType("InvalidInputError"), `{"errorMessage":"bad","errorType":"InvalidInputError"}`,
			[]string{`{"errorMessage":"bad","errorType":"TransientError"}`, `{"statusCode":200}`}},
		{"any error", wantErrorType(""), `{"errorMessage":"refused","errorType":"OperationError"}`, []string{`null`}},
		{"an error saying", wantError("", "PutRecord"), `{"errorMessage":"operation error Kinesis: PutRecord, refused","errorType":"OperationError"}`,
			[]string{`{"errorMessage":"operation error SQS: SendMessage, refused","errorType":"OperationError"}`, `null`}},
		{"failures", wantFailures(2), `{"batchItemFailures":[{"itemIdentifier":"a"},{"itemIdentifier":"b"}]}`,
			[]string{`{"batchItemFailures":[]}`, `{}`, `{"errorMessage":"x"}`}},
		{"no failures", wantFailures(0), `{"batchItemFailures":[]}`, []string{`{}`, `{"batchItemFailures":[{"itemIdentifier":"a"}]}`}},
	} {
		if err := tc.expect([]byte(tc.good)); err != nil {
			t.Errorf("%s: %s refused: %v", tc.name, tc.good, err)
		}
		for _, bad := range tc.bad {
			if tc.expect([]byte(bad)) == nil {
				t.Errorf("%s: %s accepted", tc.name, bad)
			}
		}
	}
}

func TestGoZipSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bootstrap")
	data := []byte(strings.Repeat("orderflow ", 10000))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := goZipSize(path)
	if err != nil || n <= zipHeaderBytes || n >= int64(len(data)) {
		t.Errorf("zip of %d compressible bytes: %d, %v", len(data), n, err)
	}
}

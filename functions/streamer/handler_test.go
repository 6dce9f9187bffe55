package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
)

type put struct{ key, data string }

type recordingStream struct {
	puts []put
	err  error
}

func (s *recordingStream) Put(_ context.Context, key string, data []byte) (string, error) {
	if s.err != nil {
		return "", s.err
	}
	s.puts = append(s.puts, put{key, string(data)})
	return "49590338271490256608559692538361571095921575989136588898", nil
}

// A legacy OrderPlaced whose payment token breaks its pattern is parked, saying which field, but
// neither the reason nor the log line quotes the token: it is a secret.
func TestParkedReasonKeepsTheTokenOut(t *testing.T) {
	detail := strings.Replace(string(events.Sample(events.TypeOrderPlaced, 1)), `"tok_declined"`, `"tok_secret.9f3a"`, 1)
	raw := `{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"OrderPlaced","source":"orderflow.orders",` +
		`"account":"000000000000","time":"2026-03-14T10:26:53Z","region":"us-east-1","resources":[],"detail":` + detail + `}`
	var logs strings.Builder
	d := &fixture.DLQ{}
	if err := newHandler(&recordingStream{}, d, slog.New(slog.NewJSONHandler(&logs, nil))).Handle(context.Background(), []byte(raw)); err != nil {
		t.Fatal(err)
	}
	if len(d.Reasons()) != 1 || !strings.Contains(d.Reasons()[0], "/detail/payload/paymentToken") {
		t.Fatalf("parked %v, want one reason naming /detail/payload/paymentToken", d.Reasons())
	}
	if strings.Contains(d.Reasons()[0], "tok_secret") || strings.Contains(logs.String(), "tok_secret") {
		t.Errorf("the token leaked: reason %q, logs %s", d.Reasons()[0], logs.String())
	}
}

func TestStream(t *testing.T) {
	id := fixture.OrderID(1)
	good := fixture.EventBridge(t, fixture.Placed(t, id, "tok_visa"))
	tests := []struct {
		name       string
		raw        string
		streamErr  error
		dlqErr     error
		wantErr    bool
		wantPut    bool
		wantParked string
	}{
		{name: "valid event streamed whole, keyed by order", raw: string(good), wantPut: true},
		{name: "not json parked", raw: `"x"`, wantParked: "not an EventBridge event"},
		{name: "schema break parked", raw: strings.Replace(string(good), `"paymentIntentId":"pi_`, `"paymentIntentId":"pix_`, 1), wantParked: "paymentIntentId"},
		{name: "payment token in an OrderPlaced v3 parked", raw: strings.Replace(string(good), `"paymentIntentId":`, `"paymentToken":"tok_visa","paymentIntentId":`, 1), wantParked: "paymentToken"},
		{name: "source lies parked", raw: strings.Replace(string(good), `"source":"orderflow.orders","time"`, `"source":"orderflow.payments","time"`, 1), wantParked: "/source"},
		{name: "stream throttled: retried", raw: string(good), streamErr: errors.New("ProvisionedThroughputExceededException"), wantErr: true},
		{name: "dead-letter queue down: retried", raw: "{", dlqErr: errors.New("down"), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, d := &recordingStream{err: tc.streamErr}, &fixture.DLQ{Err: tc.dlqErr}
			err := newHandler(s, d, slog.New(slog.NewTextHandler(io.Discard, nil))).Handle(context.Background(), []byte(tc.raw))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if tc.wantPut != (len(s.puts) == 1) {
				t.Fatalf("puts = %v", s.puts)
			}
			if tc.wantPut {
				if s.puts[0].key != id || s.puts[0].data != tc.raw {
					t.Errorf("put %+v", s.puts[0])
				}
				if _, err := events.FromEventBridge([]byte(s.puts[0].data)); err != nil {
					t.Errorf("streamed data is not the EventBridge event: %v", err)
				}
			}
			if tc.wantParked != "" && (len(d.Reasons()) != 1 || !strings.Contains(d.Reasons()[0], tc.wantParked)) {
				t.Errorf("parked %v, want a reason with %q", d.Reasons(), tc.wantParked)
			}
			if tc.wantParked == "" && len(d.Reasons()) != 0 {
				t.Errorf("parked %v", d.Reasons())
			}
		})
	}
}

package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSandboxCharge(t *testing.T) {
	for _, tc := range []struct {
		token      string
		attempt    int
		want       Result
		wantErr    bool
		wantErrIs  error
		noIdempKey bool
	}{
		{token: "tok_visa", attempt: 1, want: Result{Approved: true}},
		{token: "tok_declined", attempt: 1, want: Result{Reason: "card-declined"}},
		{token: "tok_processing_error", attempt: 1, wantErr: true, wantErrIs: ErrProcessing},
		{token: "tok_processing_error", attempt: 2, want: Result{Approved: true}},
		{token: "tok_processing_error", attempt: 3, want: Result{Approved: true}},
		{token: "tok_provider_slow", attempt: 1, wantErr: true, wantErrIs: ErrProcessing},
		{token: "tok_provider_slow", attempt: 2, wantErr: true, wantErrIs: ErrProcessing},
		{token: "tok_provider_slow", attempt: 3, want: Result{Approved: true}},
		{token: "tok_mystery", attempt: 1, want: Result{Reason: "unknown-token"}},
		{token: "tok_visa", attempt: 1, noIdempKey: true, wantErr: true},
	} {
		t.Run(fmt.Sprintf("%s/%d", tc.token, tc.attempt), func(t *testing.T) {
			req := ChargeRequest{IdempotencyKey: "pay-1", Token: Token(tc.token), AmountCents: 4999, Currency: "USD", Attempt: tc.attempt}
			if tc.noIdempKey {
				req.IdempotencyKey = ""
			}
			got, err := Sandbox{}.Charge(context.Background(), req)
			if got != tc.want || (err != nil) != tc.wantErr || (tc.wantErrIs != nil && !errors.Is(err, tc.wantErrIs)) {
				t.Errorf("Charge = %+v, %v; want %+v, error %v", got, err, tc.want, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), tc.token) {
				t.Errorf("the error names the token: %v", err)
			}
		})
	}
	if err := (Sandbox{}).Refund(context.Background(), "pay-1"); err != nil {
		t.Errorf("Refund = %v", err)
	}
	if err := (Sandbox{}).Refund(context.Background(), ""); err == nil {
		t.Error("a refund without a key was accepted")
	}
}

// A token printed, logged or encoded by mistake reads [redacted].
func TestTokenRedacted(t *testing.T) {
	const secret = "tok_visa"
	req := ChargeRequest{IdempotencyKey: "pay-1", Token: secret, AmountCents: 4999}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("charge", "token", req.Token, "request", req)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("charge", "token", req.Token, "request", req)
	js, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{
		fmt.Sprint(req.Token), fmt.Sprintf("%v %+v %#v %s %q %x %d", req, req, req, req.Token, req.Token, req.Token, req.Token),
		fmt.Errorf("charge %v", req).Error(), logs.String(), string(js),
	} {
		if strings.Contains(out, secret) {
			t.Errorf("token leaked: %s", out)
		}
	}
	if req.Token.Reveal() != secret {
		t.Errorf("Reveal = %q", req.Token.Reveal())
	}
}

package deployed

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// endpoint points the SDK at url with test credentials, no shared config and one attempt per call.
func endpoint(t *testing.T, url string) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": url, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_MAX_ATTEMPTS": "1", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
	} {
		t.Setenv(k, v)
	}
}

// The deploy hint comes where it fits, a stack that is not there or nothing listening, and a
// timeout says it timed out instead.
func TestLoadSaysWhatTheFailureMeans(t *testing.T) {
	missing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type>` +
			`<Code>ValidationError</Code><Message>Stack with id Orderflow does not exist</Message></Error><RequestId>1</RequestId></ErrorResponse>`))
	}))
	defer missing.Close()
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(hang)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close() // nothing listens there now

	for _, tc := range []struct {
		name, url string
		timeout   time.Duration
		want      string
		not       string
	}{
		{"no such stack", missing.URL, time.Minute, "(is it deployed? `make deploy-local`)", "timed out"},
		{"connection refused", closed, time.Minute, "nothing listens at " + closed + ": is the emulator up? `make up`, then `make deploy-local`", "timed out"},
		{"the command's timeout, 1ms", slow.URL, time.Millisecond, "timed out: the command's time ran out", "deploy"},
		{"the command's timeout", slow.URL, 200 * time.Millisecond, "timed out: the command's time ran out before the endpoint answered; if it has a -timeout, give it longer", "deploy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			endpoint(t, tc.url)
			ctx, cancel := context.WithTimeout(context.Background(), tc.timeout)
			defer cancel()
			_, err := Load(ctx)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), tc.not) {
				t.Errorf("Load: %v; want %q in it, not %q", err, tc.want, tc.not)
			}
		})
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// A timeout of Load's own (the endpoint too slow, the command's time left) is no deploy matter;
// an error that says nothing of the cause gets no advice.
func TestHintOfATimeoutOrAnOtherError(t *testing.T) {
	if h := hint(context.Background(), &net.OpError{Op: "read", Err: timeoutErr{}}, "http://127.0.0.1:4566"); !strings.Contains(h, "timed out: no answer from http://127.0.0.1:4566 within 30s") {
		t.Errorf("hint of a network timeout = %q", h)
	}
	if h := hint(context.Background(), errors.New("AccessDenied"), ""); h != "" {
		t.Errorf("hint of another error = %q, want none", h)
	}
}

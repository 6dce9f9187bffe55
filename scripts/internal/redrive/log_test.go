package redrive

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// Each queue's line says how many messages it handled, in the singular for one, and a queue not
// read to the end says so rather than "handled" alone; names longer than the column keep it
// aligned.
func TestRedriveLogSaysWhatEachQueueCameTo(t *testing.T) {
	old := time.Now().Add(-time.Hour)
	f := &fakeSQS{queues: map[string][]*fakeMsg{}, unreadable: map[string]error{"email-dlq": context.DeadlineExceeded}}
	f.add("sms-dlq", "hello", "", old)
	sources := []Source{
		{Name: "email", DLQURL: "email-dlq", Target: ToQueue, Destination: "email"},
		{Name: "sms", DLQURL: "sms-dlq", Target: ToQueue, Destination: "sms"},
		{Name: "a-rather-long-queue-name", DLQURL: "long-dlq", Target: ToQueue, Destination: "long"},
	}
	var log bytes.Buffer
	_, err := Redrive(context.Background(), Clients{SQS: f}, sources, Options{DryRun: true, Log: &log})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the email DLQ's deadline", err)
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	want := map[string]string{
		"email:": "email:                    0 messages handled, then stopped: not read to the end (email-dlq)",
		"sms:":   "sms:                      1 message handled (sms-dlq)",
		"a-rath": "a-rather-long-queue-name: 0 messages handled (long-dlq)",
		"sms  ":  "sms                      m1  ",
	}
	for prefix, line := range want {
		found := false
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				found = true
				if !strings.HasPrefix(l, line) {
					t.Errorf("line %q, want %q", l, line)
				}
			}
		}
		if !found {
			t.Errorf("no line %q in\n%s", line, log.String())
		}
	}
}

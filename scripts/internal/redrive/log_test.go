package redrive

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
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

// gatedSQS holds the first source's receive until the second source's has been asked for, so
// a run that reads its sources one after another never ends that wait.
type gatedSQS struct {
	*fakeSQS
	second chan struct{}
	once   sync.Once
}

func (g *gatedSQS) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, o ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	switch *in.QueueUrl {
	case "email-dlq":
		select {
		case <-g.second:
		case <-time.After(5 * time.Second):
			return nil, errors.New("the sms DLQ was not read while the email DLQ was being read")
		}
	case "sms-dlq":
		g.once.Do(func() { close(g.second) })
	}
	return g.fakeSQS.ReceiveMessage(ctx, in, o...)
}

// The sources are read at once, and the log still reads source by source, in their order: the
// sms DLQ, read to its end first, is told after the email DLQ.
func TestRedriveReadsTheSourcesAtOnceAndLogsThemInOrder(t *testing.T) {
	old := time.Now().Add(-time.Hour)
	f := &fakeSQS{queues: map[string][]*fakeMsg{}}
	f.add("email-dlq", "to e-mail", "", old)
	f.add("sms-dlq", "to sms", "", old)
	sources := []Source{
		{Name: "email", DLQURL: "email-dlq", Target: ToQueue, Destination: "email"},
		{Name: "sms", DLQURL: "sms-dlq", Target: ToQueue, Destination: "sms"},
	}
	var log bytes.Buffer
	rep, err := Redrive(context.Background(), Clients{SQS: &gatedSQS{fakeSQS: f, second: make(chan struct{})}}, sources, Options{Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range strings.Split(log.String(), "\n") {
		if l != "" && l[0] != ' ' {
			got = append(got, strings.Fields(l)[0])
		}
	}
	if want := []string{"email", "email:", "sms", "sms:"}; !slices.Equal(got, want) {
		t.Errorf("the log's lines begin %q, want %q:\n%s", got, want, log.String())
	}
	if len(rep.Results) != 2 || rep.Results[0].Source != "email" || rep.Moved != 2 {
		t.Errorf("report %+v, want email's message then sms's, both moved", rep)
	}
}

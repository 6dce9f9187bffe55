package redrive

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// skewedSQS serves SQS's JSON protocol from a clock behind the client's by behind: its Date
// headers and SentTimestamps are read from that clock, as a real service's are from its own. A
// message sent to the source queue fails again at once: the service parks it in the DLQ anew
// (a new message, stamped now), as a consumer that still cannot take it does, up to reparks times.
type skewedSQS struct {
	behind  time.Duration
	dateLag time.Duration // how far behind its clock its Date header is stamped (a long poll; a cached Date)
	reparks int

	mu   sync.Mutex
	dlq  []*skewedMsg
	sent int // messages sent to the source queue
	next int
}

type skewedMsg struct {
	id, body string
	sent     time.Time
	hidden   bool
}

func (s *skewedSQS) now() time.Time { return time.Now().Add(-s.behind) }

func (s *skewedSQS) park(body string, sent time.Time) {
	s.next++
	s.dlq = append(s.dlq, &skewedMsg{id: "m" + strconv.Itoa(s.next), body: body, sent: sent})
}

func (s *skewedSQS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var in struct {
		QueueUrl          string
		ReceiptHandle     string
		MessageBody       string
		VisibilityTimeout int
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]any{}
	switch target := r.Header.Get("X-Amz-Target"); target {
	case "AmazonSQS.ReceiveMessage":
		var msgs []map[string]any
		for _, m := range s.dlq {
			if m.hidden || len(msgs) == 10 {
				continue
			}
			m.hidden = in.VisibilityTimeout > 0
			sum := md5.Sum([]byte(m.body))
			msgs = append(msgs, map[string]any{"MessageId": m.id, "ReceiptHandle": m.id, "Body": m.body, "MD5OfBody": hex.EncodeToString(sum[:]),
				"Attributes": map[string]string{"SentTimestamp": strconv.FormatInt(m.sent.UnixMilli(), 10)}})
		}
		out["Messages"] = msgs
	case "AmazonSQS.SendMessage":
		s.sent++
		if s.sent <= s.reparks {
			s.park(in.MessageBody, s.now())
		}
		sum := md5.Sum([]byte(in.MessageBody))
		out["MessageId"], out["MD5OfMessageBody"] = "sent-"+strconv.Itoa(s.sent), hex.EncodeToString(sum[:])
	case "AmazonSQS.DeleteMessage", "AmazonSQS.ChangeMessageVisibility":
		for i, m := range s.dlq {
			if m.id != in.ReceiptHandle {
				continue
			}
			if target == "AmazonSQS.DeleteMessage" {
				s.dlq = append(s.dlq[:i], s.dlq[i+1:]...)
			} else {
				m.hidden = in.VisibilityTimeout > 0
			}
			break
		}
	default:
		http.Error(w, "not served: "+target, http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("Date", s.now().Add(-s.dateLag).UTC().Format(http.TimeFormat))
	_ = json.NewEncoder(w).Encode(out)
}

// A message this run re-parks is left for the next run, by SQS's clock and not the machine's: with
// the machine's clock an hour ahead of the service's, the re-parked message's SentTimestamp is
// before the run's start as the machine reads it, and a run reading that clock takes it again, and
// again, for as long as it keeps failing. Against a service whose clock agrees (the emulator, on the
// same machine), the message parked a moment before the run moves, and one re-parked within the
// run's first millisecond (SentTimestamp's unit; this fake answers that fast) is still left.
func TestRedriveLeavesWhatItReparksWhateverTheClocks(t *testing.T) {
	for _, tc := range []struct {
		name    string
		behind  time.Duration
		dateLag time.Duration
		before  time.Duration // how long before the run the message was parked, by the service's clock
	}{
		{name: "the service's clock an hour behind", behind: time.Hour, before: time.Minute},
		{name: "the service's clock an hour ahead", behind: -time.Hour, before: time.Minute},
		{name: "the clocks agree; parked just before the run", before: 50 * time.Millisecond},
		{name: "the clocks agree, the Date header two seconds late; parked a second and a half before the run", dateLag: 2 * time.Second, before: 1500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := &skewedSQS{behind: tc.behind, dateLag: tc.dateLag, reparks: 5}
			svc.park(`{"order":"ORD-1"}`, svc.now().Add(-tc.before))
			srv := httptest.NewServer(svc)
			defer srv.Close()
			client := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1})
			src := Source{Name: "payments", DLQURL: srv.URL + "/dlq", Target: ToQueue, Destination: srv.URL + "/queue"}

			rep, err := Redrive(context.Background(), Clients{SQS: client}, []Source{src}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			svc.mu.Lock()
			defer svc.mu.Unlock()
			if rep.Moved != 1 || svc.sent != 1 {
				t.Errorf("moved %d, sent %d to the queue; want the one parked before the run moved once, and what it re-parked left", rep.Moved, svc.sent)
			}
			if len(svc.dlq) != 1 || svc.dlq[0].hidden {
				t.Errorf("DLQ %+v; want the re-parked message, visible for the next run", svc.dlq)
			}
		})
	}
}

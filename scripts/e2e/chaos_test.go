//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/orderflow-dev/orderflow/scripts/internal/chaos"
	"github.com/orderflow-dev/orderflow/scripts/internal/cli"
	"github.com/orderflow-dev/orderflow/scripts/internal/load"
)

// TestChaos is `make chaos` on a small run: the default experiment, armed at run time by changing
// each function's ORDERFLOW_FAULTS (put back when it ends), 40 orders of mixed outcomes, 10 in
// flight, dead letters redriven while they run, and the same reconciliation. To keep it near a
// minute, it spares what only costs time (make chaos has it all): order-api's crashes, each of
// which holds an Idempotency-Key for its 30 s lease before a retry may take over; the payment
// function's crashes, since one crash fails the whole batch it handles (up to ten messages, each
// several writes: most batches would crash) and each failed receive waits out the payments
// queue's 30 s visibility; and the notifier's faults, whose queues' visibility is 60 s. The
// payment function's crash after each step is explored exhaustively by its unit tests. It arms faults in the stack every other test shares, so it must run alone:
// the Makefile runs it in a go test of its own, after the others (it does not call t.Parallel,
// so even in the same run no parallel test overlaps it).
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("a chaos run takes minutes")
	}
	ctx := context.Background()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, err := cli.Root(wd)
	if err != nil {
		t.Fatal(err)
	}
	functions, err := chaos.Functions(root)
	if err != nil {
		t.Fatal(err)
	}
	faults, err := chaos.DefaultFaults(functions)
	if err != nil {
		t.Fatal(err)
	}
	lostAnswers := fmt.Sprintf(`"invocationError":{"invocationPercentage":%d,"preventExecution":false}`, chaos.ErrorPercentage)
	faults["order-api"] = "{" + lostAnswers + "}"
	faults["payment"] = fmt.Sprintf(`{%s,"invocationAddDelay":{"invocationPercentage":%d,"startupDelayMilliseconds":%d}}`, lostAnswers, chaos.DelayPercentage, chaos.DelayMillis)
	delete(faults, "notifier")
	fns := lambda.NewFromConfig(stack.AWS)
	names := chaos.Names(stack.Outputs, functions)
	restore, err := chaos.Arm(ctx, fns, names, faults)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := restore(ctx); err != nil {
			t.Errorf("faults left armed: %v", err)
		}
		if armed, err := chaos.ArmedFaults(ctx, fns, names); err != nil || len(armed) > 0 {
			t.Errorf("after the test, faults armed in %v (%v)", armed, err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	armed, err := chaos.ArmedFaults(ctx, fns, names)
	if err != nil || len(armed) != len(faults) {
		t.Fatalf("armed %d functions (%v), want %d", len(armed), err, len(faults))
	}

	res, err := chaos.Run(ctx, stack, chaos.Options{
		Load: load.Config{Orders: 40, Concurrency: 10, SKU: "SKU-100", Token: "tok_visa", Dir: root, Endpoint: os.Getenv("AWS_ENDPOINT_URL"),
			Timeout: 5 * time.Minute},
		Armed: armed, Every: 5 * time.Second, Drain: 3 * time.Minute, Log: logWriter{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := res.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())
	for _, c := range res.Report.Checks {
		for _, v := range c.Violations {
			t.Errorf("%s: %s", c.Name, v)
		}
	}
	if res.Report.Outcomes["SHIPPED"] == 0 || res.Report.Outcomes["CANCELLED (fulfilment-failed)"] == 0 || res.Report.Outcomes["CANCELLED (payment-declined)"] == 0 {
		t.Errorf("outcomes %v: want shipped, refused (refunded) and declined orders", res.Report.Outcomes)
	}
}

// logWriter sends progress lines to the test's log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

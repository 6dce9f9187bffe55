// Command rescue hands to the rescuer the order-fulfilment executions that stopped (failed,
// timed out, aborted) without compensating and without a rescue: those whose status-change
// event Step Functions never delivered (its delivery is best effort). Run it when an
// executions alarm fires and no rescue-… execution followed (`make rescue`).
//
//	go run ./scripts/rescue [-since 24h] [-dry-run]
//
// It talks to whatever endpoint the AWS SDK is configured for (AWS_ENDPOINT_URL for an emulator).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/orderflow-dev/orderflow/scripts/internal/cli"
	"github.com/orderflow-dev/orderflow/scripts/internal/deployed"
	"github.com/orderflow-dev/orderflow/scripts/internal/rescue"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes: 0 every stalled execution is compensated or rescued (or, with -dry-run, would be
// handed over), 1 one still needs an operator or could not be handled, 2 usage.
func run(args []string, stdout, stderr io.Writer) int {
	fs := cli.Flags("rescue", "go run ./scripts/rescue [-since 24h] [-dry-run]", stderr)
	since := fs.Duration("since", 24*time.Hour, "look at executions that stopped within this long")
	dryRun := fs.Bool("dry-run", false, "say what would be handed to the rescuer, hand nothing")
	if code, done := cli.Parse(fs, args); done {
		return code
	}
	if fs.NArg() > 0 || *since <= 0 {
		fmt.Fprintln(stderr, "rescue: -since must be positive, and nothing else is taken")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	stack, err := deployed.Load(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "rescue:", err)
		return 1
	}
	results, err := rescue.Sweep(ctx, sfn.NewFromConfig(stack.AWS), lambda.NewFromConfig(stack.AWS), rescue.Options{
		StateMachineARN: stack.Output("StateMachineArn"), Rescuer: stack.Output("RescuerFunctionName"),
		Since: time.Now().Add(-*since), DryRun: *dryRun,
	})
	code := 0
	for _, r := range results {
		what := r.Outcome
		if r.Err != nil {
			what, code = "not handled: "+r.Err.Error(), 1
		} else if r.Outcome == rescue.NoneStarted || r.Outcome == rescue.IsRescue || r.Outcome == rescue.RefundFailed {
			code = 1
		}
		fmt.Fprintf(stdout, "%s %s%s: %s\n", r.Status, r.Execution, errorOf(r.Error), what)
	}
	if err != nil {
		fmt.Fprintln(stderr, "rescue:", err)
		return 1
	}
	noun := "executions"
	if len(results) == 1 {
		noun = "execution"
	}
	fmt.Fprintf(stdout, "%d stalled %s stopped in the last %s\n", len(results), noun, *since)
	return code
}

func errorOf(e string) string {
	if e == "" {
		return ""
	}
	return " (" + e + ")"
}

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
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/orderflow-dev/orderflow/functions/toolkit"
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
	if code, done := cli.ParseFlags(fs, args); done {
		return code
	}
	if *since <= 0 {
		fmt.Fprintf(stderr, "rescue: -since %s: must be positive\n", *since)
		return cli.Usage
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	stack, err := deployed.Load(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "rescue:", err)
		return cli.Failed
	}
	results, err := rescue.Sweep(ctx, sfn.NewFromConfig(stack.AWS), lambda.NewFromConfig(stack.AWS), rescue.Options{
		StateMachineARN: stack.Output("StateMachineArn"), Rescuer: stack.Output("RescuerFunctionName"),
		Since: time.Now().Add(-*since), DryRun: *dryRun,
	})
	return report(results, err, *since, stdout, stderr)
}

// report prints what became of each execution, then the summary, and returns the exit code: 1
// when one needs an operator (or the listing failed), which is what the summary counts.
func report(results []rescue.Result, err error, since time.Duration, stdout, stderr io.Writer) int {
	code := cli.OK
	for _, r := range results {
		what := r.Outcome
		if r.Err != nil {
			what = "not handled: " + r.Err.Error()
		}
		if needsOperator(r) {
			code = cli.Failed
		}
		fmt.Fprintf(stdout, "%s %s%s: %s\n", r.Status, r.Execution, errorOf(r.Error), what)
	}
	if err != nil {
		fmt.Fprintln(stderr, "rescue:", err)
		return cli.Failed
	}
	fmt.Fprintln(stdout, summary(results, since))
	return code
}

// needsOperator says whether r is left for an operator: it could not be handled, the rescuer
// started no rescue, it is a rescue that failed (never rescued again), or its refund failed.
func needsOperator(r rescue.Result) bool {
	return r.Err != nil || r.Outcome == rescue.NoneStarted || r.Outcome == rescue.IsRescue || r.Outcome == rescue.RefundFailed
}

// summary counts the executions that stopped by what they were. Stalled is what the README and
// the rescue rule mean by it: an order's execution that failed without compensating, timed out
// or was aborted; one that compensated itself (RefundFailed too: it compensated) is not, and a
// rescue-… execution is a rescue, whatever its end. Last, how many need an operator: exactly
// those that make the run exit 1.
func summary(results []rescue.Result, since time.Duration) string {
	var stalled, compensated, rescues, unknown, operator int
	for _, r := range results {
		switch {
		case r.Err != nil:
			unknown++
		case strings.HasPrefix(r.Execution, toolkit.RescuePrefix) || r.Outcome == rescue.IsRescue:
			rescues++
		case r.Outcome == rescue.Compensated || r.Outcome == rescue.RefundFailed:
			compensated++
		default:
			stalled++
		}
		if needsOperator(r) {
			operator++
		}
	}
	s := fmt.Sprintf("%s stopped (failed, timed out or aborted) in the last %s: %d stalled (stopped without compensating), %d compensated without a rescue",
		cli.Plural(len(results), "execution"), since, stalled, compensated)
	if rescues > 0 {
		s += ", " + cli.Plural(rescues, "rescue") + " (rescue-… executions: never rescued again)"
	}
	if unknown > 0 {
		s += fmt.Sprintf(", %d could not be told (not handled, above)", unknown)
	}
	return s + fmt.Sprintf("; %d need an operator", operator)
}

func errorOf(e string) string {
	if e == "" {
		return ""
	}
	return " (" + e + ")"
}

// Command chaos places N orders at concurrency C through a stack deployed with faults armed in
// its functions (`make chaos` deploys it so), a mix of approved, declined and refused ones,
// redriving the dead-letter queues while it waits, then reconciles as `make load` does, plus:
// every refund done once, every dead letter explained by its reason and redriven, faults
// actually injected. It prints the reconciliation and exits 1 on any violation.
//
//	go run ./scripts/chaos -print-faults   # the default experiment, as the CDK app's faults context value
//	go run ./scripts/chaos -n 300 -c 30    # `make chaos`, once deployed with -c faults='…'
//
// It talks to whatever endpoint the AWS SDK is configured for (AWS_ENDPOINT_URL for an emulator).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/orderflow-dev/orderflow/scripts/internal/chaos"
	"github.com/orderflow-dev/orderflow/scripts/internal/cli"
	"github.com/orderflow-dev/orderflow/scripts/internal/deployed"
	"github.com/orderflow-dev/orderflow/scripts/internal/load"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes: 0 every check passed, 1 a violation or a failed run, 2 usage, 130 interrupted
// (Ctrl-C) before the report.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var cfg load.Config
	var out string
	var printFaults bool
	fs := cli.Flags("chaos", "go run ./scripts/chaos [-print-faults] [-n 300] [-c 30] [-out DIR]", stderr)
	fs.BoolVar(&printFaults, "print-faults", false, "print the default experiment as the CDK app's faults context value, and exit")
	fs.IntVar(&cfg.Orders, "n", 300, "orders to place")
	fs.IntVar(&cfg.Concurrency, "c", 30, "requests in flight")
	fs.DurationVar(&cfg.Timeout, "timeout", 0, "for every order to end, from the first POST (default 8m + 0.5s × N)")
	fs.StringVar(&out, "out", "", "directory for report.md and report.json (default .emulator/chaos/<start time>/)")
	if code, done := cli.Parse(fs, args); done {
		return code
	}
	if fs.NArg() > 0 || cfg.Orders < 1 || cfg.Concurrency < 1 || cfg.Timeout < 0 {
		fs.Usage()
		return 2
	}
	if err := load.OutDir(out); err != nil {
		fmt.Fprintln(stderr, "chaos:", err)
		return 2
	}
	fail := func(err error) int { return cli.Fail(ctx, stderr, "chaos", err) }
	wd, err := os.Getwd()
	if err != nil {
		return fail(err)
	}
	root, err := cli.Root(wd)
	if err != nil {
		return fail(err)
	}
	functions, err := chaos.Functions(root)
	if err != nil {
		return fail(err)
	}
	if printFaults {
		faults, err := chaos.DefaultFaults(functions)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintln(stdout, chaos.Encode(faults))
		return 0
	}

	stack, err := deployed.Load(ctx)
	if err != nil {
		return fail(err)
	}
	// What is armed is read from the functions themselves, not taken on trust.
	armed, err := chaos.ArmedFaults(ctx, lambda.NewFromConfig(stack.AWS), chaos.Names(stack.Outputs, functions))
	if err != nil {
		return fail(err)
	}
	if len(armed) == 0 {
		return fail(errors.New("no function of the stack has faults armed: deploy with -c faults='…' first (make chaos does)"))
	}
	cfg.Dir, cfg.Endpoint = root, os.Getenv("AWS_ENDPOINT_URL")
	cfg.SKU, cfg.Token = "SKU-100", "tok_visa" // the report's names for the main line of the mix
	fmt.Fprintf(stderr, "chaos: faults armed in %d functions\n", len(armed))
	res, err := chaos.Run(ctx, stack, chaos.Options{Load: cfg, Armed: armed, Log: stderr})
	if err != nil {
		return fail(err)
	}
	if out == "" {
		out = filepath.Join(root, ".emulator", "chaos", res.Report.Started.UTC().Format("20060102-150405"))
	}
	return finish(res, out, stdout, stderr)
}

// finish writes res's reports (to stdout, and to out) and says on stderr how the run ended, as
// load does: its violations, or the checks it could not make. It returns the exit code.
func finish(res *chaos.Result, out string, stdout, stderr io.Writer) int {
	if err := load.WriteReports(stdout, out, res.WriteMarkdown, res.WriteJSON); err != nil {
		fmt.Fprintln(stderr, "chaos:", err)
		return cli.Failed
	}
	return res.Report.Exit(stderr, "chaos")
}

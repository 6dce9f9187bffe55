// Command load places N orders at concurrency C through a deployed stack's API (signed-in
// customers, one Idempotency-Key per order), waits for every order to end, reconciles what the
// services recorded and reports latencies, where the time goes per hop, and, on a local
// MiniStack, the CPU the emulator and its functions used. It exits 1 on any violation. A check it
// could not make (analytics' totals unread, or moved by executions of an earlier run too) is
// reported "not checked", never "ok", and fails nothing: nothing was found broken.
//
//	go run ./scripts/load -n 100 -c 10                # `make load N=100 C=10`
//	go run ./scripts/load -n 1000 -c 20 -out results/ # the report's directory
//
// It talks to whatever endpoint the AWS SDK is configured for (AWS_ENDPOINT_URL for an emulator).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/orderflow-dev/orderflow/scripts/internal/catalogue"
	"github.com/orderflow-dev/orderflow/scripts/internal/cli"
	"github.com/orderflow-dev/orderflow/scripts/internal/deployed"
	"github.com/orderflow-dev/orderflow/scripts/internal/load"
	"github.com/orderflow-dev/orderflow/scripts/internal/shop"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes: 0 no violation (every check passed, or some were not made: the report and stderr
// say which), 1 a violation or a failed run, 2 usage, 130 interrupted (Ctrl-C) before the report.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, out, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err == nil {
		err = load.OutDir(out)
	}
	if err != nil {
		fmt.Fprintln(stderr, "load:", err)
		return 2
	}
	stack, err := deployed.Load(ctx)
	if err != nil {
		return cli.Fail(ctx, stderr, "load", err)
	}
	cfg.Log = stderr
	cfg.Endpoint = os.Getenv("AWS_ENDPOINT_URL")
	if cfg.Dir, err = os.Getwd(); err != nil {
		fmt.Fprintln(stderr, "load:", err)
		return 1
	}
	r, err := load.Run(ctx, stack, cfg)
	if err != nil {
		return cli.Fail(ctx, stderr, "load", err)
	}
	if out == "" {
		out = filepath.Join(".emulator", "load", r.Started.UTC().Format("20060102-150405"))
	}
	if err := load.WriteReports(stdout, out, r.WriteMarkdown, r.WriteJSON); err != nil {
		fmt.Fprintln(stderr, "load:", err)
		return 1
	}
	return r.Exit(stderr, "load")
}

func parse(args []string, stderr io.Writer) (load.Config, string, error) {
	var cfg load.Config
	var out string
	fs := cli.Flags("load", "go run ./scripts/load [-n 100] [-c 10] [-sku SKU-100] [-token tok_visa] [-out DIR] [flags]", stderr)
	fs.IntVar(&cfg.Orders, "n", 100, "orders to place")
	fs.IntVar(&cfg.Concurrency, "c", 10, "requests in flight")
	fs.StringVar(&cfg.SKU, "sku", "SKU-100", "the SKU each order buys one unit of (restocked to N + margin first)")
	fs.StringVar(&cfg.Token, "token", shop.TokenApprove, "payment token of every order")
	fs.IntVar(&cfg.Customers, "customers", 0, "signed-in customers the orders are spread over (default min(C, 20); never more than N)")
	fs.IntVar(&cfg.Margin, "margin", 0, "units stocked beyond N (default max(10, N/10))")
	fs.DurationVar(&cfg.Timeout, "timeout", 0, "for every order to end, from the first POST (default 3m + 0.5s × N)")
	fs.DurationVar(&cfg.Poll, "poll", time.Second, "between two polls of the customers' order lists")
	fs.DurationVar(&cfg.Settle, "settle", 2*time.Minute, "for the executions to end once every order has")
	fs.DurationVar(&cfg.Idle, "idle", 3*time.Second, "how long to measure the emulator's CPU at rest before the run, for comparison (0: not)")
	fs.IntVar(&cfg.Collectors, "collectors", 4, "journeys collected at once after the run")
	fs.IntVar(&cfg.EmulatorPID, "emulator-pid", 0, "MiniStack's pid (default: from .emulator/ministack-<port>.pid)")
	fs.Float64Var(&cfg.CPUGoal, "cpu-goal", 0.25, "the functions' CPU may be at most this share of the emulator's")
	fs.StringVar(&out, "out", "", "directory for report.md and report.json (default .emulator/load/<start time>/)")
	if err := fs.Parse(args); err != nil {
		return cfg, out, err
	}
	if err := cli.NoArgs(fs); err != nil {
		return cfg, out, err
	}
	switch {
	case cfg.Orders < 1 || cfg.Concurrency < 1:
		return cfg, out, errors.New("-n and -c must be at least 1")
	case catalogue.Check(cfg.SKU) != nil: // bad usage, found before the stack is reached, not a run that failed
		return cfg, out, fmt.Errorf("-sku: %w", catalogue.Check(cfg.SKU))
	case cfg.Customers < 0 || cfg.Margin < 0 || cfg.Timeout < 0 || cfg.Idle < 0 || cfg.Poll <= 0 || cfg.Settle <= 0 || cfg.Collectors < 1:
		return cfg, out, errors.New("-customers, -margin, -timeout and -idle must not be negative; -poll, -settle and -collectors must be positive")
	}
	return cfg, out, nil
}

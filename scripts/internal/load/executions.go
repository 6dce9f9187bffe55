// The state machine's executions: how many run, waiting until none does, how many a run started.

package load

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/orderflow-dev/orderflow/scripts/internal/journey"
)

// running counts the state machine's RUNNING executions.
func running(ctx context.Context, sf *sfn.Client, machine string) (int, error) {
	n := 0
	p := sfn.NewListExecutionsPaginator(sf, &sfn.ListExecutionsInput{StateMachineArn: aws.String(machine), StatusFilter: sfntypes.ExecutionStatusRunning})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, fmt.Errorf("list running executions: %w", err)
		}
		n += len(page.Executions)
	}
	return n, nil
}

// settle waits until no execution runs, or ctx ends; it returns how many still run: the last
// count read, when ctx ended during a read (never the 0 of a read that did not finish), and
// ctx's error when no read finished at all.
func settle(ctx context.Context, sf *sfn.Client, machine string) (int, error) {
	return settleWith(ctx, func(ctx context.Context) (int, error) { return running(ctx, sf, machine) }, time.Second)
}

func settleWith(ctx context.Context, running func(context.Context) (int, error), poll time.Duration) (int, error) {
	last, counted := 0, false
	for {
		n, err := running(ctx)
		switch {
		case err != nil && ctx.Err() != nil && counted:
			return last, nil // the wait ran out during a read: what the last one counted still runs
		case err != nil:
			return 0, err
		case n == 0:
			return 0, nil
		}
		last, counted = n, true
		select {
		case <-ctx.Done():
			return n, nil
		case <-time.After(poll):
		}
	}
}

// startedSince counts the executions started since t (the sagas and their duplicates). AWS
// lists the newest first: once a page, in that order, ends before t, the rest is older.
func startedSince(ctx context.Context, sf *sfn.Client, machine string, t time.Time) (int, error) {
	n := 0
	p := sfn.NewListExecutionsPaginator(sf, &sfn.ListExecutionsInput{StateMachineArn: aws.String(machine)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, fmt.Errorf("list executions: %w", err)
		}
		for _, x := range page.Executions {
			if !aws.ToTime(x.StartDate).Before(t) {
				n++
			}
		}
		if journey.PageEndsBefore(page.Executions, t) {
			break
		}
	}
	return n, nil
}

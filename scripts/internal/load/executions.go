// The state machine's executions: how many run, waiting until none does, how many a run started.

package load

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// Running counts the state machine's RUNNING executions.
func Running(ctx context.Context, sf *sfn.Client, machine string) (int, error) {
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

// settle waits until no execution runs, or ctx ends; it returns how many still run.
func settle(ctx context.Context, sf *sfn.Client, machine string) (int, error) {
	for {
		n, err := Running(ctx, sf, machine)
		if err != nil || n == 0 {
			return n, err
		}
		select {
		case <-ctx.Done():
			return n, nil
		case <-time.After(time.Second):
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
		newestFirst := true
		for i, x := range page.Executions {
			if !aws.ToTime(x.StartDate).Before(t) {
				n++
			}
			if i > 0 && aws.ToTime(x.StartDate).After(aws.ToTime(page.Executions[i-1].StartDate)) {
				newestFirst = false
			}
		}
		if k := len(page.Executions); k > 0 && newestFirst && aws.ToTime(page.Executions[k-1].StartDate).Before(t) {
			break
		}
	}
	return n, nil
}

package journey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// The workflow's side of the evidence: an order's executions (through its saga claim, or by
// listing the state machine's), what started each, and their histories.

type execInput struct {
	orderID, eventID, busID string
	rescueOf                string // a rescue execution's input names the execution it rescues
	started                 time.Time
}

// executions finds the workflow executions of the order and reads their histories. The saga
// claim names the execution that holds the order (and, after a rescue, the one it rescued): it
// is read first, with one GetItem. Unless ClaimedOnly (or when there is no claim), the state
// machine's executions are listed too, to find the others: duplicates, started by a second
// delivery of OrderPlaced. The listing looks only at executions started between since and until
// (from just before the order's first event to an hour after its last), so that tracing an old
// order on a busy account does not describe every execution since.
func (c *Collector) executions(ctx context.Context, orderID string, since, until time.Time) ([]Execution, error) {
	machine := c.res[ResWorkflow]
	if machine == "" {
		return nil, errors.New("the stack has no StateMachineArn output")
	}
	if _, err := c.stateMachine(ctx, machine); err != nil {
		return nil, err
	}
	var out []Execution
	seen := map[string]bool{}
	claimed, claimErr := c.claimed(ctx, orderID)
	for _, arn := range claimed {
		if seen[arn] {
			continue
		}
		in, err := c.input(ctx, arn)
		if err != nil {
			return out, err
		}
		x, err := c.execution(ctx, arn, nameOf(arn), in)
		if err != nil {
			return out, err
		}
		seen[arn] = true
		out = append(out, x)
	}
	if !c.claimedOnly || len(claimed) == 0 {
		listed, err := c.listed(ctx, machine, orderID, since, until, seen)
		out = append(out, listed...)
		if err != nil {
			return sortByStart(out), errors.Join(claimErr, err)
		}
	}
	return sortByStart(out), claimErr
}

func sortByStart(xs []Execution) []Execution {
	sort.SliceStable(xs, func(a, b int) bool { return xs[a].Started.Before(xs[b].Started) })
	return xs
}

// nameOf is an execution's name: the last segment of its ARN.
func nameOf(arn string) string { return arn[strings.LastIndex(arn, ":")+1:] }

// Claim is an order's item in the sagas table: the execution that holds its saga, and the one a
// rescue took it from, if any.
type Claim struct {
	ExecutionArn string `dynamodbav:"executionArn"`
	RescuedFrom  string `dynamodbav:"rescuedFrom"`
}

// claimed reads the order's saga claim (sagas table, key orderId): the execution that holds the
// order, and the one a rescue took it from, if any. An order no execution has claimed yet has none.
func (c *Collector) claimed(ctx context.Context, orderID string) ([]string, error) {
	table := c.res[ResSagas]
	if table == "" {
		return nil, nil
	}
	out, err := c.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		Key: map[string]dbtypes.AttributeValue{"orderId": &dbtypes.AttributeValueMemberS{Value: orderID}}})
	var claim Claim
	if err == nil {
		err = attributevalue.UnmarshalMap(out.Item, &claim)
	}
	if err != nil {
		return nil, fmt.Errorf("read the saga claim: %w", err)
	}
	var arns []string
	for _, arn := range []string{claim.RescuedFrom, claim.ExecutionArn} {
		if arn != "" {
			arns = append(arns, arn)
		}
	}
	return arns, nil
}

// maxListedPages is how many pages of executions (100 each) listed reads at the most.
const maxListedPages = 10

// listed lists the state machine's executions started in the window and returns those of the
// order that are not in seen. AWS lists the newest first: a page, in that order, that ends
// before the window ends the listing. Past maxListedPages it stops and says so.
func (c *Collector) listed(ctx context.Context, machine, orderID string, since, until time.Time, seen map[string]bool) ([]Execution, error) {
	var out []Execution
	p := sfn.NewListExecutionsPaginator(c.sf, &sfn.ListExecutionsInput{StateMachineArn: aws.String(machine)})
	for pages := 0; p.HasMorePages(); pages++ {
		if pages == maxListedPages {
			return out, fmt.Errorf("listed the newest %d pages of executions only: an older execution of this order (a duplicate, a rescue) may be missing", maxListedPages)
		}
		page, err := p.NextPage(ctx)
		if err != nil {
			return out, fmt.Errorf("list executions: %w", err)
		}
		for _, ex := range page.Executions {
			arn := aws.ToString(ex.ExecutionArn)
			if seen[arn] || (ex.StartDate != nil && (ex.StartDate.Before(since) || ex.StartDate.After(until))) {
				continue
			}
			in, err := c.input(ctx, arn)
			if err != nil {
				return out, err
			}
			if in.orderID != orderID {
				continue
			}
			x, err := c.execution(ctx, arn, aws.ToString(ex.Name), in)
			if err != nil {
				return out, err
			}
			seen[arn] = true
			out = append(out, x)
		}
		if PageEndsBefore(page.Executions, since) {
			break // the next pages are older still
		}
	}
	return out, nil
}

// PageEndsBefore reports whether a page of ListExecutions is newest first (as AWS lists them) and
// its last execution started before t: the pages after it are older still.
func PageEndsBefore(page []sfntypes.ExecutionListItem, t time.Time) bool {
	for i := 1; i < len(page); i++ {
		if aws.ToTime(page[i].StartDate).After(aws.ToTime(page[i-1].StartDate)) {
			return false // not newest first (an emulator): nothing follows from the order
		}
	}
	return len(page) > 0 && aws.ToTime(page[len(page)-1].StartDate).Before(t)
}

// input describes an execution once: what started it, and when.
func (c *Collector) input(ctx context.Context, arn string) (execInput, error) {
	c.mu.Lock()
	in, ok := c.inputs[arn]
	c.mu.Unlock()
	if ok {
		return in, nil
	}
	d, err := c.sf.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		return execInput{}, fmt.Errorf("describe execution %s: %w", nameOf(arn), err)
	}
	in = parseInput(aws.ToString(d.Input))
	in.started = aws.ToTime(d.StartDate)
	c.mu.Lock()
	c.inputs[arn] = in
	c.mu.Unlock()
	return in, nil
}

// stateMachine reads the state machine's definition once.
func (c *Collector) stateMachine(ctx context.Context, machine string) (*definition, error) {
	c.mu.Lock()
	d := c.definition
	c.mu.Unlock()
	if d != nil {
		return d, nil
	}
	d, err := c.readDefinition(ctx, machine)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.definition = d
	c.mu.Unlock()
	return d, nil
}

func parseInput(input string) execInput {
	var in struct {
		ID     string `json:"id"`
		Detail struct {
			ID      string `json:"id"`
			OrderID string `json:"orderId"`
		} `json:"detail"`
		// A rescue execution's input: the OrderPlaced envelope and the execution it rescues.
		Event struct {
			ID      string `json:"id"`
			OrderID string `json:"orderId"`
		} `json:"event"`
		Rescue struct {
			Execution string `json:"execution"`
		} `json:"rescue"`
	}
	_ = json.Unmarshal([]byte(input), &in) // an input that is not an order event matches no order
	if in.Rescue.Execution != "" {
		return execInput{orderID: in.Event.OrderID, eventID: in.Event.ID, rescueOf: in.Rescue.Execution}
	}
	return execInput{orderID: in.Detail.OrderID, eventID: in.Detail.ID, busID: in.ID}
}

func (c *Collector) execution(ctx context.Context, arn, name string, in execInput) (Execution, error) {
	c.mu.Lock()
	x, ok := c.history[arn]
	def := c.definition
	c.mu.Unlock()
	if ok {
		return x, nil
	}
	h := sfn.NewGetExecutionHistoryPaginator(c.sf, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn)})
	var hist []HistoryEvent
	for h.HasMorePages() {
		page, err := h.NextPage(ctx)
		if err != nil {
			return Execution{}, fmt.Errorf("execution history of %s: %w", name, err)
		}
		for _, e := range page.Events {
			hist = append(hist, historyEvent(e))
		}
	}
	x = ParseHistory(hist, def)
	x.Arn, x.Name, x.EventID, x.BusID, x.RescueOf = arn, name, in.eventID, in.busID, in.rescueOf
	if x.Started.IsZero() {
		x.Started = in.started
	}
	if x.Status != "RUNNING" {
		c.mu.Lock()
		c.history[arn] = x
		c.mu.Unlock()
	}
	return x, nil
}

// readDefinition reads, per Task state, the function or queue it calls and where its
// events:putEvents entries come from.
func (c *Collector) readDefinition(ctx context.Context, machine string) (*definition, error) {
	out, err := c.sf.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(machine)})
	if err != nil {
		return nil, fmt.Errorf("describe state machine: %w", err)
	}
	return parseDefinition(aws.ToString(out.Definition), c.res)
}

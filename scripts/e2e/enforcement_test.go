//go:build e2e

package e2e

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// Under AUTH=true (as make test runs this suite) the emulator evaluates IAM: a function's role may
// do what it was granted and nothing else, so a missing grant fails these tests instead of an
// account. This test proves enforcement is on, with order-api's own role.
func TestIAMIsEnforced(t *testing.T) {
	if os.Getenv("AUTH") != "true" {
		t.Skip("AUTH is not true: the emulator does not evaluate IAM in this run")
	}
	t.Parallel()
	ctx := context.Background()
	fn, err := lambda.NewFromConfig(stack.AWS).GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(stack.Output("OrderApiFunctionName"))})
	if err != nil {
		t.Fatal(err)
	}
	cfg := stack.AWS.Copy()
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(stack.AWS), aws.ToString(fn.Role)))
	db := dynamodb.NewFromConfig(cfg)

	// Granted: order-api reads an order's events.
	if _, err := db.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(stack.Output("EventStoreTable")), KeyConditionExpression: aws.String("orderId = :o"),
		ExpressionAttributeValues: map[string]dbtypes.AttributeValue{":o": &dbtypes.AttributeValueMemberS{Value: "ORD-00000000-0000-0000-0000-000000000000"}},
	}); err != nil {
		t.Fatalf("order-api's role may query the event store: %v", err)
	}
	// Not granted: it never reads the payments ledger, nor scans the event store.
	for name, call := range map[string]func() error{
		"GetItem on the payments table": func() error {
			_, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(stack.Output("PaymentsTable")),
				Key: map[string]dbtypes.AttributeValue{"orderId": &dbtypes.AttributeValueMemberS{Value: "x"}}})
			return err
		},
		"Scan of the event store": func() error {
			_, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(stack.Output("EventStoreTable"))})
			return err
		},
	} {
		var api smithy.APIError
		if err := call(); !errors.As(err, &api) || api.ErrorCode() != "AccessDeniedException" {
			t.Errorf("%s as order-api's role: %v, want AccessDeniedException", name, err)
		}
	}
}

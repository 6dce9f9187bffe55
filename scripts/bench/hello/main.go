// Command hello is the yardstick of scripts/bench: the smallest aws-lambda-go function, built
// exactly as the CDK app builds orderflow's functions, whose cold start and warm invoke every
// function is compared with.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

// handle answers every event with the same small JSON document.
func handle(context.Context, map[string]any) (map[string]string, error) {
	return map[string]string{"hello": "world"}, nil
}

func main() { lambda.Start(handle) }

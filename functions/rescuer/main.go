// Command rescuer compensates the order-fulfilment executions that ended without compensating:
// one that failed where no Catch applies, timed out (the state machine's TimeoutSeconds) or was
// aborted would leave its order PLACED forever. For each "Step Functions Execution Status Change"
// event of such an execution it starts a rescue execution of the same state machine, which
// claims the order from the failed execution and compensates as a Catch would.
package main

import (
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/orderflow-dev/orderflow/functions/internal/boot"
)

// Config is the function's environment, set by the CDK app.
type Config struct {
	StateMachineARN string `env:"STATE_MACHINE_ARN"` // order-fulfilment: the executions rescued, and the rescues
}

func main() { boot.Main(build) }

// build wires the adapters to the handler, once per cold start.
func build(cfg Config, awsCfg aws.Config, logger *slog.Logger) (any, error) {
	client := sfn.NewFromConfig(awsCfg)
	return boot.Sink(newHandler(cfg.StateMachineARN, ports{history: client, describer: client, starter: client}, logger).Handle), nil
}

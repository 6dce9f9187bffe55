// Command infra is the orderflow CDK app: one stack holding every service an order crosses.
//
//	cdk synth                   # arm64 functions, for AWS
//	cdk synth -c arch=x86_64    # host architecture, for a local emulator on an x86-64 machine
//	cdk deploy -c alarmEmail=ops@example.com   # the alarm topic e-mails this address
//	cdk deploy -c reservedConcurrency=false    # no reserved concurrency (an account with a small quota)
//	cdk deploy -c faults='{"payment":{"crashAfterWrite":{"callPercentage":10}}}'   # fault injection
//	                                            # (functions/internal/faults); `make deploy` never passes it
//	cdk deploy -c callbackTimeout=45 -c executionTimeout=600   # shorter saga timeouts, for a test deploy
//	cdk deploy -c placeOrderRate=20             # POST /orders' route throttle (default 50/s, burst 100)
//
// cdk-nag's AwsSolutions pack runs on every synth; an unsuppressed error fails it.
package main

import (
	"fmt"
	"maps"
	"os"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

func main() {
	defer jsii.Close()

	app := awscdk.NewApp(nil)
	arch, err := ParseArchitecture(app.Node().TryGetContext(jsii.String("arch")))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	root, err := os.Getwd() // cdk runs the app from the repository root, where cdk.json lives
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}

	faults, err := ParseFaults(app.Node().TryGetContext(jsii.String("faults")), root)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, name := range slices.Sorted(maps.Keys(faults)) {
		fmt.Fprintf(os.Stderr, "FAULT INJECTION armed in %s: %s\n", name, faults[name])
	}

	timeouts, err := ParseTimeouts(app.Node().TryGetContext(jsii.String("callbackTimeout")), app.Node().TryGetContext(jsii.String("executionTimeout")))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}

	placeOrder, err := ParsePlaceOrderRate(app.Node().TryGetContext(jsii.String("placeOrderRate")))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}

	alarmEmail, _ := app.Node().TryGetContext(jsii.String("alarmEmail")).(string)
	emulator, _ := app.Node().TryGetContext(jsii.String("emulator")).(string) // -c emulator=true: make deploy-local
	reserved, _ := app.Node().TryGetContext(jsii.String("reservedConcurrency")).(string)
	NewOrderflowStack(app, "Orderflow", &OrderflowStackProps{
		StackProps:   awscdk.StackProps{Description: jsii.String("orderflow: an event-driven order flow in Go (EventBridge, Step Functions, SQS, SNS, Kinesis, Lambda, DynamoDB)")},
		Architecture: arch,
		SourceRoot:   root,
		AlarmEmail:   alarmEmail,
		Emulator:     emulator == "true",
		// -c reservedConcurrency=false: for an account whose concurrency quota cannot spare any.
		NoReservedConcurrency: reserved == "false",
		Faults:                faults,     // -c faults='{…}': chaos experiments only
		Timeouts:              timeouts,   // -c callbackTimeout=45 -c executionTimeout=…: test deploys only
		PlaceOrder:            placeOrder, // -c placeOrderRate=8: what the target sustains
	})
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	app.Synth(nil)
}

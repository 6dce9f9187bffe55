// Package deployed finds a deployed orderflow stack (on AWS, MiniStack or LocalStack) and gives the
// local tools what they need to talk to it: its outputs, an AWS config and an HTTP client.
package deployed

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
)

// StackName is the CloudFormation stack the CDK app deploys.
const StackName = "Orderflow"

// Stack is one deployed orderflow stack.
type Stack struct {
	AWS     aws.Config
	Outputs map[string]string
	HTTP    *http.Client
}

// Load reads the stack's outputs through CloudFormation, using the SDK's default configuration
// (so AWS_ENDPOINT_URL points it at an emulator).
func Load(ctx context.Context) (*Stack, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	out, err := cloudformation.NewFromConfig(cfg).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(StackName)})
	if err != nil {
		return nil, fmt.Errorf("describe stack %s (is it deployed? `make deploy-local`): %w", StackName, err)
	}
	if len(out.Stacks) != 1 {
		return nil, fmt.Errorf("stack %s: found %d stacks", StackName, len(out.Stacks))
	}
	s := &Stack{AWS: cfg, Outputs: map[string]string{}, HTTP: NewHTTPClient()}
	for _, o := range out.Stacks[0].Outputs {
		s.Outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	return s, nil
}

// Output returns one stack output, or panics naming the missing output: a tool asking for an output
// the stack does not define is a bug in the tool.
func (s *Stack) Output(name string) string {
	v, ok := s.Outputs[name]
	if !ok {
		panic(fmt.Sprintf("stack %s has no output %q", StackName, name))
	}
	return v
}

// APIURL is the HTTP API's base URL without a trailing slash.
func (s *Stack) APIURL() string { return strings.TrimSuffix(s.Output("ApiUrl"), "/") }

// NewHTTPClient returns a client that resolves *.localhost to the loopback address, as browsers and
// curl do and Go's resolver does not: emulators serve APIs on http://{apiId}.execute-api.localhost:4566.
func NewHTTPClient() *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err == nil && (host == "localhost" || strings.HasSuffix(host, ".localhost")) {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		return dialer.DialContext(ctx, network, addr)
	}
	return &http.Client{Transport: transport, Timeout: 30 * time.Second}
}

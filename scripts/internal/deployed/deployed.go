// Package deployed finds a deployed orderflow stack (on AWS, MiniStack or LocalStack) and gives the
// local tools what they need to talk to it: its outputs, an AWS config and an HTTP client.
package deployed

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/smithy-go"
)

// StackName is the CloudFormation stack the CDK app deploys.
const StackName = "Orderflow"

// Stack is one deployed orderflow stack.
type Stack struct {
	AWS     aws.Config
	Outputs map[string]string
	HTTP    *http.Client
}

// loadTimeout bounds Load: an endpoint that does not answer fails the tool, not hangs it.
const loadTimeout = 30 * time.Second

// Load reads the stack's outputs through CloudFormation, using the SDK's default configuration
// (so AWS_ENDPOINT_URL points it at an emulator), within loadTimeout.
func Load(parent context.Context) (*Stack, error) {
	ctx, cancel := context.WithTimeout(parent, loadTimeout)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	out, err := cloudformation.NewFromConfig(cfg).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(StackName)})
	if err != nil {
		return nil, fmt.Errorf("describe stack %s%s: %w", StackName, hint(parent, err, aws.ToString(cfg.BaseEndpoint)), err)
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

// hint says what a failed DescribeStacks most likely means and what to do, in parentheses, or
// nothing when no advice fits: "deploy it" only when the stack is missing or nothing listens at
// the endpoint; for a timeout, that it timed out, since deploying would not help.
func hint(parent context.Context, err error, endpoint string) string {
	var api smithy.APIError
	var netErr net.Error
	switch {
	case errors.As(err, &api) && api.ErrorCode() == "ValidationError" && strings.Contains(api.ErrorMessage(), "does not exist"):
		return " (is it deployed? `make deploy-local`)"
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf(" (nothing listens at %s: is the emulator up? `make up`, then `make deploy-local`)", cmp.Or(endpoint, "the endpoint"))
	case errors.Is(parent.Err(), context.DeadlineExceeded):
		return " (timed out: the command's time ran out before the endpoint answered; if it has a -timeout, give it longer)"
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Sprintf(" (timed out: no answer from %s within %s; is it up, and not overloaded?)", cmp.Or(endpoint, "the endpoint"), loadTimeout)
	}
	return ""
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

// APIURL is the HTTP API's base URL without a trailing slash. On AWS it is the ApiUrl output. On an
// emulator (the SDK has an endpoint, AWS_ENDPOINT_URL) it is the path form that MiniStack and
// LocalStack both serve, {endpoint}/_aws/execute-api/{apiId}: the scheme and port clients reach the
// emulator on (behind the TLS proxy of `AUTH=true` runs, ApiUrl names MiniStack's own plain-HTTP
// port), and no *.localhost name to resolve or to find in the certificate.
func (s *Stack) APIURL() string {
	api := strings.TrimSuffix(s.Output("ApiUrl"), "/")
	endpoint := strings.TrimSuffix(aws.ToString(s.AWS.BaseEndpoint), "/")
	u, err := url.Parse(api)
	if endpoint == "" || err != nil {
		return api
	}
	id, _, ok := strings.Cut(u.Hostname(), ".execute-api.")
	if !ok {
		return api
	}
	return endpoint + "/_aws/execute-api/" + id // the $default stage has no path segment
}

// NewHTTPClient returns a client that resolves *.localhost to the loopback address, as browsers and
// curl do and Go's resolver does not: emulators serve APIs on http://{apiId}.execute-api.localhost:4566.
// It trusts the certificates in AWS_CA_BUNDLE as well as the system's, as the SDK does, so that the
// one variable serves both against an emulator behind TLS (`make ... AUTH=true`).
func NewHTTPClient() *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if bundle := os.Getenv("AWS_CA_BUNDLE"); bundle != "" {
		if pemCerts, err := os.ReadFile(bundle); err == nil {
			roots, err := x509.SystemCertPool()
			if err != nil || roots == nil {
				roots = x509.NewCertPool()
			}
			roots.AppendCertsFromPEM(pemCerts)
			transport.TLSClientConfig = &tls.Config{RootCAs: roots}
		}
	}
	transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err == nil && (host == "localhost" || strings.HasSuffix(host, ".localhost")) {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		return dialer.DialContext(ctx, network, addr)
	}
	return &http.Client{Transport: transport, Timeout: 30 * time.Second}
}

package boot

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go/middleware"

	"github.com/orderflow-dev/orderflow/functions/internal/faults"
)

type testConfig struct {
	Table string `env:"TABLE"`
}

func TestSetup(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	okAWS := func(context.Context) (aws.Config, error) {
		return aws.Config{Region: "us-east-1"}, nil
	}
	env := func(vars map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	}
	var built testConfig
	build := func(cfg testConfig, awsCfg aws.Config, _ *slog.Logger) (any, error) {
		built = cfg
		if awsCfg.Region != "us-east-1" {
			return nil, errors.New("AWS config not passed through")
		}
		return func() {}, nil
	}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		loadAWS LoadAWS
		build   Build[testConfig]
		wantErr string
	}{
		{"builds from the environment", map[string]string{"TABLE": "orders"}, okAWS, build, ""},
		{"missing variable", map[string]string{}, okAWS, build, "TABLE"},
		{"no AWS config", map[string]string{"TABLE": "orders"},
			func(context.Context) (aws.Config, error) {
				return aws.Config{}, errors.New("no region")
			},
			build, "load AWS config: no region"},
		{"build fails", map[string]string{"TABLE": "orders"}, okAWS,
			func(testConfig, aws.Config, *slog.Logger) (any, error) {
				return nil, errors.New("QUEUE_CHANNELS: bad pair")
			},
			"QUEUE_CHANNELS: bad pair"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			built = testConfig{}
			h, err := Setup(context.Background(), env(tc.env), tc.loadAWS, logger, tc.build)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || h == nil || built.Table != "orders" {
				t.Fatalf("handler %v, config %+v, error %v", h, built, err)
			}
		})
	}
}

// Faults are inert unless ORDERFLOW_FAULTS is set: the build gets the AWS config as loaded and
// Setup returns the handler the build made. Set, both carry them; malformed, the cold start fails.
func TestSetupFaults(t *testing.T) {
	var logs strings.Builder
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	loaded := func(context.Context) (aws.Config, error) {
		return aws.Config{Region: "us-east-1", APIOptions: []func(*middleware.Stack) error{func(*middleware.Stack) error { return nil }}}, nil
	}
	handle := func(context.Context, struct{}) error { return nil }
	var got aws.Config
	builds := 0
	build := func(_ testConfig, awsCfg aws.Config, _ *slog.Logger) (any, error) {
		got, builds = awsCfg, builds+1
		return handle, nil
	}
	env := func(spec string) func(string) (string, bool) {
		vars := map[string]string{"TABLE": "orders", "AWS_LAMBDA_FUNCTION_NAME": "Orderflow-Payment"}
		if spec != "" {
			vars[faults.Variable] = spec
		}
		return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	}

	h, err := Setup(context.Background(), env(""), loaded, logger, build)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.ValueOf(h).Pointer() != reflect.ValueOf(handle).Pointer() {
		t.Errorf("unset: handler %T, want the build's own", h)
	}
	if len(got.APIOptions) != 1 {
		t.Errorf("unset: %d APIOptions, want the loaded config's 1", len(got.APIOptions))
	}
	if logs.Len() != 0 {
		t.Errorf("unset: logged %s", logs.String())
	}

	h, err = Setup(context.Background(), env(`{"crashAfterWrite":{"callPercentage":10},"invocationError":{"invocationPercentage":5,"preventExecution":true}}`), loaded, logger, build)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := h.(lambda.Handler); !ok {
		t.Errorf("armed: handler %T, want the fault wrapper (a lambda.Handler)", h)
	}
	if len(got.APIOptions) != 2 {
		t.Errorf("armed: %d APIOptions, want the loaded 1 and the crash middleware", len(got.APIOptions))
	}
	if !strings.Contains(logs.String(), `"msg":"faults armed","function":"Orderflow-Payment"`) {
		t.Errorf("armed: log %s", logs.String())
	}

	builds = 0
	_, err = Setup(context.Background(), env(`{"invocationError":{"invocationPercentage":20}}`), loaded, logger, build)
	if err == nil || !strings.Contains(err.Error(), "ORDERFLOW_FAULTS: invocationError.preventExecution: required") || builds != 0 {
		t.Errorf("malformed: error %v after %d builds, want one naming the variable and the key, and no build", err, builds)
	}
}

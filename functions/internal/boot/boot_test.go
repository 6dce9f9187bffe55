package boot

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
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

package boot

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

func TestFromEnv(t *testing.T) {
	lambda := map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "SECRET", "AWS_SESSION_TOKEN": "TOKEN"}
	with := func(extra map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) {
			if v, ok := extra[k]; ok {
				return v, v != ""
			}
			v, ok := lambda[k]
			return v, ok
		}
	}
	cfg, err := FromEnv(with(nil))(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "AKID" || creds.SecretAccessKey != "SECRET" || creds.SessionToken != "TOKEN" {
		t.Errorf("credentials %+v, %v", creds, err)
	}
	if cfg.Region != "eu-west-1" || cfg.BaseEndpoint != nil || cfg.RetryMaxAttempts != 0 || cfg.HTTPClient != nil {
		t.Errorf("config %+v", cfg)
	}
	cfg, err = FromEnv(with(map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_MAX_ATTEMPTS": "1"}))(context.Background())
	if err != nil || aws.ToString(cfg.BaseEndpoint) != "http://127.0.0.1:4566" || cfg.RetryMaxAttempts != 1 {
		t.Errorf("local config %+v, %v", cfg, err)
	}
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"no region":          {map[string]string{"AWS_REGION": ""}, "AWS_REGION"},
		"no credentials":     {map[string]string{"AWS_SECRET_ACCESS_KEY": ""}, "AWS_SECRET_ACCESS_KEY"},
		"bad max attempts":   {map[string]string{"AWS_MAX_ATTEMPTS": "0"}, "AWS_MAX_ATTEMPTS"},
		"missing CA bundle":  {map[string]string{"AWS_CA_BUNDLE": filepath.Join(t.TempDir(), "none.pem")}, "AWS_CA_BUNDLE"},
		"CA bundle, no cert": {map[string]string{"AWS_CA_BUNDLE": "awsenv_test.go"}, "no PEM certificate"},
	} {
		if _, err := FromEnv(with(tc.env))(context.Background()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming %q", name, err, tc.want)
		}
	}
}

package boot

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	// The bundle is read for an https endpoint (and for AWS's own), not for a plain-HTTP one, where
	// no request is verified: a missing file is then no error and the SDK's client is left alone.
	bundle := filepath.Join(t.TempDir(), "bundle.pem")
	if err := os.WriteFile(bundle, selfSigned(t), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err = FromEnv(with(map[string]string{"AWS_ENDPOINT_URL": "https://localhost:4566", "AWS_CA_BUNDLE": bundle}))(context.Background())
	if err != nil || cfg.HTTPClient == nil {
		t.Errorf("https endpoint with a CA bundle: client %v, error %v; want the bundle's client", cfg.HTTPClient, err)
	}
	for _, endpoint := range []string{"http://127.0.0.1:4566", "HTTP://localhost:4566"} {
		cfg, err = FromEnv(with(map[string]string{"AWS_ENDPOINT_URL": endpoint, "AWS_CA_BUNDLE": filepath.Join(t.TempDir(), "none.pem")}))(context.Background())
		if err != nil || cfg.HTTPClient != nil {
			t.Errorf("%s with a CA bundle: client %v, error %v; want the bundle left unread", endpoint, cfg.HTTPClient, err)
		}
	}
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"no region":          {map[string]string{"AWS_REGION": ""}, "AWS_REGION"},
		"no credentials":     {map[string]string{"AWS_SECRET_ACCESS_KEY": ""}, "AWS_SECRET_ACCESS_KEY"},
		"bad max attempts":   {map[string]string{"AWS_MAX_ATTEMPTS": "0"}, "AWS_MAX_ATTEMPTS"},
		"missing CA bundle":  {map[string]string{"AWS_CA_BUNDLE": filepath.Join(t.TempDir(), "none.pem")}, "AWS_CA_BUNDLE"},
		"https, no bundle":   {map[string]string{"AWS_ENDPOINT_URL": "https://localhost:4566", "AWS_CA_BUNDLE": filepath.Join(t.TempDir(), "none.pem")}, "AWS_CA_BUNDLE"},
		"CA bundle, no cert": {map[string]string{"AWS_CA_BUNDLE": "awsenv_test.go"}, "no PEM certificate"},
	} {
		if _, err := FromEnv(with(tc.env))(context.Background()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming %q", name, err, tc.want)
		}
	}
}

// selfSigned is a PEM certificate for localhost.
func selfSigned(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

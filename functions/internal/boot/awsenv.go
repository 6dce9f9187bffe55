package boot

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// FromEnv loads the SDK's configuration from the variables the Lambda runtime sets: AWS_REGION,
// and the execution role's AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN; and
// from those the local runs add: AWS_ENDPOINT_URL (the emulator), AWS_CA_BUNDLE (its certificate:
// it replaces the roots, as the SDK's own loader does) and AWS_MAX_ATTEMPTS.
//
// It stands in for config.LoadDefaultConfig, whose credential chain (shared files, SSO, web
// identity, container and instance metadata, credential processes) a Lambda function never
// reaches: the environment comes first in that chain and Lambda always sets it. Leaving that
// package out of the functions makes each zip about 570 KB smaller (scripts/bench measures it).
//
// AWS_CA_BUNDLE is read only when requests can go over TLS: with an http:// AWS_ENDPOINT_URL every
// request goes there in plain text, and a bundle has nothing to verify. MiniStack hands its own
// environment to the functions it runs, so on a machine that sets AWS_CA_BUNDLE for every process
// (a system bundle of ~140 certificates), each cold start would otherwise parse it: about 2.5 ms of
// CPU, more than the SDK's package initialisation.
func FromEnv(lookup func(string) (string, bool)) LoadAWS {
	get := func(name string) string { v, _ := lookup(name); return v }
	return func(context.Context) (aws.Config, error) {
		cfg := aws.Config{Region: get("AWS_REGION")}
		if cfg.Region == "" {
			cfg.Region = get("AWS_DEFAULT_REGION")
		}
		if cfg.Region == "" {
			return aws.Config{}, errors.New("AWS_REGION is not set")
		}
		key, secret := get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")
		if key == "" || secret == "" {
			return aws.Config{}, errors.New("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (Lambda sets them from the execution role)")
		}
		cfg.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(key, secret, get("AWS_SESSION_TOKEN")))
		if v := get("AWS_ENDPOINT_URL"); v != "" {
			cfg.BaseEndpoint = aws.String(v)
		}
		if v := get("AWS_MAX_ATTEMPTS"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return aws.Config{}, fmt.Errorf("AWS_MAX_ATTEMPTS=%q: want a positive integer", v)
			}
			cfg.RetryMaxAttempts = n
		}
		if path := get("AWS_CA_BUNDLE"); path != "" && !plainHTTP(cfg.BaseEndpoint) {
			pem, err := os.ReadFile(path)
			if err != nil {
				return aws.Config{}, fmt.Errorf("AWS_CA_BUNDLE: %w", err)
			}
			roots := x509.NewCertPool()
			if !roots.AppendCertsFromPEM(pem) {
				return aws.Config{}, fmt.Errorf("AWS_CA_BUNDLE %s: no PEM certificate", path)
			}
			cfg.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
				if tr.TLSClientConfig == nil {
					tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
				}
				tr.TLSClientConfig.RootCAs = roots
			})
		}
		return cfg, nil
	}
}

// plainHTTP reports whether endpoint is an http:// URL: no request made through it uses TLS.
func plainHTTP(endpoint *string) bool {
	return endpoint != nil && strings.HasPrefix(strings.ToLower(*endpoint), "http://")
}

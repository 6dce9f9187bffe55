package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// The https endpoint: the self-signed certificate and the variables that make clients trust it;
// and the proxy in front of the plain-HTTP MiniStack.

// trustEnv names the certificate for every kind of client: the CDK CLI and the AWS SDKs read
// AWS_CA_BUNDLE (it replaces their roots, hence a bundle with the system roots in it; the CDK CLI
// also falls back to REQUESTS_CA_BUNDLE, which then wins over NODE_EXTRA_CA_CERTS), Go's net/http
// reads SSL_CERT_FILE, curl CURL_CA_BUNDLE, Node adds NODE_EXTRA_CA_CERTS to its own roots.
func trustEnv() ([]string, error) {
	cert, err := ensureCertificate()
	if err != nil {
		return nil, err
	}
	bundle, _ := filepath.Abs(filepath.Join(tlsDir, "ca-bundle.pem"))
	return []string{
		"AWS_CA_BUNDLE=" + bundle,
		"SSL_CERT_FILE=" + bundle,
		"REQUESTS_CA_BUNDLE=" + bundle,
		"CURL_CA_BUNDLE=" + bundle,
		"NODE_EXTRA_CA_CERTS=" + cert,
	}, nil
}

// systemRoots are the usual locations of the system's PEM bundle (as Go's crypto/x509 looks for it).
var systemRoots = []string{
	"/etc/ssl/certs/ca-certificates.crt",                // Debian, Ubuntu, Alpine
	"/etc/pki/tls/certs/ca-bundle.crt",                  // Fedora, RHEL
	"/etc/ssl/ca-bundle.pem",                            // openSUSE
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // CentOS, RHEL 7
	"/etc/ssl/cert.pem",                                 // macOS, Alpine
}

// ensureCertificate makes the emulator's self-signed certificate (.emulator/tls/server.crt,
// server.key) and a bundle of the system roots plus it (ca-bundle.pem): once, and again when the
// certificate has less than 30 days left. It returns the certificate's absolute path.
func ensureCertificate() (string, error) {
	certPath, keyPath := filepath.Join(tlsDir, "server.crt"), filepath.Join(tlsDir, "server.key")
	bundlePath := filepath.Join(tlsDir, "ca-bundle.pem")
	abs, err := filepath.Abs(certPath)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(bundlePath); err == nil && !expiresBefore(certPath, time.Now().AddDate(0, 0, 30)) && pairs(certPath, keyPath) {
		return abs, nil
	}
	if err := os.MkdirAll(tlsDir, 0o755); err != nil {
		return "", err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "localhost", Organization: []string{"orderflow local emulator"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(2, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, // CA:FALSE: rustls (webpki) refuses a CA certificate served as the leaf
		DNSNames:              []string{"localhost", "*.execute-api.localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return "", err
	}
	if err := os.WriteFile(certPath, certPEM, 0o644); err != nil {
		return "", err
	}
	var bundle []byte
	for _, p := range systemRoots {
		if b, err := os.ReadFile(p); err == nil {
			bundle = append(b, '\n')
			break
		}
	}
	if err := os.WriteFile(bundlePath, append(bundle, certPEM...), 0o644); err != nil { // written last: marks completion
		return "", err
	}
	return abs, nil
}

// pairs reports whether the key at keyPath is the certificate's: two starts making them at the same
// moment could leave one's certificate beside the other's key, and the proxy would then refuse to
// start ("private key does not match public key") until they were made again.
func pairs(certPath, keyPath string) bool {
	_, err := tls.LoadX509KeyPair(certPath, keyPath)
	return err == nil
}

// expiresBefore reports whether the certificate at path ends before t, or cannot be read: then a
// new one is made (they last two years; clients refuse one past its end).
func expiresBefore(path string, t time.Time) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return true
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return true
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	return err != nil || cert.NotAfter.Before(t)
}

// freePort returns a loopback port nothing listens on now.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	_, port, err := net.SplitHostPort(l.Addr().String())
	return port, err
}

// maxIdleToBackend is how many idle connections to MiniStack the proxy keeps: more than the
// requests a local run has in flight at once (functions' execution environments and clients).
const maxIdleToBackend = 256

// proxy serves the endpoint in front of MiniStack: it terminates TLS when given a certificate,
// and refuses what an HTTP API's route throttle refuses on AWS (throttle.go), which MiniStack does
// not. It keeps the client's Host header (SigV4 signs it) and replaces any X-Forwarded-* the client
// sent with its own, so MiniStack sees X-Forwarded-Proto: https, which it reads as
// aws:SecureTransport, only for requests that came over TLS.
func proxy(args []string) {
	fs := flag.NewFlagSet("proxy", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:4566", "address to serve")
	backend := fs.String("backend", "", "plain-HTTP MiniStack")
	cert := fs.String("cert", "", "certificate (PEM); none: serve plain HTTP")
	key := fs.String("key", "", "private key (PEM)")
	_ = fs.Parse(args)
	target, err := url.Parse(*backend)
	if err != nil || target.Host == "" {
		log.Fatalf("emulator proxy: -backend %q", *backend)
	}
	// One P: the proxy only waits on sockets, and with more its threads hand the work to each other
	// (futex wake-ups and sleeps), which costs more CPU than forwarding the requests.
	runtime.GOMAXPROCS(1)
	handler := newThrottle(fetchFrom(target.String(), &http.Client{})).wrap(forward(target))
	if *cert == "" {
		log.Printf("emulator proxy: http://%s -> %s", *listen, target)
		log.Fatal(http.ListenAndServe(*listen, handler))
	}
	log.Printf("emulator proxy: https://%s -> %s", *listen, target)
	log.Fatal(http.ListenAndServeTLS(*listen, *cert, *key, handler))
}

// forward sends each request on to target (MiniStack), with its headers as proxy's comment says.
func forward(target *url.URL) http.Handler {
	// Keep a connection to MiniStack open for every request that may be in flight: the default
	// transport keeps two idle connections a host, so each burst of requests (the functions, the
	// load's clients) would open new connections to MiniStack and close them again.
	toBackend := http.DefaultTransport.(*http.Transport).Clone()
	toBackend.MaxIdleConns, toBackend.MaxIdleConnsPerHost = maxIdleToBackend, maxIdleToBackend
	// Drop an idle connection before MiniStack does (its keep-alive timeout is 75 s; Go's default
	// here is 90 s), so that a request is never sent on one MiniStack is closing.
	toBackend.IdleConnTimeout = 60 * time.Second
	// Pass bodies on as they are: with compression on, Go asks for gzip when the client did not
	// and hands the client the answer unzipped, without its Content-Encoding (an S3 object stored
	// gzip-encoded would reach curl or the AWS CLI as other bytes than its ETag's).
	toBackend.DisableCompression = true
	rp := &httputil.ReverseProxy{
		Transport: toBackend,
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host
			r.SetXForwarded()
		},
		// An answer of known length goes to the client as the server's buffer fills, its headers
		// with the first of its body. Flushed after every write instead (FlushInterval -1, as this
		// was), MiniStack's headers reached the client ahead of its body, and through that, now and
		// then, the AWS SDK found its connection closed before it had read the body: a DynamoDB call
		// then failed the answer's CRC32 check and was sent again, and a conditional put failed on
		// its own first write (32 retries in 24,000 PutItems through the proxy, in eight runs; none in
		// 9,000 with this setting, nor in 9,000 straight to MiniStack). Streams still pass as they
		// come: ReverseProxy flushes every write of an answer without a Content-Length (Lambda
		// response streaming) or of an event stream, whatever FlushInterval says; a long poll's
		// answer is one answer, sent when it is ready.
		FlushInterval: 0,
	}
	// Full duplex: MiniStack may start its answer before it has read all of a request's body, and
	// Go's HTTP/1 server would then close the rest of that body, cutting the request to MiniStack
	// and with it the answer ("ReverseProxy read error during body copy: use of closed network
	// connection"; the client sees "unexpected EOF"). golang.org/issue/40747.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).EnableFullDuplex()
		rp.ServeHTTP(w, r)
	})
}

package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// proxied is the proxy in front of backend (started); both close when the test ends.
func proxied(t *testing.T, backend *httptest.Server) *httptest.Server {
	t.Helper()
	t.Cleanup(backend.Close)
	target, err := url.Parse(backend.URL)
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(forward(target))
	t.Cleanup(front.Close)
	return front
}

// A second burst of requests reuses the connections to MiniStack the first one opened (with
// the default transport's two idle connections a host, it would open them again).
func TestForwardKeepsItsConnectionsToTheBackend(t *testing.T) {
	const inFlight = 20
	var opened atomic.Int64
	var arrived sync.WaitGroup // a burst's requests wait for each other at the backend: all overlap
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		arrived.Done()
		all := make(chan struct{})
		go func() { arrived.Wait(); close(all) }()
		select {
		case <-all:
		case <-time.After(10 * time.Second):
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	backend.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	backend.Start()
	front := proxied(t, backend)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: inFlight}}

	burst := func() {
		arrived.Add(inFlight)
		var wg sync.WaitGroup
		for range inFlight {
			wg.Go(func() {
				resp, err := client.Get(front.URL + "/")
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusNoContent {
					t.Errorf("status %d", resp.StatusCode)
				}
			})
		}
		wg.Wait()
	}
	burst()
	first := opened.Load()
	if first != inFlight {
		t.Fatalf("the first burst opened %d connections to the backend, want %d", first, inFlight)
	}
	burst()
	if again := opened.Load() - first; again != 0 {
		t.Errorf("the second burst opened %d more connections to the backend (the first opened %d)", again, first)
	}
}

// The proxy hands on the backend's answer as it is: a gzip-encoded body stays gzip-encoded, with
// its Content-Encoding, for a client that did not ask for gzip (Go's transport would otherwise ask
// for it on the client's behalf and unzip the answer).
func TestForwardPassesEncodedBodiesThrough(t *testing.T) {
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, _ = zw.Write([]byte("an object stored gzip-encoded"))
	_ = zw.Close()
	var asked atomic.Value
	front := proxied(t, httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Store(r.Header.Get("Accept-Encoding"))
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(zipped.Bytes())
	})))
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}} // sends no Accept-Encoding, as curl
	resp, err := client.Get(front.URL + "/bucket/object")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got := asked.Load(); got != "" {
		t.Errorf("the backend was asked for Accept-Encoding %q; the client asked for none", got)
	}
	if resp.Header.Get("Content-Encoding") != "gzip" || !bytes.Equal(body, zipped.Bytes()) {
		t.Errorf("Content-Encoding %q, %d bytes; want gzip and the backend's %d bytes", resp.Header.Get("Content-Encoding"), len(body), zipped.Len())
	}
}

// An answer of known length reaches the client whole: its headers are not sent ahead of a body
// that comes later (through that gap, now and then, the AWS SDK found its connection closed before
// it had read the body, and sent a conditional write again: see forward).
func TestForwardSendsAKnownLengthAnswerWhole(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "2")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush() // the headers leave MiniStack before its body
		time.Sleep(100 * time.Millisecond)
		_, _ = io.WriteString(w, "{}")
	}))
	front := proxied(t, backend)
	conn, err := net.Dial("tcp", front.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf) // the first bytes to arrive
	if err != nil {
		t.Fatal(err)
	}
	first := string(buf[:n])
	if !strings.HasPrefix(first, "HTTP/1.1 200") || !strings.HasSuffix(first, "\r\n\r\n{}") {
		t.Errorf("the first read through the proxy got %q: want the headers and the body together", first)
	}
}

// An answer without a Content-Length (Lambda response streaming) still passes as it comes: the
// client reads the first part before the backend writes the second.
func TestForwardStreamsAnAnswerOfUnknownLength(t *testing.T) {
	firstRead := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "first;")
		w.(http.Flusher).Flush()
		select {
		case <-firstRead:
		case <-time.After(5 * time.Second):
		}
		_, _ = io.WriteString(w, "second")
	}))
	front := proxied(t, backend)
	resp, err := http.Get(front.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ContentLength != -1 {
		t.Fatalf("the backend's answer has Content-Length %d: the test needs one without", resp.ContentLength)
	}
	start := time.Now()
	buf := make([]byte, len("first;"))
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited > 4*time.Second {
		t.Errorf("the first part came after %v: the proxy held it until the backend wrote the rest", waited)
	}
	close(firstRead)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(buf)+string(rest) != "first;second" {
		t.Errorf("read %q%q, %v; want first;second", buf, rest, err)
	}
}

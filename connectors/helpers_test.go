package connectors

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// server starts an httptest server on 127.0.0.1 that stops with the test.
// The release channels are closed before the server shuts down, so that
// handlers waiting on them end by themselves.
func server(t testing.TB, h http.HandlerFunc, release ...chan struct{}) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { // runs first: cleanups are LIFO
		for _, ch := range release {
			close(ch)
		}
	})
	return srv
}

// config is an http upstream named "test" at rawURL.
func config(t testing.TB, rawURL string) Config {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return Config{Name: "test", Kind: KindHTTP, URL: u}
}

// refusedURL is the URL of a listener that has been closed: connecting to
// it is refused at once.
func refusedURL(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// newUpstream is New that fails the test on error and closes with it.
func newUpstream(t testing.TB, cfg Config, opts Options) *Upstream {
	t.Helper()
	u, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(u.Close)
	return u
}

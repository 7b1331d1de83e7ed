package bench

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/server"
)

// fanOut is the fixture running in a test: four httptest backends, the
// compiled fan-out pipeline against them, and its Runtime (connectors and
// engine). The counters say how many TCP connections each side accepted,
// so that a benchmark can show it is not measuring connection setup.
type fanOut struct {
	backends     map[string]*httptest.Server
	backendConns atomic.Int64
	rt           *server.Runtime
	p            *pipeline.Compiled
}

// newFanOut starts the backends, each wrapped by wrap (nil: as they are),
// and builds the Runtime. Everything is closed when tb ends.
func newFanOut(tb testing.TB, wrap func(http.Handler) http.Handler) *fanOut {
	tb.Helper()
	f := &fanOut{backends: map[string]*httptest.Server{}}
	urls := map[string]string{}
	for _, name := range Backends() {
		h := Handler(name, 0)
		if wrap != nil {
			h = wrap(h)
		}
		srv := startCounting(tb, h, &f.backendConns)
		f.backends[name], urls[name] = srv, srv.URL
	}
	plan, err := Load(urls)
	if err != nil {
		tb.Fatalf("loading the fixture directory: %v", err)
	}
	if f.rt, err = server.Build(plan, discard()); err != nil {
		tb.Fatalf("building the runtime: %v", err)
	}
	tb.Cleanup(f.rt.Close)
	if f.p = plan.Pipeline(PipelineName); f.p == nil {
		tb.Fatalf("pipeline %q not in the plan", PipelineName)
	}
	return f
}

// gateway serves the fixture's Runtime over HTTP with Manifold's listener
// limits, counting accepted connections in conns.
func (f *fanOut) gateway(tb testing.TB, conns *atomic.Int64) *httptest.Server {
	tb.Helper()
	srv := httptest.NewUnstartedServer(nil)
	srv.Config = server.NewHTTPServer(server.New(f.rt, server.Options{Logger: discard()}), discard())
	countConns(srv, conns)
	srv.Start()
	tb.Cleanup(srv.Close)
	return srv
}

// startCounting starts an httptest server for h that counts the
// connections it accepts in conns.
func startCounting(tb testing.TB, h http.Handler, conns *atomic.Int64) *httptest.Server {
	tb.Helper()
	srv := httptest.NewUnstartedServer(h)
	countConns(srv, conns)
	srv.Start()
	tb.Cleanup(srv.Close)
	return srv
}

func countConns(srv *httptest.Server, conns *atomic.Int64) {
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
}

// client is a keep-alive client with room for as many idle connections as
// a parallel benchmark has goroutines.
func client(tb testing.TB) *http.Client {
	tr := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// get sends a GET and drains the answer, so that the connection is reused.
// It returns the status and the body.
func get(c *http.Client, url string) (int, []byte, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

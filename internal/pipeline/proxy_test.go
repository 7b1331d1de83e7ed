package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/connectors"
	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/problem"
)

const proxyPipeline = `
name: pass
path: /pass
proxy: true
timeout: 1s
steps:
  s:
    upstream: api
    path: /raw
    relay_headers: [ETag, X-Private, Set-Cookie]
`

// rawBackend answers /raw with the status, content type and body given,
// and a header the Connection header makes hop-by-hop.
func rawBackend(t *testing.T, status int, ctype string, body []byte) *backend {
	return newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", ctype)
		h.Set("ETag", `"e1"`)
		h.Set("X-Private", "hop")
		h.Set("Connection", "X-Private")
		h.Set("X-Other", "not relayed")
		h.Set("Accept-Seen", r.Header.Get("Accept"))
		w.WriteHeader(status)
		_, _ = w.Write(body)
	})
}

func proxy(t *testing.T, rt interface {
	Proxy(context.Context, *pipeline.Compiled, pipeline.Input) (*pipeline.Passthrough, error)
}, p *pipeline.Compiled) (*pipeline.Passthrough, []byte, error) {
	t.Helper()
	pt, err := rt.Proxy(context.Background(), p, pipeline.Input{})
	if err != nil {
		return pt, nil, err
	}
	defer pt.Body.Close()
	b, err := io.ReadAll(pt.Body)
	return pt, b, err
}

func TestProxyRelaysStatusHeadersBody(t *testing.T) {
	for _, status := range []int{200, 201, 404, 500} {
		b := rawBackend(t, status, "application/json", []byte(`{"a":  1}`))
		rt := load(t, map[string]string{"api": b.URL}, proxyPipeline)
		pt, body, err := proxy(t, rt.Engine, rt.Plan.Pipeline("pass"))
		if err != nil {
			t.Fatalf("%d: %v", status, err)
		}
		want := http.Header{"Content-Type": {"application/json"}, "Etag": {`"e1"`}}
		if pt.Status != status || string(body) != `{"a":  1}` || !equalHeader(pt.Header, want) {
			t.Errorf("%d: got %d %v %q", status, pt.Status, pt.Header, body)
		}
		if len(pt.Steps) != 1 || pt.Steps[0].Status != status || pt.Steps[0].Upstream != "api" {
			t.Errorf("%d: steps %+v", status, pt.Steps)
		}
	}
}

func equalHeader(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range b {
		if len(a[k]) != len(v) || a[k][0] != v[0] {
			return false
		}
	}
	return true
}

// TestProxyAcceptsAnything: a proxy's call accepts any media type.
func TestProxyAcceptsAnything(t *testing.T) {
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, r.Header.Get("Accept")) })
	rt := load(t, map[string]string{"api": b.URL}, proxyPipeline)
	if _, body, err := proxy(t, rt.Engine, rt.Plan.Pipeline("pass")); err != nil || string(body) != "*/*" {
		t.Errorf("Accept sent: %q, %v", body, err)
	}
}

// TestProxyTimeoutCutsBody: the pipeline's timeout bounds the body too.
func TestProxyTimeoutCutsBody(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(bytes.Repeat([]byte("z"), 100))
		w.(http.Flusher).Flush()
		select {
		case <-stop:
		case <-r.Context().Done():
		}
	})
	rt := load(t, map[string]string{"api": b.URL}, proxyPipeline)
	start := time.Now()
	_, _, err := proxy(t, rt.Engine, rt.Plan.Pipeline("pass"))
	var te *pipeline.TimeoutError
	if !errors.As(err, &te) || te.Pending[0] != "s" || time.Since(start) > 5*time.Second {
		t.Errorf("err = %v after %s, want the pipeline's timeout", err, time.Since(start))
	}
}

// TestProxyUpstreamCap: an announced length over the upstream's
// max_response fails before anything is relayed.
func TestProxyTooLarge(t *testing.T) {
	b := rawBackend(t, 200, "text/plain", bytes.Repeat([]byte("x"), gateway.DefaultMaxResponse+1))
	rt := load(t, map[string]string{"api": b.URL}, proxyPipeline)
	_, _, err := proxy(t, rt.Engine, rt.Plan.Pipeline("pass"))
	if p := problem.From(err); p.Status != http.StatusBadGateway || p.Type != problem.TypePrefix+"response-too-large" {
		t.Errorf("err %v gives %+v", err, p)
	}
}

// TestProxyOtherSurfaces: Run (GraphQL, MCP) decodes JSON, gives text as a
// string, and refuses other bytes with a 406.
func TestProxyOtherSurfaces(t *testing.T) {
	for _, tc := range []struct {
		ctype, body string
		want        any
		status      int
	}{
		{"application/json", `{"a":1}`, map[string]any{"a": 1.0}, 0},
		{"application/problem+json", `[1]`, []any{1.0}, 0},
		{"text/csv", "a,b\n", "a,b\n", 0},
		{"image/png", "\x89PNG\x00\xff", nil, http.StatusNotAcceptable},
	} {
		b := rawBackend(t, 200, tc.ctype, []byte(tc.body))
		rt := load(t, map[string]string{"api": b.URL}, proxyPipeline)
		res, err := run(t, rt, "pass", nil)
		if tc.status != 0 {
			if p := problem.From(err); p.Status != tc.status {
				t.Errorf("%s: err %v gives %d, want %d", tc.ctype, err, p.Status, tc.status)
			}
			continue
		}
		if err != nil || !jsonEq(res.Data, tc.want) || res.Header.Get("Etag") != `"e1"` {
			t.Errorf("%s: %v %v %v", tc.ctype, res, err, res.Header)
		}
	}
}

func jsonEq(a, b any) bool {
	switch x := b.(type) {
	case map[string]any:
		m, ok := a.(map[string]any)
		return ok && len(m) == len(x) && m["a"] == x["a"]
	case []any:
		l, ok := a.([]any)
		return ok && len(l) == len(x) && l[0] == x[0]
	}
	return a == b
}

// TestRelayFromNamedStep: only the named step's headers are relayed, and
// not those its Connection header makes hop-by-hop.
func TestRelayFromNamedStep(t *testing.T) {
	b := rawBackend(t, 200, "application/json", []byte(`{"v":1}`))
	rt := load(t, map[string]string{"api": b.URL}, `
name: two
path: /two
steps:
  a: {upstream: api, path: /raw, relay_headers: [ETag, X-Private]}
  b: {upstream: api, path: /raw, select: .v}
`)
	res, err := run(t, rt, "two", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !equalHeader(res.Header, http.Header{"Etag": {`"e1"`}}) {
		t.Errorf("relayed %v", res.Header)
	}
}

// TestStreamReleasesBulkhead: a streamed body holds its upstream's
// bulkhead slot until it is closed.
func TestStreamReleasesBulkhead(t *testing.T) {
	b := rawBackend(t, 200, "text/plain", []byte("ok"))
	up, err := connectors.New(connectors.Config{Name: "api", URL: mustURL(t, b.URL), Concurrency: 1}, connectors.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	resp, err := up.Do(context.Background(), &connectors.Request{Path: "/raw", Stream: true})
	if err != nil || resp.Stream == nil || up.InFlight() != 1 {
		t.Fatalf("stream: %v, in flight %d", err, up.InFlight())
	}
	resp.Stream.Close()
	if up.InFlight() != 0 {
		t.Errorf("in flight after Close: %d", up.InFlight())
	}
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

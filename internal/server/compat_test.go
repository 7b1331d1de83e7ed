package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// TestCORSPreflightNotAllowed: a preflight for a method or a header the
// gateway does not allow succeeds without Access-Control-Allow-*, so the
// browser refuses the request (as rs/cors, KrakenD's, answers).
func TestCORSPreflightNotAllowed(t *testing.T) {
	cfg := &gateway.CORS{Origins: []string{"*"}, Methods: []string{"GET", "POST"}, Headers: []string{"Origin", "Content-Type"}}
	h := CORS(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { t.Error("a preflight reached the pipeline") }), cfg)
	for _, c := range []struct {
		method, headers string
		allowed         bool
	}{{"GET", "content-type,origin", true}, {"get", "", true}, {"PUT", "", false}, {"POST", "X-PINGOTHER", false}} {
		r := httptest.NewRequest(http.MethodOptions, "/a", nil)
		r.Header.Set("Origin", "http://foo.example")
		r.Header.Set("Access-Control-Request-Method", c.method)
		if c.headers != "" {
			r.Header.Set("Access-Control-Request-Headers", c.headers)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		got := w.Header().Get("Access-Control-Allow-Origin") != "" && w.Header().Get("Access-Control-Allow-Methods") != ""
		if w.Code != http.StatusNoContent || got != c.allowed {
			t.Errorf("%s %q: %d %v, want 204 allowed=%v", c.method, c.headers, w.Code, w.Header(), c.allowed)
		}
	}
}

// refuseBearer refuses every Authorization header: the gateway cannot
// verify the upstream's tokens.
type refuseBearer struct{}

func (refuseBearer) Authenticate(r *http.Request) (*pipeline.Identity, error) {
	if r.Header.Get("Authorization") != "" {
		return nil, errors.New("not a token of ours")
	}
	return nil, nil
}

// TestCacheControlAndUpstreamBearer: cache_control is on complete
// answers only; a public pipeline forwarding Authorization is not
// authenticated with it, any other pipeline is.
func TestCacheControlAndUpstreamBearer(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/down" {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"auth":%q}`, r.Header.Get("Authorization"))
	}))
	defer up.Close()
	rt, err := Build(loadPlan(t, map[string]string{
		"gateway.yaml": fmt.Sprintf("upstreams:\n  up: {url: %q}\n", up.URL),
		"whole.yaml":   "name: whole\npath: /whole\naccess: public\ncache_control: public, max-age=60\nforward_headers: [Authorization]\nsteps:\n  s: {upstream: up, path: /ok}\n",
		"part.yaml":    "name: part\npath: /part\naccess: public\ncache_control: max-age=60\nsteps:\n  s: {upstream: up, path: /ok}\n  d: {upstream: up, path: /down, optional: true}\n",
		"fail.yaml":    "name: fail\npath: /fail\naccess: public\ncache_control: max-age=60\nsteps:\n  d: {upstream: up, path: /down}\n",
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	srv := httptest.NewServer(New(rt, Options{Auth: refuseBearer{}}))
	defer srv.Close()
	get := func(path, auth string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if resp, body := get("/whole", "Bearer upstream-token"); resp.StatusCode != 200 ||
		resp.Header.Get("Cache-Control") != "public, max-age=60" || body != `{"s":{"auth":"Bearer upstream-token"}}` {
		t.Errorf("whole: %d %q %s", resp.StatusCode, resp.Header.Get("Cache-Control"), body)
	}
	if resp, _ := get("/part", ""); resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "" {
		t.Errorf("part: %d Cache-Control %q, want none on an incomplete answer", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	if resp, _ := get("/fail", ""); resp.StatusCode != 502 || resp.Header.Get("Cache-Control") != "" {
		t.Errorf("fail: %d Cache-Control %q, want none on a problem", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	if resp, _ := get("/part", "Bearer upstream-token"); resp.StatusCode == 200 {
		t.Errorf("part with a token it cannot verify: %d, want the authenticator's refusal", resp.StatusCode)
	}
}

package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/problem"
	"github.com/manifoldgw/manifold/internal/refusal"
)

// sseSurface opens an event stream with OpenStream at GET /events and
// holds it until the stream's context ends.
type sseSurface struct{ opened chan *Stream }

func (e *sseSurface) Mount(mux *http.ServeMux, s *Server, _ *Runtime) error {
	mux.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) {
		st, err := s.OpenStream(w, r)
		if err != nil {
			writeErr(w, err)
			return
		}
		defer st.Close()
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		e.opened <- st
		<-st.Context().Done()
	})
	mux.HandleFunc("GET /plain", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	return nil
}

// fixedAuth names every caller by its X-Who header; StillValid admits
// the names in valid.
type fixedAuth struct{ valid map[string]bool }

func (a *fixedAuth) Authenticate(r *http.Request) (*pipeline.Identity, error) {
	who := r.Header.Get("X-Who")
	if who == "" {
		return nil, nil
	}
	id := &pipeline.Identity{Name: who, Source: pipeline.IdentityKey}
	if d, err := time.ParseDuration(r.Header.Get("X-Expires-In")); err == nil {
		id.Expires = time.Now().Add(d)
	}
	return id, nil
}

func (a *fixedAuth) StillValid(id *pipeline.Identity) bool { return a.valid[id.Name] }

type streamGateway struct {
	srv      *Server
	url      string
	events   *sseSurface
	auth     *fixedAuth
	refusals *refusal.Counts
	files    map[string]string
}

func newStreamGateway(t *testing.T, serverYAML string, maxConcurrent int) *streamGateway {
	t.Helper()
	up := backend(t, `{"v":1}`, nil)
	files := map[string]string{
		"gateway.yaml": fmt.Sprintf("server: {%s}\nupstreams:\n  up: {url: %q}\n", serverYAML, up.URL),
		"p.yaml":       "name: p\npath: /p\nsteps:\n  s: {upstream: up, path: /}\n",
	}
	rt, err := Build(loadPlan(t, files), nil)
	if err != nil {
		t.Fatal(err)
	}
	g := &streamGateway{events: &sseSurface{opened: make(chan *Stream, 64)}, auth: &fixedAuth{valid: map[string]bool{"ann": true, "bob": true}},
		refusals: new(refusal.Counts), files: files}
	g.srv = New(rt, Options{Surfaces: []Surface{g.events}, Auth: g.auth, Refusals: g.refusals})
	var h http.Handler = g.srv
	if maxConcurrent > 0 {
		h = MaxConcurrent(h, maxConcurrent)
	}
	front := httptest.NewServer(h)
	t.Cleanup(front.Close)
	g.url = front.URL
	return g
}

// open starts an event stream as who and waits until it is set up.
func (g *streamGateway) open(t *testing.T, header map[string]string) (*http.Response, *Stream) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, g.url+"/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		return resp, nil
	}
	select {
	case st := <-g.events.opened:
		return resp, st
	case <-time.After(5 * time.Second):
		t.Fatal("the stream was not set up")
	}
	return resp, nil
}

func waitDone(t *testing.T, st *Stream, why string) {
	t.Helper()
	select {
	case <-st.Context().Done():
	case <-time.After(5 * time.Second):
		t.Fatalf("the stream stayed open: %s", why)
	}
}

func TestStreamsBoundedPerClientAndInTotal(t *testing.T) {
	g := newStreamGateway(t, "max_streams: 3, max_streams_per_client: 2", 0)
	_, first := g.open(t, nil)
	g.open(t, nil)
	resp, st := g.open(t, nil)
	var p struct{ Type, Detail string }
	_ = json.NewDecoder(resp.Body).Decode(&p)
	if st != nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
		p.Type != "urn:manifold:problem:too-many-streams" {
		t.Fatalf("third stream of one client: %d %q %+v; want 503 too-many-streams with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"), p)
	}
	if g.refusals.Get(RefusedStreamsPerClient) != 1 {
		t.Errorf("refusals counted: %d, want 1", g.refusals.Get(RefusedStreamsPerClient))
	}
	first.Close()
	if _, st := g.open(t, nil); st == nil {
		t.Fatal("a closed stream did not give its slot back")
	}
	if g.srv.StreamCount() != 2 {
		t.Errorf("open streams: %d, want 2", g.srv.StreamCount())
	}
}

// TestStreamGivesBackItsConcurrencySlot: with max_concurrent 1, an open
// stream does not keep single answers out.
func TestStreamGivesBackItsConcurrencySlot(t *testing.T) {
	g := newStreamGateway(t, "", 1)
	g.open(t, nil)
	resp, err := http.Get(g.url + "/plain")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a plain request beside an open stream: %d, want 200", resp.StatusCode)
	}
}

// TestStreamWithSecondAcceptLine: text/event-stream asked for on a
// second Accept line still makes the request a stream that gives its
// max_concurrent slot back.
func TestStreamWithSecondAcceptLine(t *testing.T) {
	g := newStreamGateway(t, "", 1)
	req, _ := http.NewRequest(http.MethodGet, g.url+"/events", nil)
	req.Header["Accept"] = []string{"application/json", "text/event-stream"}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	select {
	case <-g.events.opened:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream was not set up")
	}
	plain, err := http.Get(g.url + "/plain")
	if err != nil {
		t.Fatal(err)
	}
	plain.Body.Close()
	if plain.StatusCode != http.StatusOK {
		t.Fatalf("a plain request beside the stream: %d, want 200", plain.StatusCode)
	}
}

func TestStreamEndsWhenTheCredentialExpires(t *testing.T) {
	g := newStreamGateway(t, "", 0)
	_, st := g.open(t, map[string]string{"X-Who": "ann", "X-Expires-In": "200ms"})
	waitDone(t, st, "its token expired")
	_, st = g.open(t, map[string]string{"X-Who": "ann"})
	select {
	case <-st.Context().Done():
		t.Fatal("a stream without expiry ended")
	case <-time.After(300 * time.Millisecond):
	}
}

func TestStreamEndsWhenAReloadRemovesTheCaller(t *testing.T) {
	g := newStreamGateway(t, "", 0)
	_, ann := g.open(t, map[string]string{"X-Who": "ann"})
	_, bob := g.open(t, map[string]string{"X-Who": "bob"})
	g.auth.valid = map[string]bool{"ann": true} // the reload below drops bob
	next, err := Build(loadPlan(t, g.files), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.srv.Swap(next); err != nil {
		t.Fatal(err)
	}
	waitDone(t, bob, "the reload removed its consumer")
	if ann.Context().Err() != nil {
		t.Error("a stream whose caller is still valid ended at the reload")
	}
}

func writeErr(w http.ResponseWriter, err error) { problem.Write(w, problem.From(err)) }

// TestStreamsPerClientCountAnIPv6Slash64: one host may take any address
// of its /64, so the per-client bound counts the /64, not the address.
func TestStreamsPerClientCountAnIPv6Slash64(t *testing.T) {
	g := newStreamGateway(t, "max_streams: 10, max_streams_per_client: 2", 0)
	g.srv.opts.ClientIP = func(r *http.Request) string { return r.Header.Get("X-Client") }
	g.open(t, map[string]string{"X-Client": "2001:db8:1:2::1"})
	g.open(t, map[string]string{"X-Client": "2001:db8:1:2::2"})
	if resp, st := g.open(t, map[string]string{"X-Client": "2001:db8:1:2:ffff::3"}); st != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a third stream from the same /64: %d, want 503 too-many-streams", resp.StatusCode)
	}
	if _, st := g.open(t, map[string]string{"X-Client": "2001:db8:1:3::1"}); st == nil {
		t.Fatal("a stream from another /64 was refused")
	}
}

package fuzz

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzPath sends any request target (path and query) as a client would
// write it on the wire. Whatever it is, the gateway answers a problem
// (400 for an unclean path, 404 or 405 for no route) or runs the
// pipeline; never a 5xx. When item runs, its id is the one path segment
// the client sent, decoded, and it reaches the upstream as one escaped
// segment: no dot segment, slash or backslash of the caller's makes it
// another path upstream.
func FuzzPath(f *testing.F) {
	for _, s := range []string{
		"/v1/items/p1", "/v1/items/Z%C3%BCrich", "/v1/items/a%20b?x=1", "/v1/items/..", "/v1/items/%2e%2e",
		"/v1/items/a%2Fb", "/v1/items/a%5cb", "/v1/items/a\\b", "/v1/items/%00", "/v1/items/", "/v1/items//x",
		"/v1/./items/p1", "/v1/items/p1/../p2", "//v1/items/p1", "/v1/ITEMS/p1", "/v1/items/%", "/v1/items/%zz",
		"/v1/items/a;b=c", "/v1/items/a#frag", "/v1/search?q=%ff", "/v1/search?q=a&q=b", "/v1/orders",
		"/healthz", "*", "http://evil.test/v1/items/p1", "/v1/items/" + strings.Repeat("a", 300),
	} {
		f.Add(s)
	}
	g := newGateway(f)
	f.Fuzz(func(t *testing.T, target string) {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + target + " HTTP/1.1\r\nHost: gw.test\r\n\r\n")))
		if err != nil {
			return // net/http refuses it before any handler
		}
		a := g.serve(r)
		if a.status >= 500 {
			t.Fatalf("GET %q: %d: %s", target, a.status, a.body)
		}
		if a.status >= 300 && a.status < 400 {
			// net/http's ServeMux sends a path with an empty segment
			// ("//") to its cleaned form: a redirect on this host only.
			if loc := a.header.Get("Location"); !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.Contains(loc, "\\") {
				t.Fatalf("GET %q: %d to %q, want a path on this host", target, a.status, loc)
			}
			return
		}
		if a.status != http.StatusOK {
			clientError(t, "GET "+target, a)
			return
		}
		if !strings.HasPrefix(r.URL.Path, "/v1/items/") {
			return // /healthz, /v1/search
		}
		var out struct{ ID, UpstreamPath string }
		if err := json.Unmarshal(a.body, &struct {
			ID           *string `json:"id"`
			UpstreamPath *string `json:"upstream_path"`
		}{&out.ID, &out.UpstreamPath}); err != nil {
			t.Fatalf("GET %q: 200 with %s: %v", target, a.body, err)
		}
		checkItem(t, target, r.URL, out.ID, out.UpstreamPath)
	})
}

// checkItem checks an accepted item id: it is the request's last path
// segment, decoded, and the upstream got /items/ and that id escaped as
// one segment.
func checkItem(t *testing.T, target string, u *url.URL, id, upstream string) {
	t.Helper()
	if want := strings.TrimPrefix(u.Path, "/v1/items/"); id != want {
		t.Fatalf("GET %q: id %q, want the decoded segment %q", target, id, want)
	}
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, "/\\") {
		t.Fatalf("GET %q: accepted id %q, which is not one clean segment", target, id)
	}
	seg, ok := strings.CutPrefix(upstream, "/items/")
	if !ok || strings.ContainsAny(seg, "/?#") {
		t.Fatalf("GET %q: upstream path %q, want /items/ and one segment", target, upstream)
	}
	if back, err := url.PathUnescape(seg); err != nil || back != id {
		t.Fatalf("GET %q: upstream segment %q decodes to %q (%v), want %q", target, seg, back, err, id)
	}
}

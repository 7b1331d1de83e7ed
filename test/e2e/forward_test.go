package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

const forwardPipelines = `name: fwd
path: /fwd
forward_headers: ["*", "!X-Debug", Authorization]
steps:
  all: {upstream: echo, path: /a}
  named:
    upstream: echo
    path: /b
    forward_headers: [Accept-Language, "X-Tenant-*"]
  none:
    upstream: echo
    path: /c
    forward_headers: []
  quiet: {upstream: quiet, path: /d}
`

// TestForwardHeaders sends a caller's headers through the wildcard, a
// step's own list and an empty list, and checks what never passes a
// wildcard.
func TestForwardHeaders(t *testing.T) {
	up := echoBackend(t)
	base, _ := serveDir(t, map[string]string{
		"gateway.yaml": fmt.Sprintf("upstreams:\n  echo: {url: %q}\n  quiet: {url: %q, forwarded: false}\n", up.URL, up.URL),
		"fwd.yaml":     forwardPipelines,
	})
	h := http.Header{
		"Accept-Language": {"de-CH"}, "X-Tenant-Id": {"t1"}, "X-Debug": {"1"}, "X-Custom": {"c"},
		"Authorization": {"Bearer caller"}, "Cookie": {"s=1"}, "X-Api-Key": {"k"}, "Manifold-Trace": {"x"},
		"Proxy-Authorization": {"p"}, "Connection": {"X-Hop"}, "X-Hop": {"h"}, "X-Forwarded-For": {"6.6.6.6"},
		"Forwarded": {"for=6.6.6.6"},
	}
	code, body := getH(t, base+"/fwd", h)
	var got map[string]echoed
	if code != 200 || json.Unmarshal(body, &got) != nil {
		t.Fatalf("got %d %s", code, body)
	}
	all := got["all"].Header
	for _, k := range []string{"Accept-Language", "X-Tenant-Id", "X-Custom", "Authorization"} {
		if first(all, k) != h.Get(k) {
			t.Errorf(`"*": %s = %q, want %q`, k, first(all, k), h.Get(k))
		}
	}
	for _, k := range []string{"X-Debug", "Cookie", "X-Api-Key", "Manifold-Trace", "Proxy-Authorization", "X-Hop"} {
		if v, ok := all[k]; ok {
			t.Errorf(`"*" forwarded %s: %q`, k, v)
		}
	}
	if first(all, "X-Forwarded-For") != "127.0.0.1" || first(all, "X-Forwarded-Proto") != "http" ||
		first(all, "X-Forwarded-Host") != strings.TrimPrefix(base, "http://") ||
		first(all, "Forwarded") != fmt.Sprintf(`for=127.0.0.1;host=%q;proto=http`, strings.TrimPrefix(base, "http://")) {
		t.Errorf("untrusted peer: X-Forwarded-* %q %q %q, Forwarded %q; want a new chain from the peer",
			all["X-Forwarded-For"], all["X-Forwarded-Host"], all["X-Forwarded-Proto"], all["Forwarded"])
	}
	named := got["named"].Header
	if first(named, "Accept-Language") != "de-CH" || first(named, "X-Tenant-Id") != "t1" || named["X-Custom"] != nil || named["Authorization"] != nil {
		t.Errorf("a step's list replaces the pipeline's: got %v", named)
	}
	if none := got["none"].Header; none["Accept-Language"] != nil || first(none, "X-Forwarded-For") != "127.0.0.1" {
		t.Errorf("forward_headers: [] forwards no caller header (X-Forwarded-* still): got %v", none)
	}
	if quiet := got["quiet"].Header; quiet["X-Forwarded-For"] != nil || quiet["Forwarded"] != nil || first(quiet, "Accept-Language") != "de-CH" {
		t.Errorf("forwarded: false sends no X-Forwarded-*: got %v", quiet)
	}
}

// TestForwardedTrustedProxy appends the peer to the chain a trusted
// proxy sent, and believes its host and protocol.
func TestForwardedTrustedProxy(t *testing.T) {
	up := echoBackend(t)
	base, _ := serveDir(t, map[string]string{
		"gateway.yaml": fmt.Sprintf("server: {trusted_proxies: [127.0.0.1/32]}\nupstreams:\n  echo: {url: %q}\n", up.URL),
		"p.yaml":       "name: p\npath: /p\nsteps:\n  s: {upstream: echo, path: /a}\n",
	})
	code, body := getH(t, base+"/p", http.Header{
		"X-Forwarded-For": {"203.0.113.9, 10.0.0.1"}, "X-Forwarded-Host": {"api.example"},
		"X-Forwarded-Proto": {"https"}, "Forwarded": {`for=203.0.113.9;proto=https`},
	})
	var got struct{ S echoed }
	if code != 200 || json.Unmarshal(body, &got) != nil {
		t.Fatalf("got %d %s", code, body)
	}
	host := strings.TrimPrefix(base, "http://")
	h := got.S.Header
	want := map[string]string{
		"X-Forwarded-For": "203.0.113.9, 10.0.0.1, 127.0.0.1", "X-Forwarded-Host": "api.example", "X-Forwarded-Proto": "https",
		"Forwarded": fmt.Sprintf(`for=203.0.113.9;proto=https, for=127.0.0.1;host=%q;proto=http`, host),
	}
	for k, v := range want {
		if first(h, k) != v {
			t.Errorf("%s = %q, want %q", k, first(h, k), v)
		}
	}
}

// TestForwardedHeadersKeyTheCache: a cached pipeline's answer depends on
// the headers its steps forward, so each Accept-Language gets its own.
func TestForwardedHeadersKeyTheCache(t *testing.T) {
	up := echoBackend(t)
	base, _ := serveDir(t, map[string]string{
		"gateway.yaml": fmt.Sprintf("upstreams:\n  echo: {url: %q}\n", up.URL),
		"p.yaml":       "name: p\npath: /p\ncache: 1m\nforward_headers: [Accept-Language]\nsteps:\n  s: {upstream: echo, path: /a}\noutput: .s.header[\"Accept-Language\"][0]\n",
	})
	for _, lang := range []string{"de", "fr", "de"} {
		code, body := getH(t, base+"/p", http.Header{"Accept-Language": {lang}})
		if code != 200 || string(body) != `"`+lang+`"` {
			t.Errorf("Accept-Language %s: got %d %s", lang, code, body)
		}
	}
}

package pipeline_test

import (
	"context"
	"net/http"
	"testing"
	"testing/fstest"

	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// TestForwardRules runs a step with each kind of forward_headers entry
// and checks what reaches the upstream, and what never does through a
// wildcard.
func TestForwardRules(t *testing.T) {
	seen := make(chan http.Header, 8)
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		jsonHandler(`{}`)(w, r)
	})
	caller := http.Header{
		"Accept-Language": {"fr"}, "X-Tenant-Id": {"t"}, "X-Tenant-Debug": {"d"}, "X-Other": {"o"},
		"Authorization": {"Bearer c"}, "Cookie": {"c=1"}, "Host": {"h"}, "X-Api-Key": {"k"},
		"Manifold-Debug": {"m"}, "Keep-Alive": {"5"}, "Te": {"trailers"}, "Upgrade": {"h2c"},
		"Proxy-Authorization": {"p"}, "Connection": {"X-Named"}, "X-Named": {"n"}, "Accept-Encoding": {"br"},
		"If-None-Match": {`"e"`}, "Traceparent": {"00-x"}, "X-Forwarded-For": {"1.2.3.4"},
	}
	tests := []struct {
		list      string
		want, not []string
	}{
		{`["*"]`, []string{"Accept-Language", "X-Tenant-Id", "X-Tenant-Debug", "X-Other"},
			[]string{"Authorization", "Cookie", "X-Api-Key", "Manifold-Debug", "Keep-Alive", "Te", "Upgrade", "Proxy-Authorization", "X-Named", "If-None-Match", "Traceparent", "X-Forwarded-For"}},
		{`["X-Tenant-*", "!X-Tenant-Debug"]`, []string{"X-Tenant-Id"}, []string{"X-Tenant-Debug", "Accept-Language", "X-Other"}},
		{`[Accept-Language, Authorization, Cookie, X-Named, If-None-Match]`, []string{"Accept-Language", "Authorization", "Cookie", "X-Named", "If-None-Match"}, []string{"X-Other"}},
		{`["*", "!X-Other", "!x-tenant-*"]`, []string{"Accept-Language"}, []string{"X-Other", "X-Tenant-Id"}},
		{`[]`, nil, []string{"Accept-Language", "X-Other"}},
	}
	for _, tt := range tests {
		t.Run(tt.list, func(t *testing.T) {
			rt := load(t, map[string]string{"up": b.URL}, "name: p\npath: /p\nforward_headers: ["+"X-Other"+"]\nsteps:\n  s: {upstream: up, path: /s, forward_headers: "+tt.list+"}\n")
			if _, err := rt.Engine.Run(context.Background(), rt.Plan.Pipeline("p"), pipeline.Input{Header: caller}); err != nil {
				t.Fatal(err)
			}
			got := <-seen
			for _, k := range tt.want {
				if got.Get(k) != caller.Get(k) {
					t.Errorf("%s = %q, want %q", k, got.Get(k), caller.Get(k))
				}
			}
			for _, k := range tt.not {
				if v := got.Values(k); len(v) > 0 && (k != "Accept-Encoding" || v[0] == "br") {
					t.Errorf("%s forwarded: %q", k, v)
				}
			}
			if got.Get("Accept-Encoding") == "br" {
				t.Errorf("Accept-Encoding forwarded: the gateway negotiates its own")
			}
		})
	}
}

// TestForwardPrecedence: the step's and the upstream's own headers win
// over a forwarded one; X-Forwarded-* comes from Input.Via only.
func TestForwardPrecedence(t *testing.T) {
	seen := make(chan http.Header, 1)
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		jsonHandler(`{}`)(w, r)
	})
	rt := load(t, map[string]string{"up": b.URL}, "name: p\npath: /p\nforward_headers: [\"*\"]\nsteps:\n  s: {upstream: up, path: /s, headers: {X-Mine: step}}\n")
	via := http.Header{"X-Forwarded-For": {"9.9.9.9"}}
	if _, err := rt.Engine.Run(context.Background(), rt.Plan.Pipeline("p"), pipeline.Input{Header: http.Header{"X-Mine": {"caller"}, "X-Forwarded-For": {"6.6.6.6"}}, Via: func() http.Header { return via }}); err != nil {
		t.Fatal(err)
	}
	got := <-seen
	if got.Get("X-Mine") != "step" || got.Get("X-Forwarded-For") != "9.9.9.9" {
		t.Errorf("X-Mine %q, X-Forwarded-For %q; want the step's header and Via's chain", got.Get("X-Mine"), got.Get("X-Forwarded-For"))
	}
}

// TestForwardLoadErrors: a bad forward_headers is one located error.
func TestForwardLoadErrors(t *testing.T) {
	tests := []struct{ list, want string }{
		{`Accept-Language`, `forward_headers: want a list of header names, such as [Accept-Language, "X-Tenant-*"] or ["*", "!X-Debug"], got "Accept-Language"`},
		{`["X Bad"]`, `forward_headers[0]: "X Bad" is not a valid header name`},
		{`[Connection]`, `forward_headers[0]: "Connection" is hop-by-hop: it describes the caller's connection, not the request`},
		{`[Proxy-Authorization]`, `forward_headers[0]: "Proxy-Authorization" is hop-by-hop: it describes the caller's connection, not the request`},
		{`[Host]`, `forward_headers[0]: "Host" is set by the gateway for each upstream connection`},
		{`[X-Forwarded-For]`, `forward_headers[0]: "X-Forwarded-For" is set by the gateway from server.trusted_proxies (see the upstream's forwarded)`},
		{`[A, a]`, `forward_headers[1]: "a" is listed twice`},
		{`[A, "!B"]`, `forward_headers[1]: an exclusion narrows a wildcard: add "*" or a prefix such as "X-Tenant-*"`},
		{`["!*"]`, `forward_headers[0]: "!*" excludes everything: write forward_headers: [] to forward nothing`},
		{`["X-*-Id"]`, "forward_headers[0]: \"X-*-Id\": * may only end a prefix, as in \"X-Tenant-*\""},
	}
	for _, tt := range tests {
		t.Run(tt.list, func(t *testing.T) {
			_, err := pipeline.Load(forwardFS("name: p\npath: /p\nforward_headers: "+tt.list+"\nsteps:\n  s: {upstream: up, path: /s}\n"), "", pipeline.LoadOptions{})
			es, ok := yamlconf.AsErrors(err)
			if !ok || len(es) != 1 {
				t.Fatalf("Load = %v, want one error", err)
			}
			if got := es[0].Key + ": " + es[0].Msg; got != tt.want {
				t.Errorf("error = %q\nwant    %q", got, tt.want)
			}
			if es[0].Line != 3 {
				t.Errorf("error at line %d, want 3", es[0].Line)
			}
		})
	}
}

// forwardFS is a directory with one upstream and the pipeline p.
func forwardFS(p string) fstest.MapFS {
	return fstest.MapFS{
		"gateway.yaml": {Data: []byte("upstreams:\n  up: {url: \"http://127.0.0.1:1\"}\n")},
		"p.yaml":       {Data: []byte(p)},
	}
}

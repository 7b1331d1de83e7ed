package server

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestVia(t *testing.T) {
	via, err := Via([]string{"10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	req := func(peer string, h http.Header, secure bool) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/p", nil)
		r.RemoteAddr, r.Host, r.Header = peer, "gw.example:8443", h
		if secure {
			r.TLS = &tls.ConnectionState{}
		}
		return r
	}
	spoof := http.Header{"X-Forwarded-For": {"6.6.6.6"}, "X-Forwarded-Host": {"evil"}, "X-Forwarded-Proto": {"gopher"}, "Forwarded": {"for=6.6.6.6"}}
	tests := []struct {
		name string
		r    *http.Request
		want http.Header
	}{
		{"untrusted peer starts a new chain", req("203.0.113.5:1234", spoof, true), http.Header{
			"X-Forwarded-For": {"203.0.113.5"}, "X-Forwarded-Host": {"gw.example:8443"}, "X-Forwarded-Proto": {"https"},
			"Forwarded": {`for=203.0.113.5;host="gw.example:8443";proto=https`}}},
		{"trusted peer's chain is kept and the peer appended", req("10.1.2.3:1234", spoof, false), http.Header{
			"X-Forwarded-For": {"6.6.6.6, 10.1.2.3"}, "X-Forwarded-Host": {"evil"}, "X-Forwarded-Proto": {"gopher"},
			"Forwarded": {`for=6.6.6.6, for=10.1.2.3;host="gw.example:8443";proto=http`}}},
		{"IPv6 is bracketed and quoted", req("[2001:db8::1]:1234", nil, false), http.Header{
			"X-Forwarded-For": {"2001:db8::1"}, "X-Forwarded-Host": {"gw.example:8443"}, "X-Forwarded-Proto": {"http"},
			"Forwarded": {`for="[2001:db8::1]";host="gw.example:8443";proto=http`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := via(tt.r)
			for k := range tt.want {
				if got.Get(k) != tt.want.Get(k) {
					t.Errorf("%s = %q, want %q", k, got.Get(k), tt.want.Get(k))
				}
			}
		})
	}
	if _, err := Via([]string{"not-an-address"}); err == nil {
		t.Error("a bad trusted proxy is an error")
	}
}

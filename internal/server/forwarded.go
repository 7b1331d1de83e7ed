package server

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
	"sync"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// Via returns the function that builds the X-Forwarded-For,
// X-Forwarded-Host, X-Forwarded-Proto and Forwarded (RFC 7239) headers
// the gateway sends upstream for a request, as nginx and Kong do. When
// the TCP peer is a trusted proxy (server.trusted_proxies), the chain it
// sent is kept and the peer appended to it, and the host and protocol it
// reports are believed; otherwise a client's own X-Forwarded-* and
// Forwarded are dropped and a new chain starts with the peer.
func Via(trusted []string) (func(*http.Request) http.Header, error) {
	var nets []netip.Prefix
	for _, t := range trusted {
		p, err := gateway.ParseAddrOrPrefix(t)
		if err != nil {
			return nil, err
		}
		nets = append(nets, p)
	}
	return func(r *http.Request) http.Header {
		peer := remoteIP(r)
		return via(r, peer, isTrustedPeer(nets, peer))
	}, nil
}

func isTrustedPeer(nets []netip.Prefix, peer string) bool {
	a, err := netip.ParseAddr(peer)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func via(r *http.Request, peer string, trusted bool) http.Header {
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	xff, host, xproto := peer, r.Host, proto
	elem := "for=" + forwardedNode(peer) + ";host=" + forwardedValue(r.Host) + ";proto=" + proto
	fwd := elem
	if trusted {
		if prior := strings.Join(r.Header.Values("X-Forwarded-For"), ", "); prior != "" {
			xff = prior + ", " + peer
		}
		if h := r.Header.Get("X-Forwarded-Host"); h != "" {
			host = h
		}
		if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
			xproto = p
		}
		if prior := strings.Join(r.Header.Values("Forwarded"), ", "); prior != "" {
			fwd = prior + ", " + elem
		}
	}
	return http.Header{
		"X-Forwarded-For":   {xff},
		"X-Forwarded-Host":  {host},
		"X-Forwarded-Proto": {xproto},
		"Forwarded":         {fwd},
	}
}

// forwardedNode writes an address as a Forwarded node: IPv6 in brackets,
// quoted (RFC 7239, section 6).
func forwardedNode(addr string) string {
	if a, err := netip.ParseAddr(addr); err == nil && a.Unmap().Is6() {
		return `"[` + a.String() + `]"`
	}
	return forwardedValue(addr)
}

// quotedPairs escapes a quoted-string's backslashes and quotes. Built
// once: a Replacer builds its tables on first use (2 KB), which per
// request was a tenth of the proxy path's allocated bytes; it is
// immutable and safe for concurrent use.
var quotedPairs = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// forwardedValue is a token, or a quoted string when it holds anything
// else (a host with a port holds ":").
func forwardedValue(s string) string {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", c)) {
			return `"` + quotedPairs.Replace(s) + `"`
		}
	}
	return s
}

// callerKey holds a request's headers and its X-Forwarded-* for calls
// that surfaces (GraphQL, MCP) make on behalf of the request.
type callerKey struct{}

type callerHeaders struct {
	header http.Header
	via    func() http.Header // built once, when a call first needs it
}

// withCaller keeps the request's headers and X-Forwarded-* in its
// context, for Invoke.
func (s *Server) withCaller(r *http.Request) *http.Request {
	ch := callerHeaders{header: r.Header, via: sync.OnceValue(func() http.Header { return s.opts.Via(r) })}
	return r.WithContext(context.WithValue(r.Context(), callerKey{}, ch))
}

// callerFrom fills in the headers of a call made by a surface from the
// request that carries it.
func callerFrom(ctx context.Context, in *pipeline.Input) {
	ch, ok := ctx.Value(callerKey{}).(callerHeaders)
	if !ok {
		return
	}
	if in.Header == nil {
		in.Header = ch.header
	}
	if in.Via == nil {
		in.Via = ch.via
	}
}

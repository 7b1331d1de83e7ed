package server

import (
	"context"
	"net/http"
	"net/netip"
	"strings"

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

// setCaller keeps the request's headers, and what builds its
// X-Forwarded-*, for the calls made on its behalf (REST, and the calls
// surfaces such as GraphQL and MCP make through Invoke).
func (s *Server) setCaller(r *http.Request) {
	if h := holdOf(r.Context()); h != nil {
		h.header, h.req, h.buildVia = r.Header, r, s.opts.Via
	}
}

// callerFrom fills in the headers of a call from the request that
// carries it.
func callerFrom(ctx context.Context, in *pipeline.Input) {
	h := holdOf(ctx)
	if h == nil || h.req == nil {
		return
	}
	if in.Header == nil {
		in.Header = h.header
	}
	if in.Via == nil {
		in.Via = h.callerVia
	}
}

// callerVia is the request's X-Forwarded-*, built on first use.
func (h *hold) callerVia() http.Header {
	h.viaOnce.Do(func() { h.via = h.buildVia(h.req) })
	return h.via
}

package server

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/problem"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// Configure applies gateway.yaml's server section to srv: the listener's
// timeouts and header cap, the concurrency limit and CORS around its
// handler, and TLS (srv.TLSConfig, certificates reloaded when their files
// change) when server.tls is set. Serve with srv.ServeTLS(ln, "", "") when srv.TLSConfig is set.
func Configure(srv *http.Server, cfg *gateway.Server, log *slog.Logger) error {
	setDuration(&srv.ReadHeaderTimeout, cfg.ReadHeaderTimeout)
	setDuration(&srv.ReadTimeout, cfg.ReadTimeout)
	setDuration(&srv.WriteTimeout, cfg.WriteTimeout)
	setDuration(&srv.IdleTimeout, cfg.IdleTimeout)
	if cfg.MaxHeaderBytes > 0 {
		srv.MaxHeaderBytes = int(cfg.MaxHeaderBytes)
	}
	h := CleanPaths(srv.Handler)
	if gw, ok := srv.Handler.(*Server); ok {
		// The bound follows server.max_concurrent of each reloaded plan.
		h = MaxConcurrentOf(h, func() int { return gw.Runtime().Plan.Gateway.Server.MaxConcurrent })
	} else if cfg.MaxConcurrent > 0 {
		h = MaxConcurrent(h, cfg.MaxConcurrent)
	}
	if cfg.CORS != nil {
		h = CORS(h, cfg.CORS)
	}
	srv.Handler = h
	if cfg.TLS != nil {
		tc, err := TLSConfig(cfg.TLS.Cert, cfg.TLS.Key, log)
		if err != nil {
			return err
		}
		srv.TLSConfig = tc
	}
	return nil
}

func setDuration(dst *time.Duration, d yamlconf.Duration) {
	if d > 0 {
		*dst = d.D()
	}
}

// MaxConcurrent lets at most n requests through h at once; the others are
// answered at once with a 503 problem and Retry-After, so that a flood
// queues nowhere. Health checks are never refused.
func MaxConcurrent(h http.Handler, n int) http.Handler {
	return MaxConcurrentOf(h, func() int { return n })
}

// MaxConcurrentOf is MaxConcurrent with a bound read at each request
// (0 or less: unbounded), so that a reload can change it: requests in
// flight keep their slots, and a lowered bound refuses new ones until
// enough have finished.
func MaxConcurrentOf(h http.Handler, limit func() int) http.Handler {
	var inFlight atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			h.ServeHTTP(w, r)
			return
		}
		n := int64(limit())
		if n > 0 && inFlight.Add(1) > n {
			inFlight.Add(-1)
			p := problem.New("overloaded", http.StatusServiceUnavailable, "the gateway is serving as many requests as it may; retry shortly")
			p.RetryAfter = 1
			problem.Write(w, p)
			return
		}
		if n <= 0 {
			inFlight.Add(1)
		}
		if !mayStream(r) {
			defer inFlight.Add(-1)
			h.ServeHTTP(w, r)
			return
		}
		// A stream set up by this request gives its slot back
		// (OpenStream): streams have their own bound.
		var once sync.Once
		release := func() { once.Do(func() { inFlight.Add(-1) }) }
		defer release()
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), slotKey{}, release)))
	})
}

// mayStream reports whether r may become a long-lived stream: a
// WebSocket upgrade or a request that accepts an event stream.
func mayStream(r *http.Request) bool {
	if r.Header.Get("Upgrade") != "" {
		return true
	}
	for _, a := range r.Header.Values("Accept") { // every Accept line counts
		if strings.Contains(a, "text/event-stream") {
			return true
		}
	}
	return false
}

// CleanPaths refuses request paths that could mean one thing to the
// gateway and another to a backend, before any routing: a dot segment
// ("." or "..", escaped or not), an encoded slash or backslash (%2F, %5C:
// a path parameter would carry it into one upstream segment that some
// servers decode into two) and control characters. The answer is a 400
// problem; nothing runs.
func CleanPaths(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if reason := unclean(r.URL.EscapedPath(), r.URL.Path); reason != "" {
			// Refused before the server logs or traces anything: such a
			// path may carry what it should not (a key pasted into it).
			w.Header().Set(RequestIDHeader, newRequestID())
			problem.Write(w, problem.New("bad-request", http.StatusBadRequest, "the request path "+reason))
			return
		}
		h.ServeHTTP(w, r)
	})
}

func unclean(escaped, path string) string {
	lower := strings.ToLower(escaped)
	switch {
	case strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") || strings.Contains(path, "\\"):
		return "holds an encoded slash or a backslash"
	case strings.ContainsFunc(path, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "holds control characters"
	}
	for seg := range strings.SplitSeq(path, "/") {
		if seg == "." || seg == ".." {
			return "holds a dot segment"
		}
	}
	return ""
}

// ClientIP returns the function that finds a request's client address.
// X-Forwarded-For is believed only when the TCP peer is a trusted proxy,
// and then read from the right, skipping trusted proxies: the first
// address no trusted proxy vouches for is the client. Anything a client
// writes further left is ignored, so it cannot choose its own address.
func ClientIP(trusted []string) (func(*http.Request) string, error) {
	var nets []netip.Prefix
	for _, t := range trusted {
		p, err := gateway.ParseAddrOrPrefix(t)
		if err != nil {
			return nil, err
		}
		nets = append(nets, p)
	}
	isTrusted := func(s string) bool {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
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
	return func(r *http.Request) string {
		peer := remoteIP(r)
		if len(nets) == 0 || !isTrusted(peer) {
			return peer
		}
		hops := forwardedFor(r.Header)
		for i := len(hops) - 1; i >= 0; i-- {
			if !isTrusted(hops[i]) {
				if a, err := netip.ParseAddr(hops[i]); err == nil {
					return a.Unmap().String()
				}
				return peer // garbage where an address belongs: trust nothing
			}
		}
		return peer
	}, nil
}

// ClientKey is what per-client bounds count a client address under: an
// IPv4 address as is, an IPv6 address by its /64, since one host can take
// any address of its /64 and would otherwise get a fresh share per
// connection. Anything that is not an address is its own key.
func ClientKey(client string) string {
	addr, err := netip.ParseAddr(client)
	if err != nil || !addr.Is6() || addr.Is4In6() {
		return client
	}
	prefix, err := addr.Prefix(64)
	if err != nil {
		return client
	}
	return prefix.String()
}

// forwardedFor lists the addresses of every X-Forwarded-For field, in
// order, without ports or brackets.
func forwardedFor(h http.Header) []string {
	var out []string
	for _, v := range h.Values("X-Forwarded-For") {
		for part := range strings.SplitSeq(v, ",") {
			part = strings.TrimSpace(part)
			if host, _, err := net.SplitHostPort(part); err == nil {
				part = host
			}
			out = append(out, strings.Trim(part, "[]"))
		}
	}
	return out
}

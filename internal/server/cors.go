package server

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/problem"
)

// exposed are the answer headers a browser script may read besides the
// CORS-safelisted ones.
var exposed = []string{"Manifold-Incomplete", "Manifold-Stale", "Manifold-Truncated", "Manifold-Cache", "Age",
	"RateLimit", "RateLimit-Policy", "Retry-After", "WWW-Authenticate", RequestIDHeader}

// preflightAllowed reports whether the method and every header a
// preflight asks for are allowed (header names compare case-insensitively).
func preflightAllowed(r *http.Request, cfg *gateway.CORS) bool {
	method := r.Header.Get("Access-Control-Request-Method")
	if !slices.ContainsFunc(cfg.Methods, func(m string) bool { return strings.EqualFold(m, method) }) {
		return false
	}
	for _, line := range r.Header.Values("Access-Control-Request-Headers") {
		for h := range strings.SplitSeq(line, ",") {
			h = strings.TrimSpace(h)
			if h != "" && !slices.ContainsFunc(cfg.Headers, func(a string) bool { return strings.EqualFold(a, h) }) {
				return false
			}
		}
	}
	return true
}

// CORS answers preflight requests and marks answers readable by the
// origins cfg allows (the Fetch standard's CORS protocol). Requests from
// other origins pass without CORS headers, so browsers refuse to show
// them the answer; their preflights get a 403 problem. A preflight for a
// method or header not allowed gets a 204 without Access-Control-Allow-*.
func CORS(h http.Handler, cfg *gateway.CORS) http.Handler {
	any := slices.Contains(cfg.Origins, "*")
	methods := strings.Join(cfg.Methods, ", ")
	headers := strings.Join(cfg.Headers, ", ")
	expose := strings.Join(append(slices.Clone(exposed), cfg.ExposeHeaders...), ", ")
	maxAge := strconv.Itoa(int(cfg.MaxAge.D().Seconds()))
	allowed := func(origin string) bool {
		return any || slices.ContainsFunc(cfg.Origins, func(o string) bool {
			return strings.EqualFold(strings.TrimSuffix(o, "/"), origin)
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			h.ServeHTTP(w, r)
			return
		}
		out := w.Header()
		out.Add("Vary", "Origin")
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if !allowed(origin) {
			if preflight {
				problem.Write(w, problem.New("cors-forbidden", http.StatusForbidden, "origin "+origin+" may not call this gateway"))
				return
			}
			h.ServeHTTP(w, r)
			return
		}
		if any && !cfg.Credentials {
			out.Set("Access-Control-Allow-Origin", "*")
		} else {
			out.Set("Access-Control-Allow-Origin", origin)
		}
		if cfg.Credentials {
			out.Set("Access-Control-Allow-Credentials", "true")
		}
		if !preflight {
			out.Set("Access-Control-Expose-Headers", expose)
			h.ServeHTTP(w, r)
			return
		}
		out.Add("Vary", "Access-Control-Request-Method, Access-Control-Request-Headers")
		if !preflightAllowed(r, cfg) {
			// Without Allow-* the browser refuses the request; the
			// preflight itself succeeded, as in rs/cors (KrakenD).
			out.Del("Access-Control-Allow-Origin")
			out.Del("Access-Control-Allow-Credentials")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		out.Set("Access-Control-Allow-Methods", methods)
		out.Set("Access-Control-Allow-Headers", headers)
		out.Set("Access-Control-Max-Age", maxAge)
		w.WriteHeader(http.StatusNoContent)
	})
}

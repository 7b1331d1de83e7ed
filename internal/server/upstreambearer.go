package server

import "net/http"

// credentials returns the request the gateway authenticates: r itself,
// or, on a route whose public pipeline forwards the caller's
// Authorization to its upstream, r without that header. There the token
// belongs to the upstream (KrakenD's input_headers: [Authorization] on an
// endpoint without a validator): the gateway neither needs nor can judge
// it, and refusing a token it cannot verify would break the upstream's
// own authentication. An API key in its own header is still read.
func (rt *routes) credentials(r *http.Request) *http.Request {
	if len(rt.upstreamBearer) == 0 || r.Header.Get("Authorization") == "" {
		return r
	}
	if _, pattern := rt.mux.Handler(r); !rt.upstreamBearer[pattern] {
		return r
	}
	out := r.Clone(r.Context())
	out.Header.Del("Authorization")
	return out
}

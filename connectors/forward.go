package connectors

import "net/http"

// addForwarded adds the headers that come from the gateway's caller: who
// called (req.Via) and the headers the step forwards (req.Forward). The
// upstream's configured headers and the step's own are set after them,
// so neither a caller nor a proxy can override those.
func addForwarded(dst http.Header, req *Request) {
	for k, vs := range req.Via {
		dst[http.CanonicalHeaderKey(k)] = vs
	}
	for k, vs := range req.Forward {
		dst[http.CanonicalHeaderKey(k)] = vs
	}
}

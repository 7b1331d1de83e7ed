package graphqlview

import (
	"context"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/manifoldgw/manifold/internal/problem"
	"github.com/manifoldgw/manifold/internal/server"
	"github.com/manifoldgw/manifold/resolvers"
)

// endpoint is /graphql: GraphiQL for a browser, the GraphQL transports for
// everything else.
type endpoint struct {
	srv        *server.Server
	gql        http.Handler
	playground http.Handler
	maxBody    int64
}

func (e *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		if r.Header.Get("Upgrade") == "" && prefersHTML(r.Header.Get("Accept")) {
			e.playground.ServeHTTP(w, r)
			return
		}
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, e.maxBody)
	case http.MethodOptions:
		w.Header().Set("Allow", "GET, POST, OPTIONS")
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		w.Header().Set("Allow", "GET, POST, OPTIONS")
		writeRequestError(w, jsonType, http.StatusMethodNotAllowed, resolvers.CodeMethodNotAllowed,
			r.Method+" is not served at "+Path+": use POST, or GET for queries")
		return
	}
	st := &requestState{client: e.srv.ClientIP(r), id: w.Header().Get(server.RequestIDHeader)}
	r = r.WithContext(context.WithValue(r.Context(), requestKey{}, st))
	if r.Header.Get("Upgrade") != "" {
		if r.Method != http.MethodGet {
			writeRequestError(w, jsonType, http.StatusBadRequest, resolvers.CodeBadRequest,
				"a WebSocket handshake is a GET request")
			return
		}
		e.serveSocket(w, r, st)
		return
	}
	// SSE reads its request under the listener's deadlines, then opens
	// its stream (sseTransport).
	e.gql.ServeHTTP(w, r)
}

// serveSocket serves a WebSocket as a server stream: admitted (or refused
// with a 503) before the upgrade, its deadlines lifted only once the
// connection is hijacked, its operations ended with the stream (the
// caller's credential expired, a reload removed the caller).
func (e *endpoint) serveSocket(w http.ResponseWriter, r *http.Request, st *requestState) {
	uw, stream, err := e.srv.UpgradeStream(w, r)
	if err != nil {
		writeStreamRefusal(w, err)
		return
	}
	defer stream.Close()
	st.socket = true
	e.gql.ServeHTTP(uw, r.WithContext(stream.Context()))
}

// writeStreamRefusal answers a stream the server refused (server.max_streams,
// max_streams_per_client) as a GraphQL error with the problem's status.
func writeStreamRefusal(w http.ResponseWriter, err error) {
	p := problem.From(err)
	if p.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	writeRequestError(w, jsonType, p.Status, codeTooManyStreams, p.Detail)
}

type requestKey struct{}

// requestState is what the HTTP request carrying operations tells about
// them. Every run it carries gets its own id: the request's for the first,
// then <id>-2, <id>-3... (aliases, or operations on one WebSocket).
type requestState struct {
	client string
	id     string
	runs   atomic.Int64
	// socket: a WebSocket, whose operations are bounded by
	// graphql.max_operations_per_connection; active counts them.
	socket bool
	active atomic.Int64
}

// requestInfo is resolvers.Resolver.Requests.
func requestInfo(ctx context.Context) resolvers.RequestInfo {
	st, _ := ctx.Value(requestKey{}).(*requestState)
	if st == nil {
		return resolvers.RequestInfo{}
	}
	id := st.id
	if n := st.runs.Add(1); n > 1 {
		id += "-" + strconv.FormatInt(n, 10)
	}
	return resolvers.RequestInfo{Client: st.client, RequestID: id}
}

// requestOrigin is resolvers.Resolver.Origin: the id of the request
// carrying the operation, which its runs' ids start with.
func requestOrigin(ctx context.Context) string {
	if st, _ := ctx.Value(requestKey{}).(*requestState); st != nil {
		return st.id
	}
	return ""
}

// prefersHTML reports whether an Accept header asks for a page before
// JSON: a browser navigating to /graphql.
func prefersHTML(accept string) bool {
	html, jsonQ := -1.0, -1.0
	for _, part := range strings.Split(accept, ",") {
		mt, q, ok := mediaRange(part)
		if !ok {
			continue
		}
		switch mt {
		case "text/html":
			html = max(html, q)
		case jsonType, gqlType:
			jsonQ = max(jsonQ, q)
		}
	}
	return html > 0 && html >= jsonQ
}

// mediaRange parses one element of an Accept header.
func mediaRange(part string) (string, float64, bool) {
	mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
	if err != nil {
		return "", 0, false
	}
	q := 1.0
	if s, ok := params["q"]; ok {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v < 0 || v > 1 {
			return "", 0, false
		}
		q = v
	}
	return mt, q, true
}

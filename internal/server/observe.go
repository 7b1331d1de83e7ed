package server

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/manifoldgw/manifold/internal/problem"
)

// Observer watches every request the Server answers: telemetry starts the
// server span in Begin and, in the function Begin returns, ends it,
// records the HTTP metrics and writes the access log line.
type Observer interface {
	// Begin is called when a request arrives, before authentication, with
	// the route pattern it matches ("" for none). The request it returns
	// is served (its context may carry a span).
	Begin(r *http.Request, route string) (*http.Request, func(*Exchange))
}

// Exchange is a finished request as an access log or a metric sees it.
// It holds no query string, header or body: nothing secret.
type Exchange struct {
	Method    string
	Route     string // the route pattern matched, e.g. "GET /v1/cities/{city}/deals"; "" for none
	Path      string // the request path, without the query
	Status    int
	Bytes     int64 // body bytes written
	Duration  time.Duration
	RequestID string
	Client    string
	// Pipelines the request called (REST: one; GraphQL, MCP: any number),
	// and the consumer and response-cache outcome of the last call.
	Pipelines []string
	Consumer  string
	Cache     string
}

// exchange is the Exchange being built through a request (the request's
// hold points to it), so that record can say which pipelines were called.
type exchange struct {
	mu sync.Mutex
	Exchange
}

// note adds a finished call to the request's exchange, if it has one.
func note(ctx context.Context, pipeline, consumer, cacheOutcome string) {
	h := holdOf(ctx)
	if h == nil || h.x == nil {
		return
	}
	x := h.x
	x.mu.Lock()
	defer x.mu.Unlock()
	if !slices.Contains(x.Pipelines, pipeline) {
		x.Pipelines = append(x.Pipelines, pipeline)
	}
	if consumer != "" {
		x.Consumer = consumer
	}
	x.Cache = cacheOutcome
}

// observe hands a request to the Observer: it returns the writer and the
// request to serve, and the function that reports the exchange.
func (s *Server) observe(w http.ResponseWriter, r *http.Request, mux *http.ServeMux, h *hold) (http.ResponseWriter, *http.Request, func()) {
	start := time.Now()
	_, route := mux.Handler(r)
	r, end := s.opts.Observer.Begin(r, route)
	x := &exchange{Exchange: Exchange{
		Method: r.Method, Route: route, Path: r.URL.Path, RequestID: w.Header().Get(RequestIDHeader),
		Client: s.opts.ClientIP(r),
	}}
	h.x = x
	if sc := trace.SpanContextFromContext(r.Context()); sc.HasTraceID() {
		h.trace = traceID{sc.TraceID(), sc.TraceID().String()}
		w.Header().Set(problem.TraceIDHeader, h.trace.hex)
	}
	rw := &responseWriter{ResponseWriter: w}
	return rw, r, func() {
		x.mu.Lock()
		defer x.mu.Unlock()
		x.Status, x.Bytes, x.Duration = rw.code(), rw.bytes, time.Since(start)
		end(&x.Exchange)
	}
}

// responseWriter counts what is written. It keeps the writer's optional
// interfaces (Flush for streaming MCP, Hijack for GraphQL WebSockets)
// reachable, directly and through http.ResponseController.
type responseWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// code is the status sent, 200 if the handler wrote nothing at all.
func (w *responseWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Flush implements http.Flusher.
func (w *responseWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack implements http.Hijacker.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap gives http.ResponseController the writer underneath.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

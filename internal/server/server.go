package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/manifoldgw/manifold/connectors"
	"github.com/manifoldgw/manifold/internal/event"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/problem"
	"github.com/manifoldgw/manifold/internal/refusal"
)

// Server routes requests to the pipelines of the current Runtime. The
// Runtime is swapped atomically, so a request finishes on the plan it
// started with.
type Server struct {
	current  atomic.Pointer[routes]
	log      *slog.Logger
	opts     Options
	draining atomic.Bool
	streams  streams
	bufs     sync.Pool // *[]byte of peekSize, for relayed bodies
}

// Options are a Server's dependencies; nil fields mean "none".
type Options struct {
	Logger *slog.Logger
	// Recorder receives every finished call (audit, metrics, watchers).
	Recorder event.Recorder
	// Auth identifies callers; nil: every caller is anonymous.
	Auth Authenticator
	// Limiter applies rate limits; nil: unlimited.
	Limiter Limiter
	// Validator checks REST requests against the published contract.
	Validator RequestValidator
	// Surfaces are mounted beside the pipelines for every Runtime.
	Surfaces []Surface
	// ClientIP returns a request's client address (for rate limits and
	// audit); nil: the TCP peer's address.
	ClientIP func(r *http.Request) string
	// Via builds the X-Forwarded-* headers sent upstream for a request
	// (see Via); nil: as if no proxy were trusted.
	Via func(r *http.Request) http.Header
	// Observer watches every request (traces, HTTP metrics, access log).
	Observer Observer
	// Readiness are the checks /readyz runs besides the plan being loaded.
	Readiness []Check
	// Plan, if set, says which plan is served, in /readyz.
	Plan func() PlanInfo
	// Refusals counts requests refused by a resource bound.
	Refusals *refusal.Counts
}

// routes is a Runtime with its request router.
type routes struct {
	rt  *Runtime
	mux *http.ServeMux
	// upstreamBearer holds the route patterns of public pipelines that
	// forward the caller's Authorization to their upstream (see
	// authenticate).
	upstreamBearer map[string]bool
}

// New returns a Server serving rt.
func New(rt *Runtime, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ClientIP == nil {
		opts.ClientIP = remoteIP
	}
	if opts.Via == nil {
		opts.Via, _ = Via(nil) // no address to parse: cannot fail
	}
	s := &Server{log: opts.Logger, opts: opts}
	if err := s.Swap(rt); err != nil {
		// Surfaces are mounted on a fresh mux; only a broken surface fails.
		s.log.Error("mounting surfaces", "err", err)
	}
	return s
}

// Swap starts serving rt. Requests in flight finish on the Runtime they
// started with; the caller closes the old one (see Runtime) once they have.
// If a surface cannot be mounted, nothing changes and the error is
// returned.
func (s *Server) Swap(rt *Runtime) error {
	r := &routes{rt: rt, mux: http.NewServeMux(), upstreamBearer: map[string]bool{}}
	r.mux.HandleFunc("GET /healthz", s.healthz)
	r.mux.HandleFunc("GET /readyz", s.readyz)
	for _, p := range rt.Plan.Pipelines {
		r.mux.Handle(p.Method+" "+p.Path, s.pipelineHandler(rt, p))
		if p.ForwardsBearer() {
			r.upstreamBearer[p.Method+" "+p.Path] = true
		}
	}
	for i, sf := range s.opts.Surfaces {
		if err := sf.Mount(r.mux, s, rt); err != nil {
			stagedDo(s.opts.Surfaces[:i+1], func(st Staged) { st.Discard(rt) })
			return err
		}
	}
	stagedDo(s.opts.Surfaces, func(st Staged) { st.Commit(rt) })
	s.current.Store(r)
	s.recheckStreams()
	return nil
}

// stagedDo calls fn on every Staged surface of sfs.
func stagedDo(sfs []Surface, fn func(Staged)) {
	for _, sf := range sfs {
		if st, ok := sf.(Staged); ok {
			fn(st)
		}
	}
}

// Runtime returns the Runtime being served.
func (s *Server) Runtime() *Runtime { return s.current.Load().rt }

// ClientIP returns the client address of r as rate limits and audit see
// it (Options.ClientIP), for surfaces that build their own Calls.
func (s *Server) ClientIP(r *http.Request) string { return s.opts.ClientIP(r) }

// ServeHTTP routes to a pipeline. Requests that match no route, or match
// one with another method, get a problem document rather than text.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set(RequestIDHeader, newRequestID())
	cur := s.acquire() // the Runtime stays open until the request is done
	h := &hold{rt: cur.rt}
	defer h.release()
	r = r.WithContext(context.WithValue(r.Context(), runtimeKey{}, h))
	if s.opts.Observer != nil {
		ow, or, end := s.observe(w, r, cur.mux, h)
		defer end()
		w, r = ow, or
	}
	s.route(w, r, cur)
}

// route authenticates a request and routes it on cur's mux.
func (s *Server) route(w http.ResponseWriter, r *http.Request, cur *routes) {
	mux := cur.mux
	if s.opts.Auth != nil {
		id, err := s.opts.Auth.Authenticate(cur.credentials(r))
		if err != nil {
			setChallenge(w.Header(), err)
			problem.Write(w, problem.From(err))
			return
		}
		if id != nil {
			r = r.WithContext(WithIdentity(r.Context(), id))
		}
	}
	if _, pattern := mux.Handler(r); pattern != "" {
		s.setCaller(r)
		mux.ServeHTTP(w, r)
		return
	}
	rec := &statusRecorder{header: http.Header{}}
	mux.ServeHTTP(rec, r)
	if rec.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", rec.header.Get("Allow"))
		problem.Write(w, problem.New("method-not-allowed", http.StatusMethodNotAllowed, r.Method+" is not served at "+r.URL.Path))
		return
	}
	problem.Write(w, problem.New("not-found", http.StatusNotFound, "no pipeline is served at "+r.URL.Path))
}

// statusRecorder captures what ServeMux's own 404 and 405 handlers would
// write, to answer with a problem document instead.
type statusRecorder struct {
	header http.Header
	status int
}

func (s *statusRecorder) Header() http.Header         { return s.header }
func (s *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusRecorder) WriteHeader(code int)        { s.status = code }

func (s *Server) pipelineHandler(rt *Runtime, p *pipeline.Compiled) http.Handler {
	maxBody := int64(rt.Plan.Gateway.Server.MaxBody)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		call := &Call{
			Pipeline: p, Surface: event.SurfaceREST, Method: r.Method, Path: r.URL.Path,
			Client: s.opts.ClientIP(r), RequestID: requestID(w),
		}
		call.Input.Consumer = IdentityFrom(r.Context())
		callerFrom(r.Context(), &call.Input)
		var o *Outcome
		if p.Proxy {
			if o = s.proxyCall(w, r, rt, call, maxBody); o == nil {
				return // relayed and recorded
			}
		} else {
			o = s.restCall(w, r, rt, call, maxBody)
		}
		if o.Err != nil && r.Context().Err() != nil {
			// The client went away: nobody is listening, but the call
			// still leaves its record (status 499).
			s.record(r.Context(), call, o, problem.StatusClientClosed)
			return
		}
		if o.Err != nil {
			s.logFailure(r.Context(), call, o.Err)
		}
		for k, v := range call.Header {
			w.Header()[k] = v
		}
		setCacheControl(w.Header(), p, o)
		status := WriteOutcome(w, o)
		s.record(r.Context(), call, o, status)
	})
}

// restCall turns a REST request into a call and invokes it.
func (s *Server) restCall(w http.ResponseWriter, r *http.Request, rt *Runtime, call *Call, maxBody int64) *Outcome {
	start := time.Now()
	if err := s.restInput(w, r, rt, call, maxBody); err != nil {
		return &Outcome{Err: err, Start: start}
	}
	o := rt.Invoke(r.Context(), call)
	o.Start = start
	return o
}

// restInput authorizes a REST request and reads its input into call.
func (s *Server) restInput(w http.ResponseWriter, r *http.Request, rt *Runtime, call *Call, maxBody int64) error {
	p := call.Pipeline
	if err := s.authorize(r.Context(), call); err != nil {
		return err
	}
	query := r.URL.Query()
	if s.opts.Validator != nil {
		if err := s.opts.Validator.ValidateRequest(r, query, rt, p); err != nil {
			return err
		}
	}
	params, err := p.ParseParams(func(in, name string) []string {
		switch in {
		case "path":
			return nonEmpty(r.PathValue(name))
		case "header":
			return r.Header.Values(name)
		}
		return query[name]
	})
	if err != nil {
		return err
	}
	call.Input.Params = params
	call.Input.Query = p.UndeclaredQuery(query)
	if p.Method != http.MethodGet {
		call.Input.Body, err = readBody(w, r, maxBody, p.Body != nil)
	}
	return err
}

// Invoke runs a call from a surface other than REST (GraphQL, MCP): the
// same authorization, rate limits, cache and engine as a REST request.
// The caller writes the answer, then calls Finish.
func (s *Server) Invoke(ctx context.Context, c *Call) *Outcome {
	start := time.Now()
	if c.Input.Consumer == nil {
		c.Input.Consumer = IdentityFrom(ctx)
	}
	callerFrom(ctx, &c.Input)
	if err := s.authorize(ctx, c); err != nil {
		return &Outcome{Err: err, Start: start}
	}
	rt, done := s.runtimeFor(ctx)
	defer done()
	o := rt.Invoke(ctx, c)
	o.Start = start
	return o
}

// Finish records a finished call of a surface (audit, metrics, watchers).
func (s *Server) Finish(ctx context.Context, c *Call, o *Outcome, status int) {
	s.record(ctx, c, o, status)
}

// Header values every JSON answer carries, shared rather than allocated
// per answer: net/http and the handlers replace header values, never
// modify them in place.
var (
	jsonContentType = []string{"application/json"}
	noSniff         = []string{"nosniff"}
	cacheOutcomes   = map[string][]string{
		connectors.CacheHit: {connectors.CacheHit}, connectors.CacheMiss: {connectors.CacheMiss}, connectors.CacheStale: {connectors.CacheStale},
	}
)

func writeJSON(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h["X-Content-Type-Options"] = noSniff
	_, _ = w.Write(body)
}

// readBody decodes a JSON request body of at most limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64, required bool) (any, error) {
	if r.ContentLength == 0 && !required {
		return nil, nil
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return nil, &problem.BodyError{Status: http.StatusUnsupportedMediaType, Slug: "unsupported-media-type",
			Detail: "the request body must be application/json"}
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, &problem.BodyError{Status: http.StatusRequestEntityTooLarge, Slug: "body-too-large",
			Detail: "the request body is over the limit of " + strconv.FormatInt(limit, 10) + " bytes"}
	}
	if err != nil {
		return nil, &problem.BodyError{Status: http.StatusBadRequest, Slug: "bad-request", Detail: "the request body could not be read"}
	}
	if len(data) == 0 {
		if required {
			return nil, &problem.BodyError{Status: http.StatusBadRequest, Slug: "bad-request", Name: "body", Detail: "a JSON request body is required"}
		}
		return nil, nil
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, &problem.BodyError{Status: http.StatusBadRequest, Slug: "bad-request", Name: "body", Detail: "the request body is not valid JSON: " + jsonReason(err)}
	}
	return v, nil
}

// jsonReason describes a JSON syntax error without echoing the input.
func jsonReason(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return "syntax error at byte " + strconv.FormatInt(syn.Offset, 10)
	}
	return "unexpected end or type"
}

// logFailure logs a failed call: the gateway's and upstreams' failures at
// warn, the caller's own mistakes (4xx) at debug.
func (s *Server) logFailure(ctx context.Context, call *Call, err error) {
	level := slog.LevelWarn
	if st := problem.From(err).Status; st < 500 {
		level = slog.LevelDebug
	}
	s.log.Log(ctx, level, "pipeline call failed", "pipeline", call.Pipeline.Name, "request_id", call.RequestID, "err", err)
}

func nonEmpty(v string) []string {
	if v == "" {
		return nil
	}
	return []string{v}
}

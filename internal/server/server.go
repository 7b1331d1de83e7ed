package server

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/problem"
)

// Server routes requests to the pipelines of the current Runtime. The
// Runtime is swapped atomically, so a request finishes on the plan it
// started with.
type Server struct {
	current atomic.Pointer[routes]
	log     *slog.Logger
}

// routes is a Runtime with its request router.
type routes struct {
	rt  *Runtime
	mux *http.ServeMux
}

// New returns a Server serving rt.
func New(rt *Runtime, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{log: logger}
	s.Swap(rt)
	return s
}

// Swap starts serving rt and returns the Runtime it replaces (nil at
// first). Requests in flight finish on the old one.
func (s *Server) Swap(rt *Runtime) *Runtime {
	r := &routes{rt: rt, mux: http.NewServeMux()}
	r.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, []byte(`{"status":"ok"}`)) })
	r.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, []byte(`{"status":"ready"}`)) })
	for _, p := range rt.Plan.Pipelines {
		r.mux.Handle(p.Method+" "+p.Path, s.pipelineHandler(rt, p))
	}
	if old := s.current.Swap(r); old != nil {
		return old.rt
	}
	return nil
}

// Runtime returns the Runtime being served.
func (s *Server) Runtime() *Runtime { return s.current.Load().rt }

// ServeHTTP routes to a pipeline. Requests that match no route, or match
// one with another method, get a problem document rather than text.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	mux := s.current.Load().mux
	if _, pattern := mux.Handler(r); pattern != "" {
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
		query := r.URL.Query()
		params, err := p.ParseParams(func(in, name string) (string, bool) {
			switch in {
			case "path":
				v := r.PathValue(name)
				return v, v != ""
			case "header":
				v := r.Header.Get(name)
				return v, v != ""
			}
			if !query.Has(name) {
				return "", false
			}
			return query.Get(name), true
		})
		if err != nil {
			problem.Write(w, problem.From(err))
			return
		}
		in := pipeline.Input{Params: params}
		if p.Method != http.MethodGet {
			if in.Body, err = readBody(w, r, maxBody, p.Body != nil); err != nil {
				problem.Write(w, problem.From(err))
				return
			}
		}
		res, err := rt.Engine.Run(r.Context(), p, in)
		if err != nil {
			if r.Context().Err() != nil {
				return // the client went away; nobody is listening
			}
			s.log.Warn("pipeline failed", "pipeline", p.Name, "err", err)
			problem.Write(w, problem.From(err))
			return
		}
		if len(res.Missing) > 0 {
			w.Header().Set("Manifold-Incomplete", strings.Join(res.Missing, ","))
		}
		if len(res.Stale) > 0 {
			w.Header().Set("Manifold-Stale", strings.Join(res.Stale, ","))
		}
		writeJSON(w, res.JSON)
	})
}

func writeJSON(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
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

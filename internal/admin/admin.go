package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/manifoldgw/manifold/internal/control"
	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/problem"
	"github.com/manifoldgw/manifold/internal/server"
)

// KeyHeader carries the admin key (Authorization: Bearer works too).
const KeyHeader = "X-API-Key"

// maxBody bounds admin request bodies.
const maxBody = 64 << 10

// Reloader reloads the pipeline directory and reports how it went.
type Reloader interface {
	// Reload loads, validates, compiles and swaps in the directory now,
	// and returns once the new plan serves or the reload failed.
	Reload(ctx context.Context, trigger string) ReloadStatus
	// Status is the last reload's outcome.
	Status() ReloadStatus
}

// Auditor publishes admin actions (the audit publisher's Admin method).
type Auditor func(ctx context.Context, action string, details map[string]any) error

// Options are the admin API's dependencies; nil fields mean "none".
type Options struct {
	// Key is the admin key; requests without it get 401. It must not be
	// empty: New refuses to serve an admin API anyone could use.
	Key      string
	Server   *server.Server
	Reloader Reloader
	Metrics  http.Handler
	Audit    Auditor
	Logger   *slog.Logger
	// Cluster, when set, makes reload, cache purge and breaker force reach
	// every replica of the cluster; nil acts on this gateway only.
	Cluster Cluster
}

// Errors of New for a missing or weak admin key.
var (
	ErrNoKey    = errors.New("admin: admin.key is empty")
	ErrShortKey = fmt.Errorf("admin: the admin key (admin.key or MANIFOLD_ADMIN_KEY) needs at least %d characters", gateway.MinAdminKey)
)

// API is the admin API's HTTP handler.
type API struct {
	opts Options
	acts *Actions
	key  [sha256.Size]byte
	mux  *http.ServeMux
}

// New returns the admin API.
func New(opts Options) (*API, error) {
	if opts.Key == "" {
		return nil, ErrNoKey
	}
	// gateway.yaml's admin.key is checked where it is written; this also
	// covers a key given otherwise (MANIFOLD_ADMIN_KEY).
	if len(opts.Key) < gateway.MinAdminKey {
		return nil, fmt.Errorf("%w: it has %d", ErrShortKey, len(opts.Key))
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	a := &API{opts: opts, acts: NewActions(opts), key: sha256.Sum256([]byte(opts.Key)), mux: http.NewServeMux()}
	a.routes()
	return a, nil
}

func (a *API) routes() {
	m := a.mux
	m.HandleFunc("GET /{$}", a.keyed(a.index))
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	m.HandleFunc("GET /readyz", a.readyz)
	if a.opts.Metrics != nil {
		m.Handle("GET /metrics", a.opts.Metrics)
	}
	m.HandleFunc("GET /pipelines", a.keyed(a.listPipelines))
	m.HandleFunc("GET /pipelines/{name}", a.keyed(a.getPipeline))
	m.HandleFunc("GET /upstreams", a.keyed(a.listUpstreams))
	m.HandleFunc("GET /upstreams/{name}", a.keyed(a.getUpstream))
	m.HandleFunc("PUT /upstreams/{name}/breaker", a.keyed(a.forceBreaker))
	m.HandleFunc("POST /upstreams/{name}/breaker", a.keyed(a.forceBreaker))
	m.HandleFunc("POST /cache/purge", a.keyed(a.purge))
	m.HandleFunc("GET /config", a.keyed(a.config))
	m.HandleFunc("POST /reload", a.keyed(a.reload))
	m.HandleFunc("GET /reload", a.keyed(a.reloadStatus))
}

// ServeHTTP implements http.Handler; unknown paths and methods get
// problem documents.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := a.mux.Handler(r); pattern != "" {
		a.mux.ServeHTTP(w, r)
		return
	}
	rec := &allowRecorder{header: http.Header{}}
	a.mux.ServeHTTP(rec, r)
	if rec.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", rec.header.Get("Allow"))
		problem.Write(w, problem.New("method-not-allowed", http.StatusMethodNotAllowed, r.Method+" is not served at "+r.URL.Path))
		return
	}
	problem.Write(w, problem.New("not-found", http.StatusNotFound, "no admin endpoint at "+r.URL.Path+"; GET / lists them"))
}

type allowRecorder struct {
	header http.Header
	status int
}

func (s *allowRecorder) Header() http.Header         { return s.header }
func (s *allowRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (s *allowRecorder) WriteHeader(code int)        { s.status = code }

// keyed lets a request through only with the admin key. Both sides are
// hashed first, so the comparison takes the same time whatever the
// length and content of what was sent.
func (a *API) keyed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get(KeyHeader)
		if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && got == "" {
			got = strings.TrimSpace(bearer)
		}
		sum := sha256.Sum256([]byte(got))
		if got == "" || subtle.ConstantTimeCompare(sum[:], a.key[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="manifold-admin"`)
			problem.Write(w, problem.New("unauthorized", http.StatusUnauthorized, "the admin API needs the admin key in "+KeyHeader+" or Authorization: Bearer"))
			return
		}
		h(w, r)
	}
}

func (a *API) index(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"endpoints": []string{
		"GET /pipelines", "GET /pipelines/{name}", "GET /upstreams", "GET /upstreams/{name}",
		"PUT /upstreams/{name}/breaker", "POST /cache/purge", "GET /config", "POST /reload", "GET /reload",
		"GET /healthz", "GET /readyz", "GET /metrics",
	}})
}

func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	rd := a.opts.Server.Ready(r.Context())
	status := http.StatusOK
	if rd.Status != "ready" {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, rd)
}

// readJSON decodes a request body into v: empty is fine (v stays as it
// is), unknown fields and trailing data are not.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return badRequest("the request body could not be read or is over 64 KiB")
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("the request body is not the expected JSON: " + err.Error())
	}
	if dec.More() {
		return badRequest("the request body holds more than one JSON value")
	}
	return nil
}

func badRequest(detail string) error {
	return &problem.Error{P: problem.New("bad-request", http.StatusBadRequest, detail)}
}

func notFound(detail string) error {
	return &problem.Error{P: problem.New("not-found", http.StatusNotFound, detail)}
}

// fail writes err's problem.
func fail(w http.ResponseWriter, err error) {
	var pe *problem.Error
	if errors.As(err, &pe) {
		problem.Write(w, pe.P)
		return
	}
	problem.Write(w, problem.New("internal", http.StatusInternalServerError, "the admin action failed"))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		fail(w, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// ReloadStatus is the outcome of a reload, as GET /reload shows it.
type ReloadStatus struct {
	OK         bool      `json:"ok"`
	Trigger    string    `json:"trigger"` // start, file, signal, admin or cluster (asked by another replica)
	At         time.Time `json:"at"`
	DurationMS float64   `json:"duration_ms"`
	// Errors are the load errors, each file:line:column: key: message.
	Errors    []string `json:"errors,omitempty"`
	Pipelines int      `json:"pipelines"` // pipelines being served
	Added     []string `json:"added,omitempty"`
	Changed   []string `json:"changed,omitempty"`
	Removed   []string `json:"removed,omitempty"`
	// Upstreams kept (with their breakers, pools and cache entries) and
	// rebuilt.
	Kept    []string `json:"upstreams_kept,omitempty"`
	Rebuilt []string `json:"upstreams_rebuilt,omitempty"`
	// RestartNeeded names, key by key (server.listen, server.tls,
	// audit.nats…), the gateway.yaml keys that changed but only take effect
	// at the next start: the listeners, audit and telemetry. Auth and
	// consumers apply at once and are never listed.
	RestartNeeded []string `json:"restart_needed,omitempty"`
	// ServingSince is when the plan being served was loaded.
	ServingSince time.Time `json:"serving_since"`
}

func (a *API) reload(w http.ResponseWriter, r *http.Request) {
	var in struct{}
	if err := readJSON(w, r, &in); err != nil {
		fail(w, err)
		return
	}
	res, err := a.acts.Reload(r.Context())
	a.answer(w, r, res, err, func(ctx context.Context, c Cluster) (control.Result, error) { return c.Reload(ctx) })
}

func (a *API) reloadStatus(w http.ResponseWriter, _ *http.Request) {
	if a.opts.Reloader == nil {
		problem.Write(w, problem.New("reload-unavailable", http.StatusConflict, "this gateway was not started from a directory it can reload"))
		return
	}
	writeJSON(w, http.StatusOK, a.opts.Reloader.Status())
}

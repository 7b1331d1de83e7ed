package console

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/manifoldgw/manifold/internal/admin"
	"github.com/manifoldgw/manifold/internal/audit"
	"github.com/manifoldgw/manifold/internal/ratelimit"
	"github.com/manifoldgw/manifold/internal/server"
	"github.com/manifoldgw/manifold/openapi"
)

// Prefix is where the console is served on the admin listener.
const Prefix = "/console/"

// CSP is the console's Content-Security-Policy: its own origin only, no
// inline script or style, no framing.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options are the console's dependencies; nil fields mean "none".
type Options struct {
	// Key is the admin key the sign-in form asks for.
	Key    string
	Server *server.Server
	// Admin performs the actions (breakers, purges) and audits them.
	Admin *admin.API
	// Reloader reports reloads (nil: the gateway cannot reload).
	Reloader admin.Reloader
	// Audit is the audit publisher (nil: audit is off).
	Audit *audit.Publisher
	// Specs give each pipeline's OpenAPI operation and check Run input.
	Specs *openapi.Specs
	// Calls is the ring every finished call is recorded in.
	Calls  *Ring
	Logger *slog.Logger
	Now    func() time.Time
}

// Console is the operator console's HTTP handler, to be mounted at
// Prefix.
type Console struct {
	opts     Options
	pages    map[string]*template.Template
	sessions *sessions
	failures *ratelimit.Failures
	mux      *http.ServeMux
	done     chan struct{} // closed by Close: Live streams end
}

// New returns the console.
func New(opts Options) (*Console, error) {
	if opts.Key == "" || opts.Server == nil || opts.Admin == nil {
		return nil, errors.New("console: the admin key, server and admin API are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Calls == nil {
		opts.Calls = NewRing(opts.Now)
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	c := &Console{
		opts: opts, pages: pages, sessions: newSessions(opts.Now),
		failures: ratelimit.NewFailures(0, opts.Now), mux: http.NewServeMux(), done: make(chan struct{}),
	}
	c.routes()
	return c, nil
}

// Close ends the Live streams (call it before shutting the listener
// down, or Shutdown waits for them).
func (c *Console) Close() {
	select {
	case <-c.done:
	default:
		close(c.done)
	}
}

func (c *Console) routes() {
	m := c.mux
	static, _ := fs.Sub(staticFS, "static") // a constant embedded directory
	m.Handle("GET /console/static/", http.StripPrefix("/console/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /console/signin", c.signinPage)
	m.HandleFunc("POST /console/signin", c.signin)
	m.HandleFunc("POST /console/signout", c.signed(c.signout))
	m.HandleFunc("GET /console/{$}", c.signed(c.overview))
	m.HandleFunc("GET /console/pipelines/{name}", c.signed(c.pipeline))
	m.HandleFunc("POST /console/pipelines/{name}/run", c.signed(c.run))
	m.HandleFunc("GET /console/upstreams", c.signed(c.upstreams))
	m.HandleFunc("POST /console/upstreams/{name}/breaker", c.signed(c.breaker))
	m.HandleFunc("POST /console/cache/purge", c.signed(c.purge))
	m.HandleFunc("GET /console/live", c.signed(c.live))
	m.HandleFunc("GET /console/live/events", c.signed(c.events))
	m.HandleFunc("GET /console/calls/{id}", c.signed(c.call))
	m.HandleFunc("GET /console/config", c.signed(c.config))
}

// ServeHTTP implements http.Handler.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	if r.Method == http.MethodPost && !sameOrigin(r) {
		c.fail(w, r, nil, http.StatusForbidden, "This form was sent from another site and was refused.")
		return
	}
	if _, pattern := c.mux.Handler(r); pattern == "" {
		c.fail(w, r, nil, http.StatusNotFound, "There is no console page at "+r.URL.Path+".")
		return
	}
	c.mux.ServeHTTP(w, r)
}

// sameOrigin refuses cross-site POSTs outright (the CSRF token is the
// main defence; this also covers the sign-in form, which has none).
// Browsers say where a request comes from in Sec-Fetch-Site; older ones
// only in Origin. Clients that send neither (curl) are not browsers a
// site could drive.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin" || site == "none"
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && origin != "null" && u.Host == r.Host
}

// signed lets a request through only with a live session; POSTs also
// need the session's CSRF token. Pages send the browser to the sign-in
// form; the event stream answers 401.
func (c *Console) signed(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		se, _ := c.sessions.get(r)
		if se == nil {
			if r.Method == http.MethodGet && r.URL.Path != "/console/live/events" {
				http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
				return
			}
			c.fail(w, r, nil, http.StatusUnauthorized, "Sign in first: your session has ended or you never signed in.")
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			if err := r.ParseForm(); err != nil {
				c.fail(w, r, se, http.StatusBadRequest, "The form could not be read (over 256 KiB?).")
				return
			}
			if !validCSRF(se, r) {
				c.fail(w, r, se, http.StatusForbidden, "This form has no valid CSRF token (it is stale or came from elsewhere): reload the page and try again.")
				return
			}
		}
		h(w, r, se)
	}
}

// maxForm bounds a form's body.
const maxForm = 256 << 10

// page is what every template gets.
type page struct {
	Title   string
	Nav     string // the nav entry that is current
	CSRF    string // empty when signed out
	Flash   string
	Message string // an error message
	Data    any
}

// render writes page name with status.
func (c *Console) render(w http.ResponseWriter, r *http.Request, se *session, status int, name string, p page) {
	if se != nil {
		p.CSRF = se.csrf
		if p.Flash == "" {
			p.Flash = c.sessions.takeFlash(se)
		}
	}
	var buf bytes.Buffer
	if err := c.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		c.opts.Logger.ErrorContext(r.Context(), "console page failed", "page", name, "err", err)
		http.Error(w, "the console page could not be drawn", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail writes an error page.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, se *session, status int, msg string) {
	c.render(w, r, se, status, "error", page{Title: fmt.Sprintf("%d %s", status, http.StatusText(status)), Message: msg})
}

// parsePages parses each page template with the layout.
func parsePages() (map[string]*template.Template, error) {
	base, err := template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html")
	if err != nil {
		return nil, fmt.Errorf("console templates: %w", err)
	}
	pages := map[string]*template.Template{}
	for _, name := range []string{"signin", "error", "overview", "pipeline", "upstreams", "live", "call", "config", "confirm"} {
		t, err := base.Clone()
		if err == nil {
			t, err = t.ParseFS(templateFS, "templates/"+name+".html")
		}
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

var funcs = template.FuncMap{
	"percent":   percent,
	"duration":  duration,
	"spark":     sparkPoints,
	"sparkWith": sparkWith,
	"sparkText": sparkText,
	"list":      func(s ...string) []string { return s },
	"ms":        func(d time.Duration) string { return fmt.Sprintf("%.1f ms", ms(d)) },
	"clock":     func(t time.Time) string { return t.Format("15:04:05") },
	"stamp":     func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
}

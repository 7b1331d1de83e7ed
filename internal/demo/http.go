package demo

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxBodyBytes caps every request body.
const maxBodyBytes = 1 << 20

const (
	contentTypeJSON    = "application/json"
	contentTypeProblem = "application/problem+json"
)

// problem is an RFC 9457 problem document.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeProblem(w, http.StatusInternalServerError, "encoding the answer failed")
		return
	}
	write(w, status, contentTypeJSON, body)
}

// writeProblem answers with an RFC 9457 problem document.
func writeProblem(w http.ResponseWriter, status int, detail string) {
	body, err := json.Marshal(problem{
		Type:   "about:blank",
		Title:  http.StatusText(status),
		Status: status,
		Detail: detail,
	})
	if err != nil { // cannot happen: every field is a plain string or int
		body = []byte(`{"type":"about:blank","title":"Internal Server Error","status":500}`)
		status = http.StatusInternalServerError
	}
	write(w, status, contentTypeProblem, body)
}

func write(w http.ResponseWriter, status int, contentType string, body []byte) {
	body = append(body, '\n')
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// newMux returns a ServeMux whose unmatched paths answer 404 with a problem
// document rather than plain text.
func newMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusNotFound, fmt.Sprintf("no such endpoint: %s", r.URL.Path))
	})
	return mux
}

// handle registers h for pattern (a path pattern without method). Requests
// with another method get a 405 problem document with an Allow header; GET
// routes also answer HEAD.
func handle(mux *http.ServeMux, method, pattern string, h http.HandlerFunc) {
	allowed := method
	if method == http.MethodGet {
		allowed = "GET, HEAD"
	}
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == method || (method == http.MethodGet && r.Method == http.MethodHead) {
			h(w, r)
			return
		}
		w.Header().Set("Allow", allowed)
		writeProblem(w, http.StatusMethodNotAllowed,
			fmt.Sprintf("method %s is not allowed on %s; use %s", r.Method, r.URL.Path, method))
	})
}

// wrap adds what every backend does around its routes: a body cap, recovery
// from panics, and the optional artificial latency.
func wrap(h http.Handler, latency time.Duration) http.Handler {
	return wrapAfter(h, latency, nil)
}

// wrapAfter is wrap with the latency's clock: after (nil: a timer).
func wrapAfter(h http.Handler, latency time.Duration, after func(time.Duration) <-chan time.Time) http.Handler {
	h = withLatency(h, latency, after)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				writeProblem(w, http.StatusInternalServerError, "the demo backend failed")
			}
		}()
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		}
		h.ServeHTTP(w, r)
	})
}

// withLatency delays every answer by d. A request whose context ends first
// is answered 503 at once.
func withLatency(h http.Handler, d time.Duration, after func(time.Duration) <-chan time.Time) http.Handler {
	if d <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		done := (<-chan time.Time)(nil)
		if after != nil {
			done = after(d)
		} else {
			t := time.NewTimer(d)
			defer t.Stop()
			done = t.C
		}
		select {
		case <-done:
			h.ServeHTTP(w, r)
		case <-r.Context().Done():
			writeProblem(w, http.StatusServiceUnavailable, "request cancelled while waiting for the demo latency")
		}
	})
}

// badRequest is an invalid request parameter; its message is the problem
// detail.
type badRequest string

func (e badRequest) Error() string { return string(e) }

// intParam reads a positive integer query parameter: def when absent, at
// most max.
func intParam(q url.Values, name string, def, max int) (int, error) {
	s := strings.TrimSpace(q.Get(name))
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, badRequest(fmt.Sprintf("%s must be a positive integer, got %q", name, s))
	}
	return min(n, max), nil
}

// floatParam reads a required finite number within [lo, hi].
func floatParam(q url.Values, name string, lo, hi float64) (float64, error) {
	s := strings.TrimSpace(q.Get(name))
	if s == "" {
		return 0, badRequest(fmt.Sprintf("%s is required", name))
	}
	f, err := strconv.ParseFloat(s, 64)
	// The range check also rejects NaN (every comparison is false) and ±Inf.
	if err != nil || !(f >= lo && f <= hi) {
		return 0, badRequest(fmt.Sprintf("%s must be a number between %g and %g, got %q", name, lo, hi, s))
	}
	return f, nil
}

// listParam reads a comma-separated list parameter, which may also be
// repeated ("ids=a,b&ids=c"). Items are trimmed and lowercased; empty items
// and duplicates are dropped; order is kept.
func listParam(q url.Values, name string) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range q[name] {
		for item := range strings.SplitSeq(v, ",") {
			item = normalizeID(item)
			if item == "" || seen[item] {
				continue
			}
			seen[item] = true
			out = append(out, item)
		}
	}
	return out
}

// normalizeID makes ids case-insensitive: "P1001 " finds "p1001".
func normalizeID(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

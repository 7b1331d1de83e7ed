// Package problem writes RFC 9457 problem details (application/problem+json)
// and maps Manifold's errors to them, in one place, so that every surface
// answers the same way and no internal error text reaches a client.
package problem

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// ContentType is the media type of a problem document (RFC 9457, section 3).
const ContentType = "application/problem+json"

// TypePrefix starts every problem type URI. The types are identifiers, not
// documentation links (RFC 9457, section 3.1.1 allows non-resolvable URIs).
const TypePrefix = "urn:manifold:problem:"

// Problem is an RFC 9457 problem document with Manifold's extension
// members.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`

	// Errors lists each bad part of a request ({in, name, reason}).
	Errors any `json:"errors,omitempty"`
	// Pipeline, Step and Upstream name where a run failed.
	Pipeline string `json:"pipeline,omitempty"`
	Step     string `json:"step,omitempty"`
	Upstream string `json:"upstream,omitempty"`
	// Expression and At name the pipeline expression that failed (its
	// key, e.g. "steps.air.foreach") and where it is written
	// (file:line:column), for a pipeline-error.
	Expression string `json:"expression,omitempty"`
	At         string `json:"at,omitempty"`
	// UpstreamDetail is the upstream's own description of a refusal,
	// passed on as the upstream wrote it (one clipped line). It is not the
	// gateway's word: callers and LLMs must not take it for instructions,
	// so it never goes in Detail.
	UpstreamDetail string `json:"upstream_detail,omitempty"`

	// RetryAfter, in seconds, is sent as the Retry-After header.
	RetryAfter int `json:"-"`
}

// New returns a problem of the given slug (e.g. "bad-request") and status.
func New(slug string, status int, detail string) *Problem {
	return &Problem{Type: TypePrefix + slug, Title: http.StatusText(status), Status: status, Detail: detail}
}

// TraceIDHeader carries the trace id of a request in its answer (the
// gateway sets it when tracing is on). Write makes the problem's instance
// name that trace, so that a client's report leads to the trace and logs.
const TraceIDHeader = "Manifold-Trace-Id"

// Write sends p as the whole response.
func Write(w http.ResponseWriter, p *Problem) {
	if id := w.Header().Get(TraceIDHeader); id != "" && p.Instance == "" {
		cp := *p
		cp.Instance = "urn:manifold:trace:" + id
		p = &cp
	}
	body, err := json.Marshal(p)
	if err != nil { // cannot happen with the field types above
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Manifold-Incomplete")
	if p.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	w.WriteHeader(p.Status)
	_, _ = w.Write(body)
}

// Error is an error that already knows the problem it answers with:
// authentication, authorization, rate limits, validation.
type Error struct {
	P   *Problem
	Err error // the cause, for logs; never shown to clients
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.P.Title + ": " + e.Err.Error()
	}
	return e.P.Title + ": " + e.P.Detail
}

func (e *Error) Unwrap() error { return e.Err }

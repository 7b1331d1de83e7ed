package connectors

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Connector makes one call to an upstream. Implementations must honour ctx:
// when it ends, the call ends and Do returns promptly.
type Connector interface {
	Do(ctx context.Context, req *Request) (*Response, error)
}

// Request is one upstream call as the engine rendered it. Every value that
// came from an expression is already escaped: Path is an escaped path that
// begins with "/" and is appended to the upstream's base URL, so it can never
// change the scheme, host or port.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	// Forward holds the caller's headers the step forwards
	// (forward_headers): below the upstream's and the step's own headers.
	// Via holds X-Forwarded-For, -Host, -Proto and Forwarded, which say
	// who called and are left out of cache and coalescing keys.
	Forward http.Header
	Via     http.Header
	// Body is the JSON request body, nil when there is none. For GraphQL
	// upstreams it is the {"query": ..., "variables": ...} envelope.
	Body []byte

	// CacheTTL is how long a 2xx answer may be reused (0: not cached).
	// StaleTTL is how long past expiry a cached answer may still be served
	// when the upstream fails or its breaker is open.
	CacheTTL time.Duration
	StaleTTL time.Duration

	// Stream asks for the body unread, in Response.Stream, whatever the
	// status: a pass-through pipeline relays it as is. Such a call is
	// never cached nor coalesced (each caller needs its own body).
	Stream bool
}

// Idempotent reports whether the request may be retried or coalesced
// (RFC 9110, section 9.2.2).
func (r *Request) Idempotent() bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// Cache outcomes, as reported in Response.Cache and in a run's trace.
const (
	CacheNone   = ""       // the request asked for no caching
	CacheHit    = "hit"    // served from cache, upstream not contacted
	CacheMiss   = "miss"   // fetched from upstream (and stored if cacheable)
	CacheStale  = "stale"  // upstream failed, last good answer served
	CacheBypass = "bypass" // cacheable request, but the answer may not be stored
)

// Response is an upstream's answer. For GraphQL upstreams Body is the
// "data" member of the GraphQL response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// URL is where the answer came from when redirects were followed:
	// absolute, credentials REDACTED. Empty when there was no redirect.
	URL string

	// What the resilience stack did, for traces and audit events.
	Cache    string        // one of the Cache* constants
	Age      time.Duration // age of a cached answer
	Attempts int           // calls that reached the transport (0 on a cache hit or open breaker)
	Breaker  string        // breaker state when the call was made: closed, open, half-open

	// Stream is the unread body of a Request with Stream set, capped at
	// the upstream's max_response (past it a read fails with
	// ErrResponseTooLarge); nil otherwise. The caller must Close it: the
	// call (its timeout, its bulkhead slot) lasts until then. Length is
	// its announced length, -1 when unknown.
	Stream io.ReadCloser
	Length int64
}

// ErrResponseTooLarge is returned when an upstream's body exceeds the
// connector's size cap.
var ErrResponseTooLarge = errors.New("upstream response too large")

// ErrBreakerOpen is returned, without touching the network, while an
// upstream's circuit breaker is open.
var ErrBreakerOpen = errors.New("breaker open")

// StatusError is an upstream answer outside 2xx. The call reached the
// upstream, so for breaker purposes a 4xx is a success.
type StatusError struct {
	Status int
	// Detail is a short, safe description taken from the upstream's
	// problem document or error body, if any.
	Detail string
	// Body is the answer's JSON body, when it is JSON of at most
	// MaxErrorBody bytes; nil otherwise. Read-only: coalesced callers
	// share it.
	Body []byte
	// Text is the answer's body when it is text (text/*, valid UTF-8) of
	// at most MaxErrorBody bytes, and ContentType the answer's
	// Content-Type: what .errors.STEP shows of a non-JSON error answer.
	Text        string
	ContentType string
}

func (e *StatusError) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("upstream answered %d %s: %s", e.Status, http.StatusText(e.Status), e.Detail)
	}
	return fmt.Sprintf("upstream answered %d %s", e.Status, http.StatusText(e.Status))
}

// GraphQLError reports the "errors" member of a GraphQL response.
type GraphQLError struct {
	Messages []string
}

func (e *GraphQLError) Error() string {
	if len(e.Messages) == 1 {
		return "graphql error: " + e.Messages[0]
	}
	return fmt.Sprintf("graphql errors (%d): %q", len(e.Messages), e.Messages)
}

package resolvers

import (
	"errors"
	"net/http"

	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/manifoldgw/manifold/internal/problem"
)

// Stable error codes, in extensions.code of every error the view answers
// (beside gqlgen's GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED,
// COMPLEXITY_LIMIT_EXCEEDED and PERSISTED_QUERY_NOT_FOUND). Clients branch
// on these, never on messages.
const (
	CodeBadRequest       = "BAD_REQUEST"        // not a well-formed GraphQL-over-HTTP request
	CodeBadUserInput     = "BAD_USER_INPUT"     // bad params, body or select
	CodeUnauthenticated  = "UNAUTHENTICATED"    // the pipeline needs credentials
	CodeForbidden        = "FORBIDDEN"          // the caller lacks a role
	CodeNotFound         = "NOT_FOUND"          // no such pipeline, or the upstream has no such thing
	CodeMethodNotAllowed = "METHOD_NOT_ALLOWED" // a side effect asked for where none is allowed
	CodeRateLimited      = "RATE_LIMITED"       // see extensions.retryAfter
	CodeUpstreamFailed   = "UPSTREAM_FAILED"    // a required step failed
	CodeTimeout          = "TIMEOUT"            // the run or an upstream took too long
	CodeInternal         = "INTERNAL"           // the gateway failed; details are in its log
)

// CodeFor maps the HTTP status of a gateway problem to its error code.
func CodeFor(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return CodeUnauthenticated
	case status == http.StatusForbidden:
		return CodeForbidden
	case status == http.StatusNotFound:
		return CodeNotFound
	case status == http.StatusMethodNotAllowed:
		return CodeMethodNotAllowed
	case status == http.StatusTooManyRequests:
		return CodeRateLimited
	case status == http.StatusGatewayTimeout:
		return CodeTimeout
	case status == http.StatusBadGateway || status == http.StatusServiceUnavailable:
		return CodeUpstreamFailed
	case status >= 400 && status < 500:
		return CodeBadUserInput
	}
	return CodeInternal
}

// Error is a GraphQL error that knows its problem: the same facts the REST
// path answers with, shown as extensions. Its message is the problem's
// detail, never an internal error's text nor an upstream's (that is
// extensions.upstream_detail).
type Error struct {
	P   *problem.Problem
	Err error // the cause, for logs only
}

// errorFrom maps any error of a call to an Error through problem.From,
// the gateway's one error mapper.
func errorFrom(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{P: problem.From(err), Err: err}
}

func newError(slug string, status int, detail string) *Error {
	return &Error{P: problem.New(slug, status, detail)}
}

func (e *Error) Error() string {
	if e.P.Detail != "" {
		return e.P.Detail
	}
	return e.P.Title
}

func (e *Error) Unwrap() error { return e.Err }

// Code is the error's stable code.
func (e *Error) Code() string { return CodeFor(e.P.Status) }

// GQL renders the error for a response: message, extensions and the path
// and locations of gerr, gqlgen's view of where it happened.
func (e *Error) GQL(gerr *gqlerror.Error) *gqlerror.Error {
	p := e.P
	ext := map[string]any{"code": e.Code(), "status": p.Status, "type": p.Type}
	for k, v := range map[string]string{"pipeline": p.Pipeline, "step": p.Step, "upstream": p.Upstream,
		"expression": p.Expression, "at": p.At} {
		if v != "" {
			ext[k] = v
		}
	}
	if p.Errors != nil {
		ext["errors"] = p.Errors
	}
	if p.RetryAfter > 0 {
		ext["retryAfter"] = p.RetryAfter
	}
	if p.UpstreamDetail != "" { // the upstream's words: never the message
		ext["upstream_detail"] = p.UpstreamDetail
	}
	out := &gqlerror.Error{Message: e.Error(), Extensions: ext, Err: e}
	if gerr != nil {
		out.Path, out.Locations = gerr.Path, gerr.Locations
	}
	return out
}

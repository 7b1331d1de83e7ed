package problem

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/manifoldgw/manifold/connectors"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// From maps an error of a pipeline run to a problem. Errors it does not
// know become a bare 500: their text stays in the logs.
func From(err error) *Problem {
	var (
		params   *pipeline.ParamsError
		timeout  *pipeline.TimeoutError
		tooLarge *pipeline.TooLargeError
		output   *pipeline.OutputError
		step     *pipeline.StepError
		expr     *pipeline.ExprError
		binary   *pipeline.NotRelayableError
		body     *BodyError
		known    *Error
		chosen   *pipeline.ProblemError
		invalid  *pipeline.InvalidProblemError
		items    *pipeline.TooManyItemsError
		calls    *pipeline.TooManyCallsError
	)
	switch {
	case errors.As(err, &known):
		return known.P
	case errors.As(err, &chosen):
		return fromChosen(chosen)
	case errors.As(err, &invalid):
		// The pipeline's own bug: neither the caller nor an upstream is
		// to blame.
		return New("pipeline-error", http.StatusInternalServerError, "the pipeline chose an invalid error: "+invalid.Reason)
	case errors.As(err, &params):
		p := New("bad-request", http.StatusBadRequest, "the request has invalid parameters")
		p.Errors = params.Problems
		return p
	case errors.As(err, &body):
		p := New(body.Slug, body.Status, body.Detail)
		if body.Name != "" {
			p.Errors = []pipeline.ParamProblem{{In: "body", Name: body.Name, Reason: body.Detail}}
		}
		return p
	case errors.As(err, &timeout):
		p := New("timeout", http.StatusGatewayTimeout, fmt.Sprintf("the pipeline did not finish within %s", timeout.Timeout))
		p.Pipeline = timeout.Pipeline
		if len(timeout.Pending) > 0 {
			p.Step = timeout.Pending[0]
		}
		return p
	case errors.As(err, &tooLarge):
		p := New("response-too-large", http.StatusBadGateway, fmt.Sprintf("the answer is %d bytes, over the limit of %d", tooLarge.Size, tooLarge.Limit))
		p.Pipeline = tooLarge.Pipeline
		return p
	case errors.As(err, &expr):
		// Before output and step: an expression failing is the
		// pipeline's bug, whatever it was evaluated on.
		return fromExpr(err, expr)
	case errors.As(err, &output):
		p := New("output-failed", http.StatusBadGateway, "the answer could not be built from the upstream results")
		p.Pipeline = output.Pipeline
		return p
	case errors.As(err, &binary): // inside a StepError: before it
		p := New("not-acceptable", http.StatusNotAcceptable, binary.Error())
		p.Pipeline = binary.Pipeline
		return p
	case errors.As(err, &items):
		return named(fromItems(items), err)
	case errors.As(err, &calls):
		return named(fromCalls(calls), err)
	case errors.As(err, &step):
		return fromStep(step)
	case errors.Is(err, context.DeadlineExceeded):
		return New("timeout", http.StatusGatewayTimeout, "the request took too long")
	case errors.Is(err, context.Canceled):
		return &Problem{Type: TypePrefix + "client-closed", Title: "Client Closed Request", Status: StatusClientClosed,
			Detail: "the caller went away before the answer was ready"}
	}
	return New("internal", http.StatusInternalServerError, "")
}

// fromStep maps a failed required step. An upstream's 404 means the thing
// asked for does not exist, so it is passed on as a 404; any other failure
// is the gateway's upstream failing: 502 naming step and upstream. The
// detail is always in the gateway's words; what the upstream said about a
// refusal goes in UpstreamDetail.
func fromStep(se *pipeline.StepError) *Problem {
	var (
		status *connectors.StatusError
		gql    *connectors.GraphQLError
		path   *pipeline.PathValueError
		header *pipeline.HeaderValueError
		auth   *connectors.AuthError
		redir  *connectors.RedirectError
		format *connectors.FormatError
	)
	var p *Problem
	switch {
	case errors.As(se.Err, &path) && path.Empty():
		// Most often an optional parameter the caller left out.
		p = New("bad-request", http.StatusBadRequest, "a value interpolated into an upstream path is empty")
	case errors.As(se.Err, &path):
		// The caller's own values were checked before the run: this one
		// was computed (from an upstream's answer), so it is not the
		// caller's fault, and it was not sent.
		p = New("unsafe-upstream-path", http.StatusBadGateway,
			fmt.Sprintf("step %s: a value computed for the path of upstream %s would leave its path segment; the call was not made", se.Step, se.Upstream))
	case errors.As(se.Err, &header):
		p = New("bad-request", http.StatusBadRequest, "a value interpolated into upstream header "+header.Header+" contains CR or LF")
	case errors.As(se.Err, &status) && status.Status == http.StatusNotFound:
		p = New("not-found", http.StatusNotFound, fmt.Sprintf("upstream %q has no such resource", se.Upstream))
		p.UpstreamDetail = status.Detail
	case errors.As(se.Err, &status) && rejectsInput(status.Status):
		// The upstream refused what the caller sent (the gateway passes
		// the caller's values on): a 4xx tells an assistant to fix its
		// input, where a 502 would tell it to retry.
		p = New("upstream-rejected", status.Status, fmt.Sprintf("upstream %q rejected the request (%d)", se.Upstream, status.Status))
		p.UpstreamDetail = status.Detail
	case errors.As(se.Err, &status):
		p = New("upstream-failed", http.StatusBadGateway, fmt.Sprintf("step %s: upstream %s answered %d", se.Step, se.Upstream, status.Status))
	case errors.As(se.Err, &auth):
		// The gateway's own credential, not the caller's: never a 401.
		p = New("upstream-auth-failed", http.StatusBadGateway, fmt.Sprintf("step %s: no credential for upstream %s: %s", se.Step, se.Upstream, authReason(auth)))
	case errors.As(se.Err, &redir):
		p = New("upstream-redirect-refused", http.StatusBadGateway, fmt.Sprintf("step %s: upstream %s: %s", se.Step, se.Upstream, redir.Error()))
	case errors.As(se.Err, &format):
		p = New("upstream-failed", http.StatusBadGateway, fmt.Sprintf("step %s: upstream %s answered invalid %s", se.Step, se.Upstream, format.Format))
	case errors.Is(se.Err, connectors.ErrBreakerOpen):
		p = New("upstream-unavailable", http.StatusBadGateway, fmt.Sprintf("step %s: upstream %s: breaker open", se.Step, se.Upstream))
	case errors.As(se.Err, &gql):
		p = New("upstream-failed", http.StatusBadGateway, fmt.Sprintf("step %s: upstream %s answered GraphQL errors", se.Step, se.Upstream))
	case errors.Is(se.Err, connectors.ErrResponseTooLarge):
		p = New("upstream-failed", http.StatusBadGateway, fmt.Sprintf("step %s: upstream %s answered more than its size limit", se.Step, se.Upstream))
	case errors.Is(se.Err, context.DeadlineExceeded):
		p = New("upstream-timeout", http.StatusGatewayTimeout, fmt.Sprintf("step %s: upstream %s did not answer in time", se.Step, se.Upstream))
	default:
		p = New("upstream-failed", http.StatusBadGateway, fmt.Sprintf("step %s: upstream %s failed", se.Step, se.Upstream))
	}
	p.Step, p.Upstream = se.Step, se.Upstream
	return p
}

// fromChosen is the problem a pipeline chose (jq's error/1 or on_status),
// as the author wrote it: no step or upstream is named, since the answer
// is the pipeline's.
func fromChosen(e *pipeline.ProblemError) *Problem {
	sp := e.Problem
	return &Problem{Type: TypePrefix + sp.ProblemSlug(), Title: sp.ProblemTitle(), Status: sp.Status, Detail: sp.Detail}
}

// BodyError is a bad request body: wrong media type, malformed or too
// large.
type BodyError struct {
	Status int
	Slug   string
	Name   string // the offending member, if known
	Detail string
}

func (e *BodyError) Error() string { return e.Detail }

// rejectsInput reports whether an upstream status means the input was
// wrong: 400, 409 and 422 are passed on to the caller, like 404.
func rejectsInput(status int) bool {
	return status == http.StatusBadRequest || status == http.StatusConflict || status == http.StatusUnprocessableEntity
}

// StatusClientClosed is the status recorded for a caller that went away
// before its answer (nginx's 499); no client ever receives it.
const StatusClientClosed = 499

// authReason says why a token could not be had, in the gateway's words:
// the token endpoint's status and error code, never its body.
func authReason(e *connectors.AuthError) string {
	switch {
	case e.Status != 0 && e.Code != "":
		return fmt.Sprintf("its token endpoint answered %d (%s)", e.Status, e.Code)
	case e.Status != 0:
		return fmt.Sprintf("its token endpoint answered %d", e.Status)
	}
	return "its token endpoint failed: " + e.Reason
}

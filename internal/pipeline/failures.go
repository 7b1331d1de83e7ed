package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/manifoldgw/manifold/connectors"
)

// failures is .errors for expressions that see the steps named: one
// {status, body, error} per optional step among them that failed. Required
// steps never appear: their failure ends the run.
func (r *run) failures(names []string) map[string]any {
	out := map[string]any{}
	for _, name := range names {
		i := r.p.stepIndex(name)
		if i < 0 || !r.p.steps[i].cfg.Optional || r.errs[i] == nil {
			continue
		}
		out[name] = stepFailure(r.errs[i])
	}
	return out
}

// stepFailure describes a failed step: the upstream's status (null when
// it did not answer), its body (JSON, or a string for a text/* answer;
// null when it had none, was neither or was over
// connectors.MaxErrorBody), its Content-Type, and a short message in the
// gateway's words.
func stepFailure(err error) map[string]any {
	out := map[string]any{"status": nil, "body": nil, "content_type": nil, "error": failureMessage(err)}
	var se *connectors.StatusError
	if errors.As(err, &se) {
		out["status"] = se.Status
		var body any
		if len(se.Body) > 0 && json.Unmarshal(se.Body, &body) == nil {
			out["body"] = body
		} else if se.Text != "" {
			out["body"] = se.Text // a text answer, as a string
		}
		if se.ContentType != "" {
			out["content_type"] = se.ContentType
		}
	}
	return out
}

// failureMessage says why a step failed without any internal detail
// (addresses, upstream text).
func failureMessage(err error) string {
	var (
		se   *connectors.StatusError
		gql  *connectors.GraphQLError
		expr *ExprError
		path *PathValueError
	)
	switch {
	case errors.As(err, &se):
		return "upstream answered " + strconv.Itoa(se.Status)
	case errors.Is(err, connectors.ErrBreakerOpen):
		return "breaker open"
	case errors.Is(err, connectors.ErrResponseTooLarge):
		return "answer over the upstream's size limit"
	case errors.As(err, &gql):
		return "upstream answered GraphQL errors"
	case errors.As(err, &path):
		return "a path value would leave its segment: the call was not made"
	case errors.As(err, &expr):
		return "an expression failed"
	case errors.Is(err, context.DeadlineExceeded):
		return "did not finish in time"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	return "upstream call failed"
}

// isChosen reports whether err is a problem the pipeline chose to answer
// with (or a broken choice): it ends the run even from an optional step.
func isChosen(err error) bool {
	var pe *ProblemError
	var ie *InvalidProblemError
	return errors.As(err, &pe) || errors.As(err, &ie)
}

// chosen returns the first step error, in declaration order, that is a
// chosen problem.
func (r *run) chosen() error {
	for _, err := range r.errs {
		if err != nil && isChosen(err) {
			return err
		}
	}
	return nil
}

// onStatus applies the step's on_status to a failed call: a mapped
// upstream status gives null or the chosen problem; anything else stays
// the call's error.
func (st *step) onStatus(err error) (any, error) {
	var se *connectors.StatusError
	if !errors.As(err, &se) {
		return nil, err
	}
	sp, ok := st.cfg.OnStatus[se.Status]
	switch {
	case !ok:
		return nil, err
	case sp == nil:
		return nil, nil
	}
	return nil, &ProblemError{Problem: *sp, Upstream: se.Status}
}

// validateOnStatus checks a step's on_status: upstream statuses and the
// statuses answered are 400 to 599.
func (c pctx) validateOnStatus(name string, s *Step) {
	for code, sp := range s.OnStatus {
		key := []string{"steps", name, "on_status", strconv.Itoa(code)}
		if code < 400 || code > 599 {
			c.keyErrorf(key, "%d is not an error status: on_status maps upstream statuses 400 to 599", code)
			continue
		}
		if sp == nil {
			continue
		}
		if sp.Status == 0 {
			c.keyErrorf(key, "status is required: the status to answer with (400 to 599), or null for a null result")
			continue
		}
		if field, reason := checkProblem(*sp); reason != "" {
			c.errorf(append(key, field), "%s", reason)
		}
		if len(sp.Detail) > MaxProblemDetail {
			c.errorf(append(key, "detail"), "longer than %d bytes", MaxProblemDetail)
		}
	}
}

// claimsOf is .consumer.claims: the identity's claims, or an empty object.
func claimsOf(id *Identity) map[string]any {
	if id.Claims == nil {
		return map[string]any{}
	}
	return id.Claims
}

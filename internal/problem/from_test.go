package problem

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/connectors"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// step wraps err as the failure of step s on upstream up, as the engine
// does, behind one more layer of wrapping.
func step(err error) error {
	return fmt.Errorf("run: %w", &pipeline.StepError{Step: "s", Upstream: "up", Err: err})
}

// TestFromBlamesTheRightParty: each error of a run maps to the status and
// type that say whose fault it is: the caller's (4xx), an upstream's
// (502/504, or its 404/400/409/422 passed on), or the pipeline's (500).
func TestFromBlamesTheRightParty(t *testing.T) {
	cases := []struct {
		name   string
		err    error
		status int
		slug   string
		named  bool // the problem names step s and upstream up
	}{
		{"params", &pipeline.ParamsError{Problems: []pipeline.ParamProblem{{In: "query", Name: "q", Reason: "required"}}}, 400, "bad-request", false},
		{"body", &BodyError{Status: 415, Slug: "unsupported-media-type", Detail: "want JSON"}, 415, "unsupported-media-type", false},
		{"pipeline timeout", &pipeline.TimeoutError{Pipeline: "p", Timeout: time.Second, Pending: []string{"s"}}, 504, "timeout", false},
		{"answer too large", &pipeline.TooLargeError{Pipeline: "p", Size: 2, Limit: 1}, 502, "response-too-large", false},
		{"output", &pipeline.OutputError{Pipeline: "p", Err: errors.New("x")}, 502, "output-failed", false},
		{"invalid chosen problem", &pipeline.InvalidProblemError{Expr: "error(1)", Reason: "no status"}, 500, "pipeline-error", false},
		{"chosen problem", &pipeline.ProblemError{Problem: pipeline.StatusProblem{Status: 409, Type: "sold-out"}}, 409, "sold-out", false},
		{"binary answer", step(&pipeline.NotRelayableError{Pipeline: "p", ContentType: "image/png"}), 406, "not-acceptable", false},
		{"items from the caller", step(&pipeline.TooManyItemsError{Step: "s", Count: 9, Limit: 5, FromCaller: true}), 400, "too-many-items", true},
		{"items from upstreams", step(&pipeline.TooManyItemsError{Step: "s", Count: 9, Limit: 5}), 502, "too-many-items", true},
		{"calls", step(&pipeline.TooManyCallsError{Step: "s", Limit: 5}), 502, "too-many-calls", true},
		{"upstream 404", step(&connectors.StatusError{Status: 404}), 404, "not-found", true},
		{"upstream 400", step(&connectors.StatusError{Status: 400}), 400, "upstream-rejected", true},
		{"upstream 409", step(&connectors.StatusError{Status: 409}), 409, "upstream-rejected", true},
		{"upstream 422", step(&connectors.StatusError{Status: 422}), 422, "upstream-rejected", true},
		{"upstream 401: the gateway's credential", step(&connectors.StatusError{Status: 401}), 502, "upstream-failed", true},
		{"upstream 500", step(&connectors.StatusError{Status: 500}), 502, "upstream-failed", true},
		{"upstream 429", step(&connectors.StatusError{Status: 429}), 502, "upstream-failed", true},
		{"no upstream token", step(&connectors.AuthError{Upstream: "up", Status: 401, Code: "invalid_client"}), 502, "upstream-auth-failed", true},
		{"redirect", step(&connectors.RedirectError{Target: "http://elsewhere"}), 502, "upstream-redirect-refused", true},
		{"invalid JSON", step(&connectors.FormatError{Format: "JSON", Err: errors.New("eof")}), 502, "upstream-failed", true},
		{"breaker open", step(fmt.Errorf("call: %w", connectors.ErrBreakerOpen)), 502, "upstream-unavailable", true},
		{"graphql errors", step(&connectors.GraphQLError{Messages: []string{"no"}}), 502, "upstream-failed", true},
		{"upstream too large", step(connectors.ErrResponseTooLarge), 502, "upstream-failed", true},
		{"upstream timeout", step(context.DeadlineExceeded), 504, "upstream-timeout", true},
		{"empty path value", step(&pipeline.PathValueError{Value: "", Reason: "is empty"}), 400, "bad-request", true},
		{"computed path value", step(&pipeline.PathValueError{Value: "../x", Reason: "leaves its segment"}), 502, "unsafe-upstream-path", true},
		{"header value", step(&pipeline.HeaderValueError{Header: "X-A"}), 400, "bad-request", true},
		{"other step failure", step(errors.New("connection refused")), 502, "upstream-failed", true},
		{"request deadline", context.DeadlineExceeded, 504, "timeout", false},
		{"caller left", fmt.Errorf("x: %w", context.Canceled), StatusClientClosed, "client-closed", false},
		{"unknown", errors.New("secret internal detail"), 500, "internal", false},
		{"known", &Error{P: New("forbidden", 403, "no")}, 403, "forbidden", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := From(c.err)
			if p.Status != c.status || p.Type != TypePrefix+c.slug {
				t.Errorf("From = %d %s, want %d %s", p.Status, p.Type, c.status, TypePrefix+c.slug)
			}
			if named := p.Step == "s" && p.Upstream == "up"; named != c.named {
				t.Errorf("step %q upstream %q; naming them: %v, want %v", p.Step, p.Upstream, named, c.named)
			}
			if p.Title == "" {
				t.Error("no title")
			}
		})
	}
}

// TestFromKeepsSecretsOut: an unknown error's text and an upstream's
// failing answer never reach the problem; what the upstream said about a
// refusal goes in upstream_detail alone.
func TestFromKeepsSecretsOut(t *testing.T) {
	for _, err := range []error{
		errors.New("dial tcp 10.1.2.3:5432: password=hunter2"),
		step(&connectors.StatusError{Status: 500, Detail: "hunter2", Body: []byte(`{"token":"hunter2"}`)}),
		step(&connectors.AuthError{Upstream: "up", Status: 401, Code: "invalid_client"}),
	} {
		p := From(err)
		body, _ := json.Marshal(p)
		if strings.Contains(string(body), "hunter2") {
			t.Errorf("%v: the problem shows the secret: %s", err, body)
		}
	}
	p := From(step(&connectors.StatusError{Status: 422, Detail: "sku unknown"}))
	if p.UpstreamDetail != "sku unknown" || strings.Contains(p.Detail, "sku unknown") {
		t.Errorf("a refusal: detail %q, upstream_detail %q", p.Detail, p.UpstreamDetail)
	}
}

// TestWrite: a problem is problem+json with its status, Retry-After when
// set, the trace as its instance, and no Manifold-Incomplete.
func TestWrite(t *testing.T) {
	w := httptest.NewRecorder()
	w.Header().Set(TraceIDHeader, "abc")
	w.Header().Set("Manifold-Incomplete", "s")
	p := New("rate-limited", http.StatusTooManyRequests, "slow down")
	p.RetryAfter = 3
	Write(w, p)
	h := w.Header()
	if w.Code != 429 || h.Get("Content-Type") != ContentType || h.Get("Retry-After") != "3" || h.Get("Manifold-Incomplete") != "" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("answer %d, headers %v", w.Code, h)
	}
	var got Problem
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got.Instance != "urn:manifold:trace:abc" || got.Status != 429 {
		t.Errorf("body %s (%v)", w.Body, err)
	}
	if p.Instance != "" {
		t.Error("Write changed the caller's problem")
	}
	w = httptest.NewRecorder()
	Write(w, New("internal", 500, ""))
	if w.Header().Get("Retry-After") != "" {
		t.Error("Retry-After without a wait")
	}
}

package pipeline_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/problem"
)

// statusHandler answers status with a JSON body.
func statusHandler(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// TestErrorsOfOptionalStep: output and later steps read a failed optional
// step's status, body and message under .errors.STEP.
func TestErrorsOfOptionalStep(t *testing.T) {
	prices := newBackend(t, statusHandler(503, `{"reason":"maintenance","retry":30}`))
	var fallbackPath string
	fallback := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		fallbackPath = r.URL.Path
		jsonHandler(`{"price":1}`)(w, r)
	})
	down := newBackend(t, statusHandler(200, `{}`))
	down.Close() // refuses connections: no status
	rt := load(t, map[string]string{"prices": prices.URL, "fallback": fallback.URL, "down": down.URL}, `
name: quote
path: /quote
steps:
  prices: {upstream: prices, path: /prices, optional: true}
  stock: {upstream: down, path: /stock, optional: true}
  fallback:
    upstream: fallback
    needs: [prices]
    when: .errors.prices != null
    path: /fallback/${ .errors.prices.status }
output: '{prices: .prices, why: .errors.prices, stock: .errors.stock, ok: .errors.fallback}'
`)
	res, err := run(t, rt, "quote", nil)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	want := `{"ok":null,"prices":null,"stock":{"body":null,"content_type":null,"error":"upstream call failed","status":null},` +
		`"why":{"body":{"reason":"maintenance","retry":30},"content_type":"application/json","error":"upstream answered 503","status":503}}`
	if got := string(res.JSON); got != want {
		t.Errorf("answer\n got %s\nwant %s", got, want)
	}
	if fallbackPath != "/fallback/503" {
		t.Errorf("fallback called at %q, want /fallback/503", fallbackPath)
	}
	if got := strings.Join(res.Missing, ","); got != "prices,stock" {
		t.Errorf("missing = %s, want prices,stock", got)
	}
}

// TestErrorsAbsentWithoutOptionalSteps: .errors is null in a pipeline with
// only required steps, and {} when optional steps all succeed.
func TestErrorsAbsentWithoutOptionalSteps(t *testing.T) {
	ok := newBackend(t, jsonHandler(`{"a":1}`))
	rt := load(t, map[string]string{"ok": ok.URL}, `
name: required
path: /required
steps:
  a: {upstream: ok, path: /a}
output: .errors
`, `
name: optional
path: /optional
steps:
  a: {upstream: ok, path: /a, optional: true}
output: .errors
`)
	for name, want := range map[string]string{"required": "null", "optional": "{}"} {
		res, err := run(t, rt, name, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if string(res.JSON) != want {
			t.Errorf("%s: .errors = %s, want %s", name, res.JSON, want)
		}
	}
}

// TestChosenProblem: error({status, detail}) from output, select and when,
// and on_status, answer with the problem the pipeline chose, also from an
// optional step.
func TestChosenProblem(t *testing.T) {
	orders := newBackend(t, jsonHandler(`{"orders":[]}`))
	conflict := newBackend(t, statusHandler(409, `{"error":"locked"}`))
	rt := load(t, map[string]string{"orders": orders.URL, "conflict": conflict.URL}, `
name: fromOutput
path: /a
steps:
  o: {upstream: orders, path: /orders, select: .orders}
output: 'if .o == [] then error({status: 404, detail: "no orders yet"}) else .o end'
`, `
name: fromSelect
path: /b
steps:
  o: {upstream: orders, path: /orders, optional: true, select: 'if .orders == [] then error({status: 422, detail: "empty", title: "Nothing There", type: "empty-list"}) else . end'}
`, `
name: fromWhen
path: /c
steps:
  o: {upstream: orders, path: /orders, when: 'error({status: 403, detail: "closed on sundays"})'}
`, `
name: fromOnStatus
path: /d
steps:
  o: {upstream: conflict, path: /x, on_status: {409: {status: 409, detail: "the order is being edited"}}}
`, `
name: onStatusDefaults
path: /e
steps:
  o: {upstream: conflict, path: /x, on_status: {409: {status: 503}}}
`)
	cases := []struct {
		pipeline, typ, title, detail string
		status                       int
	}{
		{"fromOutput", "not-found", "Not Found", "no orders yet", 404},
		{"fromSelect", "empty-list", "Nothing There", "empty", 422},
		{"fromWhen", "forbidden", "Forbidden", "closed on sundays", 403},
		{"fromOnStatus", "conflict", "Conflict", "the order is being edited", 409},
		{"onStatusDefaults", "service-unavailable", "Service Unavailable", "", 503},
	}
	for _, c := range cases {
		t.Run(c.pipeline, func(t *testing.T) {
			_, err := run(t, rt, c.pipeline, nil)
			var pe *pipeline.ProblemError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v (%T), want a *pipeline.ProblemError", err, err)
			}
			p := problem.From(err)
			want := problem.Problem{Type: problem.TypePrefix + c.typ, Title: c.title, Status: c.status, Detail: c.detail}
			if *p != want {
				t.Errorf("problem %+v\nwant    %+v", *p, want)
			}
		})
	}
}

// TestInvalidChosenProblem: an error/1 object that is not a valid problem
// is the pipeline's bug: a 500 pipeline-error naming what is wrong.
func TestInvalidChosenProblem(t *testing.T) {
	orders := newBackend(t, jsonHandler(`{}`))
	cases := map[string]string{
		`error({status: 200})`:              "status 200 is not an error status: want 400 to 599",
		`error({status: "404"})`:            "status must be an integer from 400 to 599, got a string",
		`error({status: 404, code: 1})`:     `unknown member "code" (want status, detail, title, type)`,
		`error({status: 404, detail: 1})`:   "detail must be a string, got 1",
		`error({status: 404, type: "A B"})`: `type "A B" must be a slug (lower-case letters, digits and -, at most 64)`,
	}
	for expr, reason := range cases {
		t.Run(expr, func(t *testing.T) {
			rt := load(t, map[string]string{"orders": orders.URL}, `
name: bad
path: /bad
steps:
  o: {upstream: orders, path: /o}
output: '`+expr+`'
`)
			_, err := run(t, rt, "bad", nil)
			p := problem.From(err)
			if p.Status != 500 || p.Type != problem.TypePrefix+"pipeline-error" || p.Detail != "the pipeline chose an invalid error: "+reason {
				t.Errorf("problem %+v, want 500 pipeline-error with reason %q", *p, reason)
			}
		})
	}
}

// TestPlainErrorIsPipelineError: error("text") and error({...}) without
// status are the pipeline failing, not a chosen answer: a 500
// pipeline-error naming the expression.
func TestPlainErrorIsPipelineError(t *testing.T) {
	orders := newBackend(t, jsonHandler(`{}`))
	rt := load(t, map[string]string{"orders": orders.URL}, `
name: plain
path: /plain
steps:
  o: {upstream: orders, path: /o}
output: 'error("boom")'
`)
	_, err := run(t, rt, "plain", nil)
	var ee *pipeline.ExprError
	if p := problem.From(err); !errors.As(err, &ee) || p.Type != problem.TypePrefix+"pipeline-error" || p.Status != 500 {
		t.Errorf("err = %v (%s), want a 500 pipeline-error", err, p.Type)
	}
}

// TestOnStatusNull: a required step's upstream 404 maps to null with
// on_status {404: null}; other statuses still fail the run.
func TestOnStatusNull(t *testing.T) {
	missing := newBackend(t, statusHandler(404, `{"error":"no such user"}`))
	broken := newBackend(t, statusHandler(500, `{}`))
	orders := newBackend(t, jsonHandler(`[1,2]`))
	rt := load(t, map[string]string{"users": missing.URL, "broken": broken.URL, "orders": orders.URL}, `
name: profile
path: /profile
steps:
  user: {upstream: users, path: /u, select: .name, on_status: {404: null}}
  orders: {upstream: orders, path: /o}
output: '{user: .user, orders: .orders, found: (.user != null)}'
`, `
name: brokenProfile
path: /broken
steps:
  user: {upstream: broken, path: /u, on_status: {404: null}}
`)
	res, err := run(t, rt, "profile", nil)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if got, want := string(res.JSON), `{"found":false,"orders":[1,2],"user":null}`; got != want {
		t.Errorf("answer %s, want %s", got, want)
	}
	if !res.Complete() || res.Steps[0].Status != 404 {
		t.Errorf("complete=%v status=%d, want a complete answer and the 404 in the trace", res.Complete(), res.Steps[0].Status)
	}
	_, err = run(t, rt, "brokenProfile", nil)
	if p := problem.From(err); p.Status != 502 {
		t.Errorf("a 500 not in on_status: %+v, want the usual 502", *p)
	}
}

package pipeline_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/problem"
)

// TestRunTimeExpressionErrors checks that an expression failing at run
// time is an ExprError naming the expression by key and position, and
// quoting the line that failed, and that it maps to a 500
// pipeline-error naming the step, never to a problem blaming the caller
// or a healthy upstream.
func TestRunTimeExpressionErrors(t *testing.T) {
	up := newBackend(t, jsonHandler(`{"city": "Berlin", "markets": "Berlin", "n": 2}`))
	rt := load(t, map[string]string{"up": up.URL}, `
name: each
path: /v1/each
steps:
  first:
    upstream: up
    path: /first
  each:
    upstream: up
    needs: [first]
    foreach: .first.city
    path: /each/${ .item }
`, `
name: sel
path: /v1/sel
steps:
  sel:
    upstream: up
    path: /sel
    select: |
      .n
      | .markets[]
      | .name
`, `
name: query
path: /v1/query
steps:
  first:
    upstream: up
    path: /first
  query:
    upstream: up
    needs: [first]
    path: /q
    query: {x: "${ .first.city | keys }"}
`, `
name: badOutput
path: /v1/bad-output
steps:
  first:
    upstream: up
    path: /first
output: |
  {city: .first.city}
  | .city[]
`)
	tests := []struct {
		pipeline, step, key, at, quote, detail string
		line                                   int
	}{
		{pipeline: "each", step: "each", key: "steps.each.foreach", at: "p0.yaml:11:14",
			detail: "step each: steps.each.foreach failed: gave a string, not an array in \".first.city\""},
		{pipeline: "sel", step: "sel", key: "steps.sel.select", at: "p1.yaml:8:13", line: 2, quote: "| .markets[]",
			detail: "step sel: steps.sel.select failed: expected an object but got: number at line 2 of the expression: \"| .markets[]\""},
		{pipeline: "query", step: "query", key: "steps.query.query.x", at: "p2.yaml:12:16",
			detail: "step query: steps.query.query.x failed: keys cannot be applied to: string in \".first.city | keys\""},
		{pipeline: "badOutput", key: "output", at: "p3.yaml:8:9", line: 2, quote: "| .city[]",
			detail: "output failed: cannot iterate over: string at line 2 of the expression: \"| .city[]\""},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			_, err := run(t, rt, tt.pipeline, nil)
			var ee *pipeline.ExprError
			if !errors.As(err, &ee) {
				t.Fatalf("run error = %v, want an ExprError", err)
			}
			if ee.Key != tt.key || ee.At() != tt.at || ee.SrcLine != tt.line || ee.Quote != tt.quote {
				t.Errorf("ExprError = key %q at %q line %d %q; want %q at %q line %d %q", ee.Key, ee.At(), ee.SrcLine, ee.Quote, tt.key, tt.at, tt.line, tt.quote)
			}
			p := problem.From(err)
			if p.Status != http.StatusInternalServerError || p.Type != problem.TypePrefix+"pipeline-error" ||
				p.Step != tt.step || p.Expression != tt.key || p.At != tt.at {
				t.Errorf("problem = %+v, want a 500 pipeline-error naming step %q, %s at %s", p, tt.step, tt.key, tt.at)
			}
			if p.Detail != tt.detail {
				t.Errorf("detail = %q\nwant     %q", p.Detail, tt.detail)
			}
		})
	}
}

package graphqlview

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/manifoldgw/manifold/internal/pipeline"
)

// TestPresenter: every error leaves with a code, and an internal error's
// text never does.
func TestPresenter(t *testing.T) {
	var logged strings.Builder
	v := New(Options{Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	secret := errors.New("dial tcp 10.1.2.3:5432: password=hunter2 rejected")
	ctx := graphql.WithFieldContext(context.Background(), &graphql.FieldContext{Field: graphql.CollectedField{Field: &ast.Field{Alias: "run"}}})
	cases := []struct {
		name string
		err  error
		code string
		msg  string
	}{
		{"internal", fmt.Errorf("query store: %w", secret), "INTERNAL", "Internal Server Error"},
		{"panic", v.recover(ctx, "boom: "+secret.Error()), "INTERNAL", "Internal Server Error"},
		{"params", &pipeline.ParamsError{Problems: []pipeline.ParamProblem{{In: "query", Name: "q", Reason: "required"}}}, "BAD_USER_INPUT", "the request has invalid parameters"},
		{"timeout", &pipeline.TimeoutError{Pipeline: "p", Pending: []string{"s"}}, "TIMEOUT", "the pipeline did not finish"},
		{"gqlgen's own", gqlerror.Errorf("provided APQ hash does not match query"), "BAD_REQUEST", "provided APQ hash does not match query"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := v.present(ctx, c.err)
			if e.Extensions["code"] != c.code || !strings.HasPrefix(e.Message, c.msg) {
				t.Errorf("got %q %v, want %s %q", e.Message, e.Extensions, c.code, c.msg)
			}
			if out := fmt.Sprint(e.Message, e.Extensions); strings.Contains(out, "hunter2") {
				t.Errorf("internal text in the answer: %s", out)
			}
		})
	}
	if !strings.Contains(logged.String(), "hunter2") {
		t.Errorf("the internal error is not in the log:\n%s", logged.String())
	}
}

package graphqlview

import (
	"context"
	"errors"
	"net/http"
	"runtime/debug"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/manifoldgw/manifold/internal/problem"
	"github.com/manifoldgw/manifold/resolvers"
)

// present is the view's error presenter: every error leaves with a stable
// extensions.code, and an internal error's text stays in the log.
func (v *View) present(ctx context.Context, err error) *gqlerror.Error {
	gerr := v.presentStatus(ctx, err)
	// A refusal of the view's own (a select that is not a path, ...) is
	// more precise than its status.
	if code := resolvers.ErrorCode(err); code != "" {
		setCode(gerr, code)
		v.countRefusal(code)
	}
	return gerr
}

// countRefusal counts a select refused by a bound.
func (v *View) countRefusal(code string) {
	switch code {
	case resolvers.CodeSelectNotAllowed:
		v.refusals.Add(RefusedSelect)
	case resolvers.CodeSelectTooLarge:
		v.refusals.Add(RefusedSelectResponse)
	}
}

// presentStatus gives err the code of its problem's status.
func (v *View) presentStatus(ctx context.Context, err error) *gqlerror.Error {
	gerr := graphql.DefaultErrorPresenter(ctx, err)
	var re *resolvers.Error
	if errors.As(err, &re) {
		v.logInternal(ctx, re)
		return re.GQL(gerr)
	}
	if gerr.Err == nil {
		// gqlgen's own: parsing, validation, variables, limits, persisted
		// queries. Their messages are about the request.
		if _, ok := gerr.Extensions["code"]; !ok {
			code := resolvers.CodeBadRequest
			if len(gerr.Path) > 0 {
				code = resolvers.CodeInternal // a resolver broke the schema's contract
			}
			setCode(gerr, code)
		}
		return gerr
	}
	re = &resolvers.Error{P: problem.From(gerr.Err), Err: gerr.Err}
	v.logInternal(ctx, re)
	return re.GQL(gerr)
}

// logInternal logs the cause of an internal error, which the client does
// not see.
func (v *View) logInternal(ctx context.Context, re *resolvers.Error) {
	if re.P.Status < http.StatusInternalServerError || re.Err == nil {
		return
	}
	v.log.Error("graphql: internal error", "err", re.Err, "path", graphql.GetPath(ctx).String())
}

// recover turns a resolver's panic into an INTERNAL error.
func (v *View) recover(ctx context.Context, p any) error {
	v.log.Error("graphql: resolver panicked", "panic", p, "path", graphql.GetPath(ctx).String(), "stack", string(debug.Stack()))
	return &resolvers.Error{P: problem.New("internal", http.StatusInternalServerError, "")}
}

func setCode(e *gqlerror.Error, code string) {
	if e.Extensions == nil {
		e.Extensions = map[string]any{}
	}
	e.Extensions["code"] = code
}

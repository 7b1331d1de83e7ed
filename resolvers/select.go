package resolvers

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/itchyny/gojq"

	"github.com/manifoldgw/manifold/internal/problem"
)

// selectTimeout bounds a `select` expression over an answer.
const selectTimeout = time.Second

// Codes of a `select` the view refuses (extensions.code).
const (
	// CodeSelectNotAllowed: the select is not a path expression.
	CodeSelectNotAllowed = "SELECT_NOT_ALLOWED"
	// CodeSelectTooLarge: what the select picked is over max_response.
	CodeSelectTooLarge = "SELECT_TOO_LARGE"
)

// selectAllowed tells a caller what a select may be.
const selectAllowed = "select takes a path expression only: ., .a, .a.b, .[\"k\"], .[0], .[1:3], .[], " +
	"the ? suffix, pipes (|) and commas (,) of those, and objects of them ({a: .x, b}); " +
	"no functions, operators, literals, variables, arrays or recursion (..)"

// CodedError is an error the view answers with its own extensions.code
// rather than one derived from its HTTP status.
type CodedError struct {
	Code string
	Err  error // a *problem.Error, so that every surface maps it alike
}

func (e *CodedError) Error() string { return e.Err.Error() }

func (e *CodedError) Unwrap() error { return e.Err }

// ErrorCode is the code of err when it is, or wraps, a CodedError; "".
func ErrorCode(err error) string {
	for err != nil {
		if c, ok := err.(*CodedError); ok {
			return c.Code
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return ""
		}
		err = u.Unwrap()
	}
	return ""
}

func selectError(code string, status int, detail string) error {
	return &CodedError{Code: code, Err: &problem.Error{P: problem.New("bad-request", status, detail)}}
}

// compileSelect compiles the caller's select. Only path expressions are
// allowed: whatever they pick is part of the answer (objects of paths
// only rename and regroup it), so no select can make a value larger than
// the answer, or spend more than it walks. Arithmetic, functions, string
// literals, arrays (which collect all their outputs at once) and
// recursion could, and are refused before anything is compiled.
func compileSelect(sel *string) (*gojq.Code, error) {
	if sel == nil || *sel == "" {
		return nil, nil
	}
	q, err := gojq.Parse(*sel)
	if err != nil {
		return nil, badInput("select", "not a jq expression: "+err.Error())
	}
	if what := notPath(q); what != "" {
		return nil, selectError(CodeSelectNotAllowed, http.StatusBadRequest, what+" is not allowed: "+selectAllowed)
	}
	code, err := gojq.Compile(q)
	if err != nil {
		return nil, badInput("select", err.Error())
	}
	return code, nil
}

// notPath returns what in q is not a path expression, or "".
func notPath(q *gojq.Query) string {
	switch {
	case q == nil:
		return ""
	case q.Meta != nil || len(q.Imports) > 0:
		return "a module directive"
	case len(q.FuncDefs) > 0:
		return "a function definition"
	case len(q.Patterns) > 0:
		return "a variable binding (as)"
	case q.Term != nil:
		return termNotPath(q.Term)
	case q.Op != gojq.OpPipe && q.Op != gojq.OpComma:
		return "the operator " + q.Op.String()
	}
	if what := notPath(q.Left); what != "" {
		return what
	}
	return notPath(q.Right)
}

func termNotPath(t *gojq.Term) string {
	var what string
	switch t.Type {
	case gojq.TermTypeIdentity:
	case gojq.TermTypeIndex:
		what = indexNotPath(t.Index)
	case gojq.TermTypeQuery:
		what = notPath(t.Query)
	case gojq.TermTypeObject:
		what = objectNotPath(t.Object)
	case gojq.TermTypeRecurse:
		what = "recursion (..)"
	case gojq.TermTypeFunc:
		what = "a function call (" + t.Func.Name + ")"
	case gojq.TermTypeArray:
		what = "an array construction"
	default:
		what = fmt.Sprintf("%q", t.String())
	}
	if what != "" {
		return what
	}
	for _, s := range t.SuffixList {
		if s.Index != nil {
			if what := indexNotPath(s.Index); what != "" {
				return what
			}
		}
	}
	return ""
}

// indexNotPath allows .name, ."name", .["name"], .[n] and .[n:m] with
// literal names and integers.
func indexNotPath(ix *gojq.Index) string {
	if ix.Str != nil && len(ix.Str.Queries) > 0 {
		return "string interpolation"
	}
	for _, q := range []*gojq.Query{ix.Start, ix.End} {
		if q == nil {
			continue
		}
		if !literalKey(q, !ix.IsSlice) {
			return "the index [" + q.String() + "]"
		}
	}
	return ""
}

// literalKey reports whether q is an integer, or (if strings are allowed)
// a plain string literal.
func literalKey(q *gojq.Query, strings bool) bool {
	t := q.Term
	if t == nil || q.Left != nil || len(q.Patterns) > 0 || len(t.SuffixList) > 0 {
		return false
	}
	switch t.Type {
	case gojq.TermTypeNumber:
		_, err := strconv.Atoi(t.Number)
		return err == nil
	case gojq.TermTypeUnary:
		u := t.Unary
		if u.Op != gojq.OpSub || u.Term.Type != gojq.TermTypeNumber || len(u.Term.SuffixList) > 0 {
			return false
		}
		_, err := strconv.Atoi(u.Term.Number)
		return err == nil
	case gojq.TermTypeString:
		return strings && len(t.Str.Queries) == 0
	}
	return false
}

// objectNotPath allows {a: path, "b": path, c}: literal keys, path values.
func objectNotPath(o *gojq.Object) string {
	for _, kv := range o.KeyVals {
		switch {
		case kv.KeyQuery != nil:
			return "a computed object key"
		case kv.KeyString != nil && len(kv.KeyString.Queries) > 0:
			return "string interpolation"
		case len(kv.Key) > 0 && kv.Key[0] == '$':
			return "a variable ($)"
		}
		if what := notPath(kv.Val); what != "" {
			return what
		}
	}
	return ""
}

// narrow applies select to the answer: one result is the value, several
// are an array, none is null. What it picks is bounded by limit bytes of
// JSON (the gateway's max_response): a path expression can still repeat
// parts of the answer (.,.,.), and each output is measured as it comes.
func narrow(ctx context.Context, data any, sel *gojq.Code, limit int) (any, error) {
	if sel == nil {
		return data, nil
	}
	ctx, cancel := context.WithTimeout(ctx, selectTimeout)
	defer cancel()
	var out []any
	budget := limit
	iter := sel.RunWithContext(ctx, data)
	for {
		v, ok := iter.Next()
		if !ok {
			break
		}
		if err, isErr := v.(error); isErr {
			return nil, &Error{P: problem.New("bad-request", http.StatusBadRequest, "select failed on the answer: "+err.Error()), Err: err}
		}
		if budget = within(v, budget-1); budget < 0 { // 1: the comma between outputs
			return nil, selectError(CodeSelectTooLarge, http.StatusBadRequest,
				fmt.Sprintf("what select picked is over the gateway's max_response of %d bytes: select less", limit))
		}
		out = append(out, v)
	}
	switch len(out) {
	case 0:
		return nil, nil
	case 1:
		return out[0], nil
	}
	return out, nil
}

// within returns budget less the size of v encoded as JSON, or a negative
// number as soon as v does not fit: it walks no more of v than budget
// allows. Strings are counted without their escapes.
func within(v any, budget int) int {
	if budget < 0 {
		return budget
	}
	switch x := v.(type) {
	case nil:
		return budget - 4
	case bool:
		return budget - 5
	case string:
		return budget - 2 - len(x)
	case map[string]any:
		budget -= 2
		for k, e := range x {
			if budget = within(e, budget-len(k)-4); budget < 0 {
				return budget
			}
		}
		return budget
	case []any:
		budget -= 2
		for _, e := range x {
			if budget = within(e, budget-1); budget < 0 {
				return budget
			}
		}
		return budget
	}
	return budget - len(fmt.Sprint(v)) // numbers
}

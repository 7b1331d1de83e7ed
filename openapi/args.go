package openapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/problem"
)

// Args is a call's input given as JSON values rather than as an HTTP
// request: GraphQL arguments, MCP tool arguments, `manifold run` flags.
type Args struct {
	// Params holds parameter values by name as decoded JSON: string,
	// number (float64, json.Number or an integer type), bool; nil is
	// absent. A []string gives a parameter several times, as a repeated
	// query parameter does.
	Params map[string]any
	// Body is the JSON request body; nil when none was given. A GET
	// pipeline's body is ignored, as over REST.
	Body json.RawMessage
}

// CheckArgs validates a call's input given as JSON against p's operation
// exactly as a REST request is validated: it builds the request REST
// would have received, puts it through the same openapi3filter check and
// then pipeline.ParseParams, and decodes the body. Every surface thus
// refuses the same input with the same problem and the same {in, name,
// reason} entries. Names that are not parameters are refused whatever p's
// unknown_query says: a JSON caller has no other parameters to pass on.
// It returns the typed, defaulted parameters and the decoded body.
func (sp *Spec) CheckArgs(ctx context.Context, p *pipeline.Compiled, a Args) (map[string]any, any, error) {
	route := sp.routes[p.Name]
	if route == nil {
		return nil, nil, fmt.Errorf("openapi: pipeline %s is not in this document", p.Name)
	}
	if int64(len(a.Body)) > sp.maxBody {
		return nil, nil, &problem.BodyError{Status: http.StatusRequestEntityTooLarge, Slug: "body-too-large",
			Detail: "the request body is over the limit of " + strconv.FormatInt(sp.maxBody, 10) + " bytes"}
	}
	r, typeErrs, unknown, err := argsRequest(ctx, p, a)
	if err != nil {
		return nil, nil, err
	}
	found, err := sp.schemaViolations(r, p, route, r.URL.Query())
	if err != nil {
		return nil, nil, err
	}
	violationsToKeys(p, found) // a JSON caller names parameters by key
	if found = insertUnknown(append(typeErrs, found...), unknown); len(found) > 0 {
		return nil, nil, invalid(found)
	}
	params, err := p.ParseParams(requestParams(r))
	var pe *pipeline.ParamsError
	if errors.As(err, &pe) {
		toKeys(p, pe.Problems)
	}
	if err != nil {
		return nil, nil, err
	}
	if p.Method == http.MethodGet || len(a.Body) == 0 {
		return params, nil, nil
	}
	var body any
	if err := json.Unmarshal(a.Body, &body); err != nil {
		return nil, nil, &problem.BodyError{Status: http.StatusBadRequest, Slug: "bad-request", Name: "body",
			Detail: "the request body is not valid JSON: " + jsonReason(string(a.Body))}
	}
	return params, body, nil
}

// argsRequest builds the REST request that carries a: parameters in their
// location (path value, query, header) as text, the body as JSON. Values
// that have no text (objects, arrays) and names that are not parameters
// are returned as violations instead.
func argsRequest(ctx context.Context, p *pipeline.Compiled, a Args) (r *http.Request, typeErrs, unknown []violation, err error) {
	var body *bytes.Reader
	if p.Method != http.MethodGet && len(a.Body) > 0 {
		body = bytes.NewReader(a.Body)
	} else {
		body = bytes.NewReader(nil)
	}
	r, err = http.NewRequestWithContext(ctx, p.Method, "/", body)
	if err != nil {
		return nil, nil, nil, err
	}
	if body.Len() > 0 {
		r.Header.Set("Content-Type", "application/json")
	}
	query := url.Values{}
	for _, name := range sortedKeys(a.Params) {
		v := a.Params[name]
		prm := p.Params[name]
		switch {
		case prm == nil:
			unknown = append(unknown, violation{pipeline.ParamProblem{In: "query", Name: name, Reason: "unknown parameter"}, http.StatusBadRequest})
			continue
		case v == nil:
			continue
		}
		texts, reason := argTexts(prm, v)
		if reason != "" {
			typeErrs = append(typeErrs, violation{pipeline.ParamProblem{In: prm.In, Name: name, Reason: reason}, http.StatusBadRequest})
			continue
		}
		wire := prm.WireName(name)
		for _, text := range texts {
			switch prm.In {
			case "path":
				r.SetPathValue(name, text)
			case "header":
				r.Header.Add(wire, text)
			default:
				query.Add(wire, text)
			}
		}
	}
	r.URL.RawQuery = query.Encode()
	return r, typeErrs, unknown, nil
}

// argText is the text a REST request would carry for a JSON value; false
// for values that have none (objects, arrays).
func argText(v any) ([]string, bool) {
	switch x := v.(type) {
	case string:
		return []string{x}, true
	case []string:
		return x, true
	case bool:
		return []string{strconv.FormatBool(x)}, true
	case json.Number:
		// 7.0 is the integer 7, as pipeline.Param.FromJSON reads it.
		if _, err := x.Int64(); err != nil {
			if f, err := x.Float64(); err == nil {
				return []string{strconv.FormatFloat(f, 'f', -1, 64)}, true
			}
		}
		return []string{x.String()}, true
	case float64:
		return []string{strconv.FormatFloat(x, 'f', -1, 64)}, true
	case float32:
		return []string{strconv.FormatFloat(float64(x), 'f', -1, 32)}, true
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return []string{fmt.Sprint(x)}, true
	}
	return nil, false
}

// kindFits reports whether a JSON value's own type may be a parameter of
// type typ: a string (read as a query string is) or a value of typ's
// kind. A JSON caller gets no `true` for a string, as a REST one cannot.
func kindFits(typ string, v any) bool {
	switch v.(type) {
	case string, []string:
		return true
	case bool:
		return typ == "boolean"
	}
	return typ == "integer" || typ == "number"
}

// typeReason words a value whose JSON type does not fit its parameter,
// as pipeline.Param.FromJSON does.
func typeReason(prm *pipeline.Param, v any) string {
	if _, reason := prm.FromJSON(v); reason != "" {
		return reason
	}
	return fmt.Sprintf("%v is not %s", v, article(prm.Type))
}

// requestParams reads a request's parameter values as the REST handler
// gives them to pipeline.ParseParams.
func requestParams(r *http.Request) func(in, name string) []string {
	query := r.URL.Query()
	return func(in, name string) []string {
		switch in {
		case "path":
			if v := r.PathValue(name); v != "" {
				return []string{v}
			}
			return nil
		case "header":
			return r.Header.Values(name)
		}
		return query[name]
	}
}

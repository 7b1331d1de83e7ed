package openapi

import (
	"net/http"
	"net/url"
	"reflect"

	"github.com/getkin/kin-openapi/openapi3"
)

// plainParams describes an operation that takes no body and whose
// parameters are all plain strings: a schema of type string and nothing
// else but annotations. Every value satisfies such a schema, so
// openapi3filter can find nothing wrong with a request to it but a
// required parameter that is missing.
type plainParams struct {
	required []*openapi3.Parameter
}

// plainOperation returns op's plainParams, or nil if op takes a body or a
// parameter whose schema constrains its value.
func plainOperation(op *openapi3.Operation) *plainParams {
	if op.RequestBody != nil {
		return nil
	}
	ps := &plainParams{}
	for _, ref := range op.Parameters {
		prm := ref.Value
		if prm == nil || prm.Content != nil || prm.Schema == nil || !plainString(prm.Schema.Value) {
			return nil
		}
		switch prm.In {
		case openapi3.ParameterInPath, openapi3.ParameterInQuery, openapi3.ParameterInHeader:
		default:
			return nil
		}
		if prm.Required {
			ps.required = append(ps.required, prm)
		}
	}
	return ps
}

// plainString reports whether s is {type: string} and annotations.
func plainString(s *openapi3.Schema) bool {
	if s == nil {
		return false
	}
	bare := *s
	bare.Extensions, bare.Origin = nil, nil
	bare.Title, bare.Description, bare.Default, bare.Example, bare.Examples, bare.ExternalDocs = "", "", nil, nil, nil, nil
	bare.Deprecated = false
	return reflect.DeepEqual(&bare, openapi3.NewStringSchema())
}

// present reports whether r carries every required parameter, as the
// check sees them: a query parameter or header sent empty is absent.
func (ps *plainParams) present(r *http.Request, q url.Values) bool {
	for _, prm := range ps.required {
		var v string
		switch prm.In {
		case openapi3.ParameterInPath:
			v = r.PathValue(prm.Name)
		case openapi3.ParameterInQuery:
			v = q.Get(prm.Name)
		case openapi3.ParameterInHeader:
			v = r.Header.Get(prm.Name)
		}
		if v == "" {
			return false
		}
	}
	return true
}

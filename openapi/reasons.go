package openapi

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/manifoldgw/manifold/internal/pipeline"
)

// The reasons below use the words of the pipeline's own parameter checks
// (pipeline.ParseParams), so that a bad request reads the same whatever
// layer caught it.

// violation is one problem entry and the status it calls for.
type violation struct {
	pipeline.ParamProblem
	status int
}

// violations turns openapi3filter's error into problem entries, in the
// order the request's parts appear in the operation: parameters, then
// the body.
func violations(err error, raw func(in, name string) string) []violation {
	var out []violation
	for _, e := range flatten(err) {
		var re *openapi3filter.RequestError
		if !errors.As(e, &re) {
			out = append(out, violation{pipeline.ParamProblem{In: "body", Name: "body", Reason: cleanReason(e.Error())}, http.StatusBadRequest})
			continue
		}
		switch {
		case re.Parameter != nil:
			out = append(out, paramViolations(re, raw)...)
		case re.RequestBody != nil:
			out = append(out, bodyViolations(re, raw)...)
		default:
			out = append(out, violation{pipeline.ParamProblem{In: "body", Name: "body", Reason: cleanReason(re.Error())}, http.StatusBadRequest})
		}
	}
	return out
}

// flatten lists the errors of a (nested) openapi3.MultiError.
func flatten(err error) []error {
	me, ok := err.(openapi3.MultiError) // not errors.As: schema errors hold MultiErrors of their own
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range me {
		out = append(out, flatten(e)...)
	}
	return out
}

func paramViolations(re *openapi3filter.RequestError, raw func(in, name string) string) []violation {
	p := re.Parameter
	bad := func(reason string) []violation {
		return []violation{{pipeline.ParamProblem{In: p.In, Name: p.Name, Reason: reason}, http.StatusBadRequest}}
	}
	var parse *openapi3filter.ParseError
	switch {
	case errors.Is(re.Err, openapi3filter.ErrInvalidRequired):
		return bad("required")
	case errors.Is(re.Err, openapi3filter.ErrInvalidEmptyValue):
		return bad("must not be empty")
	case errors.As(re.Err, &parse):
		typ := ""
		if p.Schema != nil && p.Schema.Value != nil && p.Schema.Value.Type != nil {
			typ = firstType(*p.Schema.Value.Type)
		}
		return bad(notA(raw(p.In, p.Name), typ))
	case len(schemaErrors(re.Err)) > 0:
		var out []violation
		for _, leaf := range schemaErrors(re.Err) {
			out = append(out, bad(schemaReason(leaf))...)
		}
		return out
	}
	return bad(cleanReason(re.Error()))
}

// notA phrases a value that does not parse as its type.
func notA(value, typ string) string {
	switch typ {
	case "integer":
		return fmt.Sprintf("%q is not an integer", value)
	case "number":
		return fmt.Sprintf("%q is not a number", value)
	case "boolean":
		return fmt.Sprintf("%q is not a boolean (true or false)", value)
	case "":
		return fmt.Sprintf("%q is not valid", value)
	}
	return fmt.Sprintf("%q is not %s", value, article(typ))
}

func bodyViolations(re *openapi3filter.RequestError, raw func(in, name string) string) []violation {
	body := func(name, reason string) violation {
		return violation{pipeline.ParamProblem{In: "body", Name: name, Reason: reason}, http.StatusBadRequest}
	}
	var parse *openapi3filter.ParseError
	switch {
	case re.Err == nil && strings.HasPrefix(re.Reason, "header Content-Type"):
		ct := raw("header", "Content-Type")
		reason := "must be application/json"
		if ct != "" {
			reason = fmt.Sprintf("%q: must be application/json", ct)
		}
		return []violation{{pipeline.ParamProblem{In: "header", Name: "Content-Type", Reason: reason}, http.StatusUnsupportedMediaType}}
	case errors.Is(re.Err, openapi3filter.ErrInvalidRequired):
		return []violation{body("body", "a JSON request body is required")}
	case errors.As(re.Err, &parse):
		return []violation{body("body", "the request body is not valid JSON: "+jsonReason(raw("body", "")))}
	case len(schemaErrors(re.Err)) > 0:
		var out []violation
		for _, leaf := range schemaErrors(re.Err) {
			for _, m := range members(leaf) {
				out = append(out, body(m.pointer, m.reason))
			}
		}
		// The validator finds them in map order: sort, for the same answer
		// to the same request.
		slices.SortStableFunc(out, func(a, b violation) int {
			return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Reason, b.Reason))
		})
		return out
	}
	return []violation{body("body", cleanReason(re.Error()))}
}

// jsonReason describes why a body is not JSON without echoing it.
func jsonReason(data string) string {
	var v any
	err := json.Unmarshal([]byte(data), &v)
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return "syntax error at byte " + strconv.FormatInt(syn.Offset, 10)
	}
	return "unexpected end or type"
}

// schemaErrors lists the innermost schema errors in err: kin-openapi's
// own validator returns a MultiError of them, its JSON Schema 2020-12
// validator one error with the others as its cause.
func schemaErrors(err error) []*openapi3.SchemaError {
	if me, ok := err.(openapi3.MultiError); ok {
		var out []*openapi3.SchemaError
		for _, e := range me {
			out = append(out, schemaErrors(e)...)
		}
		return out
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		return leaves(se)
	}
	return nil
}

// leaves lists the innermost schema errors: JSON Schema 2020-12 errors
// nest the errors of subschemas under the error of the whole.
func leaves(e *openapi3.SchemaError) []*openapi3.SchemaError {
	var me openapi3.MultiError
	if alternatives[e.SchemaField] || e.Origin == nil || !errors.As(e.Origin, &me) {
		return []*openapi3.SchemaError{e}
	}
	var out []*openapi3.SchemaError
	for _, sub := range me {
		var se *openapi3.SchemaError
		if errors.As(sub, &se) {
			out = append(out, leaves(se)...)
		}
	}
	if len(out) == 0 {
		return []*openapi3.SchemaError{e}
	}
	return out
}

// alternatives are keywords whose sub-errors are about shapes the value
// need not have: the keyword's own error says more.
var alternatives = map[string]bool{"oneOf": true, "anyOf": true, "not": true}

type member struct{ pointer, reason string }

const unknownMember = "is not allowed (unknown member)"

var (
	legacyMissing = regexp.MustCompile(`^property "(.*)" is missing$`)
	legacyUnknown = regexp.MustCompile(`^property "(.*)" is unsupported$`)
)

// members names the body members a schema error is about: a missing or
// unknown property is named itself, not its parent object.
func members(e *openapi3.SchemaError) []member {
	at := pointer(e.JSONPointer())
	obj, _ := e.Value.(map[string]any)
	s := e.Schema
	// kin-openapi's own validator names the member in its message, and
	// points at a missing one itself.
	if m := legacyUnknown.FindStringSubmatch(e.Reason); m != nil {
		return []member{{at + "/" + escape(m[1]), unknownMember}}
	}
	if legacyMissing.MatchString(e.Reason) && at != "" {
		return []member{{at, "required"}}
	}
	switch {
	case e.SchemaField == "required" && s != nil && obj != nil:
		var out []member
		for _, name := range s.Required {
			if _, ok := obj[name]; !ok {
				out = append(out, member{at + "/" + escape(name), "required"})
			}
		}
		if len(out) > 0 {
			return out
		}
	case e.SchemaField == "additionalProperties" && s != nil && obj != nil:
		var out []member
		for _, name := range sortedKeys(obj) {
			if _, known := s.Properties[name]; !known && !matchesPattern(s, name) {
				out = append(out, member{at + "/" + escape(name), unknownMember})
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	if at == "" {
		at = "body"
	}
	return []member{{at, schemaReason(e)}}
}

func matchesPattern(s *openapi3.Schema, name string) bool {
	for p := range s.PatternProperties {
		if re, err := regexp.Compile(p); err == nil && re.MatchString(name) {
			return true
		}
	}
	return false
}

// pointer writes a JSON Pointer (RFC 6901) to a body member.
func pointer(path []string) string {
	var b strings.Builder
	for _, p := range path {
		b.WriteString("/" + escape(p))
	}
	return b.String()
}

func escape(token string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(token)
}

// schemaReason phrases the keyword a value breaks.
func schemaReason(e *openapi3.SchemaError) string {
	s := e.Schema
	if s == nil {
		return cleanReason(e.Reason)
	}
	if r := numberReason(e.SchemaField, s); r != "" {
		return r
	}
	switch e.SchemaField {
	case "enum":
		return "must be one of " + list(s.Enum)
	case "const":
		return "must be " + show(s.Const)
	case "type":
		if s.Type != nil {
			return "must be " + typeList(*s.Type)
		}
	case "nullable":
		return "must not be null"
	case "minLength":
		return fmt.Sprintf("must be at least %d characters", s.MinLength)
	case "maxLength":
		if s.MaxLength != nil {
			return fmt.Sprintf("must be at most %d characters", *s.MaxLength)
		}
	case "pattern":
		return "must match " + s.Pattern
	case "format":
		return "must be a valid " + s.Format
	case "minItems":
		return fmt.Sprintf("must have at least %d items", s.MinItems)
	case "maxItems":
		if s.MaxItems != nil {
			return fmt.Sprintf("must have at most %d items", *s.MaxItems)
		}
	case "uniqueItems":
		return "must not hold the same item twice"
	case "required":
		return "lacks required members: " + strings.Join(s.Required, ", ")
	case "oneOf":
		return "must match exactly one of the allowed shapes"
	case "anyOf":
		return "must match one of the allowed shapes"
	case "not":
		return "must not match the excluded shape"
	}
	return cleanReason(e.Reason)
}

// numberReason phrases a broken numeric bound, or returns "".
func numberReason(field string, s *openapi3.Schema) string {
	var v *float64
	var phrase string
	switch field {
	case "minimum":
		v, phrase = s.Min, "must be at least "
	case "maximum":
		v, phrase = s.Max, "must be at most "
	case "exclusiveMinimum":
		v, phrase = bound(s.ExclusiveMin, s.Min), "must be greater than "
	case "exclusiveMaximum":
		v, phrase = bound(s.ExclusiveMax, s.Max), "must be less than "
	case "multipleOf":
		v, phrase = s.MultipleOf, "must be a multiple of "
	}
	if v == nil {
		return ""
	}
	return phrase + num(*v)
}

func bound(b openapi3.ExclusiveBound, legacy *float64) *float64 {
	if b.Value != nil {
		return b.Value
	}
	if b.IsTrue() {
		return legacy
	}
	return nil
}

// cleanReason strips the validator's location prefixes from a message.
var locationPrefix = regexp.MustCompile(`^(error at "[^"]*": )?(at '[^']*': )?`)

func cleanReason(s string) string {
	s = strings.TrimPrefix(s, "jsonschema validation failed with 'https://example.com/schema.json#'\n- ")
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return locationPrefix.ReplaceAllString(s, "")
}

func typeList(t openapi3.Types) string {
	parts := make([]string, len(t))
	for i, name := range t {
		parts[i] = article(name)
	}
	return strings.Join(parts, " or ")
}

func firstType(t openapi3.Types) string {
	for _, name := range t {
		if name != "null" {
			return name
		}
	}
	return ""
}

func article(typ string) string {
	switch typ {
	case "integer", "object", "array":
		return "an " + typ
	case "null":
		return "null"
	}
	return "a " + typ
}

func list(vals []any) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = show(v)
	}
	return strings.Join(parts, ", ")
}

// show writes a value the way pipeline parameter messages do: strings
// bare, numbers without a needless fraction.
func show(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case float64:
		return num(t)
	case nil:
		return "null"
	}
	if b, err := json.Marshal(v); err == nil {
		return string(b)
	}
	return fmt.Sprint(v)
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

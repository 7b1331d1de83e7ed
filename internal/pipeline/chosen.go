package pipeline

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strings"

	"github.com/itchyny/gojq"
)

// ProblemError is a problem the pipeline chose to answer with: the object
// given to jq's error/1 (`error({status: 404, detail: "..."})`) or a
// step's on_status entry. It ends the run, whichever step raised it,
// optional or not.
type ProblemError struct {
	Problem StatusProblem
	// Upstream is the upstream status on_status mapped (0 for error/1).
	Upstream int
}

func (e *ProblemError) Error() string {
	if e.Upstream != 0 {
		return fmt.Sprintf("on_status %d: answer %d", e.Upstream, e.Problem.Status)
	}
	return fmt.Sprintf("error(): answer %d", e.Problem.Status)
}

// InvalidProblemError is an error/1 object that is not a valid problem
// (a status outside 400-599, a member of the wrong type or unknown): a bug
// of the pipeline, never of the caller or an upstream.
type InvalidProblemError struct {
	Expr   string
	Reason string
}

func (e *InvalidProblemError) Error() string {
	return fmt.Sprintf("jq %q: error(): %s", e.Expr, e.Reason)
}

// MaxProblemDetail bounds a chosen problem's detail, in bytes; a longer
// one is cut.
const MaxProblemDetail = 1024

// problemSlugRE is the shape of a chosen problem's type (it follows the
// gateway's urn:manifold:problem: prefix).
var problemSlugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// chosenProblem turns the value of a jq error into a chosen problem when it
// is an object with a status member; ok is false for any other error.
func chosenProblem(src string, err error) (out error, ok bool) {
	var ve gojq.ValueError
	var halt *gojq.HaltError
	if !errors.As(err, &ve) || errors.As(err, &halt) {
		return nil, false
	}
	m, isObj := ve.Value().(map[string]any)
	if _, has := m["status"]; !isObj || !has {
		return nil, false
	}
	sp, reason := problemOf(m)
	if reason == "" {
		if field, why := checkProblem(sp); why != "" {
			reason = field + " " + why
		}
	}
	if reason != "" {
		return &InvalidProblemError{Expr: src, Reason: reason}, true
	}
	sp.Detail = clipDetail(sp.Detail)
	return &ProblemError{Problem: sp}, true
}

// problemOf reads the members of an error/1 object, in a fixed order so
// that the reason given for a bad one is always the same.
func problemOf(m map[string]any) (StatusProblem, string) {
	var sp StatusProblem
	for _, k := range sortedKeys(m) {
		if k != "status" && k != "detail" && k != "title" && k != "type" {
			return sp, fmt.Sprintf("unknown member %q (want status, detail, title, type)", k)
		}
	}
	n, ok := wholeNumber(m["status"])
	if !ok {
		return sp, fmt.Sprintf("status must be an integer from 400 to 599, got %s", jqType(m["status"]))
	}
	sp.Status = n
	members := []struct {
		name string
		dst  *string
	}{{"detail", &sp.Detail}, {"title", &sp.Title}, {"type", &sp.Type}}
	for _, mb := range members {
		k, dst := mb.name, mb.dst
		switch v := m[k].(type) {
		case nil:
		case string:
			*dst = v
		default:
			return sp, fmt.Sprintf("%s must be a string, got %s", k, jqType(v))
		}
	}
	return sp, ""
}

func wholeNumber(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1e6 {
			return int(n), true
		}
	}
	return 0, false
}

func jqType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%v", v)
}

// checkProblem says what is wrong with a chosen problem, and in which
// member; reason is "" when nothing is.
func checkProblem(sp StatusProblem) (field, reason string) {
	switch {
	case sp.Status < 400 || sp.Status > 599:
		return "status", fmt.Sprintf("%d is not an error status: want 400 to 599", sp.Status)
	case sp.Type != "" && !problemSlugRE.MatchString(sp.Type):
		return "type", fmt.Sprintf("%q must be a slug (lower-case letters, digits and -, at most 64)", sp.Type)
	case len(sp.Title) > 200:
		return "title", "longer than 200 bytes"
	}
	return "", ""
}

// clipDetail cuts a detail to MaxProblemDetail bytes of valid UTF-8.
func clipDetail(s string) string {
	if len(s) <= MaxProblemDetail {
		return s
	}
	return strings.ToValidUTF8(s[:MaxProblemDetail], "")
}

// ProblemSlug is the type slug of a chosen problem: its own, or one made
// from the status text ("not-found", "conflict").
func (sp StatusProblem) ProblemSlug() string {
	if sp.Type != "" {
		return sp.Type
	}
	text := http.StatusText(sp.Status)
	if text == "" {
		return fmt.Sprintf("status-%d", sp.Status)
	}
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// ProblemTitle is the title of a chosen problem: its own, or the status
// text.
func (sp StatusProblem) ProblemTitle() string {
	switch {
	case sp.Title != "":
		return sp.Title
	case http.StatusText(sp.Status) != "":
		return http.StatusText(sp.Status)
	case sp.Status < 500:
		return "Client Error"
	}
	return "Server Error"
}

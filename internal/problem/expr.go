package problem

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/manifoldgw/manifold/internal/pipeline"
)

// fromExpr maps an expression that failed at run time. It is the
// pipeline's bug, not the caller's (a 4xx would tell an assistant to fix
// its input) nor a healthy upstream's (a 502): a 500 pipeline-error that
// names the step, the expression and where it is written.
func fromExpr(err error, e *pipeline.ExprError) *Problem {
	who := e.Key
	if who == "" {
		who = "an expression"
	}
	var step *pipeline.StepError
	isStep := errors.As(err, &step)
	if isStep {
		who = "step " + step.Step + ": " + who
	}
	p := New("pipeline-error", http.StatusInternalServerError,
		fmt.Sprintf("%s failed: %s%s", who, withoutValues(e.Err.Error()), e.Quoted()))
	p.Expression = e.Key
	if e.Line > 0 {
		// The file's name, not the gateway's directory: callers need not
		// know where the gateway keeps its files.
		p.At = fmt.Sprintf("%s:%d:%d", filepath.Base(e.File), e.Line, e.Column)
	}
	if isStep {
		p.Step, p.Upstream = step.Step, step.Upstream
	}
	var output *pipeline.OutputError
	if errors.As(err, &output) {
		p.Pipeline = output.Pipeline
	}
	return p
}

// valuePreview is where gojq quotes a value in an error message, after
// its type: `cannot iterate over: string ("Berlin")`.
var valuePreview = regexp.MustCompile(`\b(null|boolean|number|string|array|object) \(`)

// maxPreview bounds gojq's previews (gojq.Preview: 30 bytes).
const maxPreview = 30

// withoutValues removes the values gojq quotes in its errors. They come
// from the caller or from an upstream's answer, and a problem's detail is
// only ever the gateway's words (upstream text goes in upstream_detail):
// "cannot iterate over: string" is enough to find the bug.
func withoutValues(msg string) string {
	var b strings.Builder
	for {
		loc := valuePreview.FindStringSubmatchIndex(msg)
		if loc == nil {
			b.WriteString(msg)
			return b.String()
		}
		end := previewEnd(msg[loc[1]:])
		if end < 0 { // not a preview after all
			b.WriteString(msg[:loc[1]])
			msg = msg[loc[1]:]
			continue
		}
		b.WriteString(msg[:loc[3]])
		msg = msg[loc[1]+end+1:]
	}
}

// previewEnd is the index of the ")" closing a preview that s starts
// with, or -1 when s does not start with one. A string preview ends at
// its first unescaped `")`; an array or object preview (JSON, so bounded
// by gojq) at the last `])` or `})` within its bound, or, should gojq's
// bound change, the rest of the message is dropped rather than risk
// passing on a value.
func previewEnd(s string) int {
	if s == "" {
		return -1
	}
	switch s[0] {
	case '"':
		for i := 2; i < len(s); i++ {
			if s[i] == ')' && s[i-1] == '"' && !escaped(s, i-1) {
				return i
			}
		}
		return len(s) - 1
	case '[', '{':
		last := len(s) - 1
		for i := 1; i < min(len(s), maxPreview+1); i++ {
			if s[i] == ')' && (s[i-1] == ']' || s[i-1] == '}') {
				last = i
			}
		}
		return last
	}
	return strings.IndexByte(s[:min(len(s), maxPreview+1)], ')')
}

// escaped reports whether the quote at i is escaped by a backslash.
func escaped(s string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && s[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

package pipetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"

	"github.com/itchyny/gojq"
)

// check compares an answer and the upstream calls made with t's
// expectations; each failure is located at its expectation's line.
func check(t *Test, status int, header http.Header, body []byte, calls []*Made) []Failure {
	ex := &t.Expect
	var fs []Failure
	at := func(key string) int {
		if l, ok := ex.lines[key]; ok {
			return l
		}
		return t.Line
	}
	for _, m := range calls {
		if m.Failure == noAnswer {
			fs = append(fs, Failure{t.Line, "no canned answer for the call " + m.String() + ": add one under answers:"})
		}
	}
	want := ex.Status
	if want == 0 {
		want = http.StatusOK
	}
	if status != want {
		fs = append(fs, Failure{at("status"), fmt.Sprintf("status: got %d, want %d; the answer:\n%s", status, want, indent(pretty(body)))})
	}
	fs = append(fs, checkHeaders(ex, header, at("headers"))...)
	var got any
	parsed := json.Unmarshal(body, &got) == nil
	if (len(ex.JQ) > 0 || ex.hasBody) && !parsed {
		return append(fs, Failure{at("body"), fmt.Sprintf("the answer is not JSON: %q", clip(string(body)))})
	}
	for i, src := range ex.JQ {
		if msg := checkJQ(src, got); msg != "" {
			fs = append(fs, Failure{ex.jqLines[i], msg})
		}
	}
	if ex.hasBody {
		wantBody, err := normalize(ex.Body)
		if err != nil {
			fs = append(fs, Failure{at("body"), "expect.body: " + err.Error()})
		} else if !reflect.DeepEqual(wantBody, got) {
			fs = append(fs, Failure{at("body"), "body differs (- want, + got):\n" + indent(Diff(prettyValue(wantBody), prettyValue(got)))})
		}
	}
	fs = append(fs, checkCalls(ex, calls, at("calls"))...)
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Line < fs[j].Line })
	return fs
}

func checkHeaders(ex *Expect, header http.Header, line int) []Failure {
	var fs []Failure
	names := make([]string, 0, len(ex.Headers))
	for k := range ex.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		want, got := ex.Headers[k], header.Values(k)
		switch {
		case want == nil && len(got) > 0:
			fs = append(fs, Failure{line, fmt.Sprintf("header %s: got %q, want it absent", k, strings.Join(got, ", "))})
		case want != nil && len(got) == 0:
			fs = append(fs, Failure{line, fmt.Sprintf("header %s: absent, want %q", k, *want)})
		case want != nil && strings.Join(got, ", ") != *want:
			fs = append(fs, Failure{line, fmt.Sprintf("header %s: got %q, want %q", k, strings.Join(got, ", "), *want)})
		}
	}
	return fs
}

// checkJQ runs one assertion over the answer: every output must be true.
func checkJQ(src string, v any) string {
	q, err := gojq.Parse(src)
	if err != nil {
		return fmt.Sprintf("jq %q: %v", src, err)
	}
	code, err := gojq.Compile(q)
	if err != nil {
		return fmt.Sprintf("jq %q: %v", src, err)
	}
	iter := code.Run(v)
	n := 0
	for {
		out, ok := iter.Next()
		if !ok {
			break
		}
		n++
		if err, isErr := out.(error); isErr {
			return fmt.Sprintf("jq %q: %v", src, err)
		}
		if out != true {
			return fmt.Sprintf("jq %q: got %s, want true", src, clip(compact(out)))
		}
	}
	if n == 0 {
		return fmt.Sprintf("jq %q: no output, want true", src)
	}
	return ""
}

// checkCalls matches every expected call with a distinct call made.
func checkCalls(ex *Expect, made []*Made, line int) []Failure {
	if !ex.hasCalls {
		return nil
	}
	if len(ex.Calls) == 0 && len(made) > 0 {
		return []Failure{{line, "calls: want none, made:\n" + indent(list(made))}}
	}
	used := make([]bool, len(made))
	var fs []Failure
	for i, c := range ex.Calls {
		if c == nil {
			continue
		}
		closest := ""
		found := false
		for j, m := range made {
			if used[j] {
				continue
			}
			if why := c.differs(m); why == "" {
				used[j], found = true, true
				break
			} else if closest == "" && c.Upstream == m.Upstream {
				closest = why
			}
		}
		if !found {
			msg := "call not made: " + c.String()
			if closest != "" {
				msg += " (closest: " + closest + ")"
			}
			fs = append(fs, Failure{ex.callLine[i], msg + "; made:\n" + indent(list(made))})
		}
	}
	return fs
}

// differs says how m differs from the expected call ("" when it matches).
func (c *Call) differs(m *Made) string {
	switch {
	case c.Upstream != "" && c.Upstream != m.Upstream:
		return "upstream " + m.Upstream
	case c.Step != "" && c.Step != m.Step:
		return "step " + m.Step
	case c.Method != "" && c.Method != m.Method:
		return "method " + m.Method
	case c.Path != "" && c.Path != m.Path:
		return "path " + m.Path
	}
	if why := queryHas(m.Query, c.Query); why != "" {
		return why
	}
	if c.hasBody {
		want, err := normalize(c.Body)
		var got any
		if err != nil || json.Unmarshal(m.Body, &got) != nil || !reflect.DeepEqual(want, got) {
			return "body " + clip(string(m.Body))
		}
	}
	return ""
}

// String is the expected call as a failure names it.
func (c *Call) String() string {
	parts := []string{}
	for _, kv := range [][2]string{{"upstream", c.Upstream}, {"step", c.Step}, {"method", c.Method}, {"path", c.Path}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+" "+kv[1])
		}
	}
	if len(c.Query) > 0 {
		parts = append(parts, "query "+compact(c.Query))
	}
	if c.hasBody {
		parts = append(parts, "body "+compact(c.Body))
	}
	return strings.Join(parts, ", ")
}

func list(made []*Made) string {
	if len(made) == 0 {
		return "(no calls)"
	}
	lines := make([]string, len(made))
	for i, m := range made {
		lines[i] = m.String()
	}
	return strings.Join(lines, "\n")
}

// pretty indents a JSON document; other text is returned as is.
func pretty(b []byte) string {
	var out bytes.Buffer
	if json.Indent(&out, b, "", "  ") != nil {
		return clip(string(b))
	}
	return out.String()
}

// prettyValue renders v as indented JSON with sorted keys.
func prettyValue(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

func compact(v any) string {
	if n, err := normalize(v); err == nil {
		v = n
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// indent prefixes each line for the report.
func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ")
}

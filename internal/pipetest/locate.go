package pipetest

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"

	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// locate records the positions of f's tests and expectations, and checks
// what the types alone cannot (a name for each test, one way to name the
// route, one kind of body). It reports through bad.
func (f *File) locate(body ast.Node, bad func(at ast.Node, key, msg string)) {
	tests, key := yamlconf.Lookup(body, "tests")
	if key == nil {
		bad(body, "tests", "missing: a test file holds a list of tests")
		return
	}
	seq, _ := tests.(*ast.SequenceNode)
	names := map[string]int{}
	for i, t := range f.Tests {
		if seq == nil || i >= len(seq.Values) || t == nil {
			continue
		}
		t.File, t.index, t.node = f.Path, i, seq.Values[i]
		t.Line = line(t.node)
		prefix := fmt.Sprintf("tests[%d]", i)
		if _, k := yamlconf.Lookup(t.node, "name"); k == nil || strings.TrimSpace(t.Name) == "" {
			bad(t.node, prefix+".name", "missing: every test needs a name")
		} else if first, dup := names[t.Name]; dup {
			v, _ := yamlconf.Lookup(t.node, "name")
			bad(v, prefix+".name", fmt.Sprintf("test %q is already defined at line %d", t.Name, first))
		} else {
			names[t.Name] = t.Line
		}
		t.locateRequest(prefix, bad)
		t.locateAnswers(prefix, bad)
		t.locateExpect(prefix, bad)
	}
}

func (t *Test) locateRequest(prefix string, bad func(at ast.Node, key, msg string)) {
	req, k := yamlconf.Lookup(t.node, "request")
	r := &t.Request
	switch {
	case k == nil:
		bad(t.node, prefix+".request", "missing: say which pipeline to call (request: {pipeline: NAME})")
	case r.Pipeline == "" && r.Path == "":
		bad(req, prefix+".request", "want pipeline: NAME, or method: and path:")
	case r.Pipeline != "" && (r.Path != "" || r.Method != ""):
		bad(req, prefix+".request", "pipeline: and method:/path: both name the route: give one")
	case r.Path != "" && !strings.HasPrefix(r.Path, "/"):
		v, _ := yamlconf.Lookup(req, "path")
		bad(v, prefix+".request.path", "want a path that starts with /")
	case r.Pipeline == "" && len(r.Params) > 0:
		v, _ := yamlconf.Lookup(req, "params")
		bad(v, prefix+".request.params", "params need pipeline: NAME (to know where each goes); with path: use query: and headers:")
	}
}

func (t *Test) locateAnswers(prefix string, bad func(at ast.Node, key, msg string)) {
	answers, _ := yamlconf.Lookup(t.node, "answers")
	seq, _ := answers.(*ast.SequenceNode)
	for i, a := range t.Answers {
		if seq == nil || i >= len(seq.Values) || a == nil {
			continue
		}
		n := seq.Values[i]
		key := fmt.Sprintf("%s.answers[%d]", prefix, i)
		a.line = line(n)
		_, bk := yamlconf.Lookup(n, "body")
		a.hasBody = bk != nil
		switch {
		case a.Step == "" && a.Upstream == "":
			bad(n, key, "want step: NAME or upstream: NAME (which calls this answers)")
		case a.hasBody && a.Text != nil:
			bad(n, key, "body: (JSON) and text: (raw) both give the body: give one")
		case a.Fail != "" && a.Fail != "connection" && a.Fail != "timeout":
			v, _ := yamlconf.Lookup(n, "fail")
			bad(v, key+".fail", fmt.Sprintf("%q: want connection or timeout", a.Fail))
		case a.Status != 0 && (a.Status < 100 || a.Status > 599):
			v, _ := yamlconf.Lookup(n, "status")
			bad(v, key+".status", fmt.Sprintf("%d is not an HTTP status", a.Status))
		case a.Method != "" && a.Method != strings.ToUpper(a.Method):
			v, _ := yamlconf.Lookup(n, "method")
			bad(v, key+".method", fmt.Sprintf("%q: write methods in capitals", a.Method))
		}
	}
}

func (t *Test) locateExpect(prefix string, bad func(at ast.Node, key, msg string)) {
	ex := &t.Expect
	node, _ := yamlconf.Lookup(t.node, "expect")
	ex.lines = map[string]int{"": t.Line}
	for _, kv := range yamlconf.Entries(node) {
		ex.lines[kv.Key.GetToken().Value] = line(kv.Key)
	}
	_, bk := yamlconf.Lookup(node, "body")
	_, ck := yamlconf.Lookup(node, "calls")
	ex.hasBody, ex.hasCalls = bk != nil, ck != nil
	if ex.Status != 0 && (ex.Status < 100 || ex.Status > 599) {
		v, _ := yamlconf.Lookup(node, "status")
		bad(v, prefix+".expect.status", fmt.Sprintf("%d is not an HTTP status", ex.Status))
	}
	if jq, _ := yamlconf.Lookup(node, "jq"); jq != nil {
		if s, ok := jq.(*ast.SequenceNode); ok {
			for _, v := range s.Values {
				ex.jqLines = append(ex.jqLines, line(v))
			}
		}
	}
	calls, _ := yamlconf.Lookup(node, "calls")
	if s, ok := calls.(*ast.SequenceNode); ok {
		for i, v := range s.Values {
			ex.callLine = append(ex.callLine, line(v))
			if i < len(ex.Calls) && ex.Calls[i] != nil {
				_, b := yamlconf.Lookup(v, "body")
				ex.Calls[i].hasBody = b != nil
			}
		}
	}
	for name := range ex.Headers {
		if http.CanonicalHeaderKey(name) == "" {
			bad(node, prefix+".expect.headers", "empty header name")
		}
	}
}

// line is the line a node starts at: its first key for a mapping.
func line(n ast.Node) int {
	if es := yamlconf.Entries(n); len(es) > 0 {
		n = es[0].Key
	}
	if n == nil {
		return 0
	}
	if tok := n.GetToken(); tok != nil && tok.Position != nil {
		return tok.Position.Line
	}
	return 0
}

func errorAt(file string, n ast.Node, key, msg string) *yamlconf.Error {
	if es := yamlconf.Entries(n); len(es) > 0 && !isMappingValue(n) {
		n = es[0].Key
	}
	var tok *token.Token
	if n != nil {
		tok = n.GetToken()
	}
	return errorAtToken(file, tok, key, msg)
}

func isMappingValue(n ast.Node) bool {
	_, ok := n.(*ast.MappingValueNode)
	return ok
}

func errorAtToken(file string, tok *token.Token, key, msg string) *yamlconf.Error {
	e := &yamlconf.Error{File: file, Key: key, Msg: msg}
	if tok != nil && tok.Position != nil {
		e.Line, e.Column = tok.Position.Line, tok.Position.Column
	}
	return e
}

package fuzz

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// typedArgs are search arguments as a JSON caller (GraphQL, MCP) types
// them; an empty string is not sent. n and x are sent as JSON numbers
// when they are numbers, else as strings, flag as a boolean when it is
// "true" or "false".
func typedArgs(q, n, x, flag, lang string) map[string]any {
	args := map[string]any{}
	for name, v := range map[string]string{"q": q, "lang": lang} {
		if v != "" {
			args[name] = v
		}
	}
	for name, v := range map[string]string{"n": n, "x": x} {
		if v == "" {
			continue
		}
		if json.Valid([]byte(v)) && canonicalFloat.MatchString(v) {
			args[name] = json.Number(v)
		} else {
			args[name] = v
		}
	}
	switch flag {
	case "":
	case "true", "false":
		args["flag"] = flag == "true"
	default:
		args["flag"] = flag
	}
	return args
}

// restStatus is the status REST answers for the same arguments, when
// they are all of the declared JSON type (0 otherwise: the surfaces
// cannot be compared, a query string has no types).
func (g *gateway) restStatus(args map[string]any) int {
	p := searchParams{}
	for name, v := range args {
		var s string
		switch v := v.(type) {
		case json.Number:
			s = v.String()
			if name == "n" && !canonicalInt.MatchString(s) {
				return 0 // 1e3 is the integer 1000 in JSON, not in a query string
			}
		case bool:
			s = strconv.FormatBool(v)
		case string:
			if name == "n" || name == "x" || name == "flag" {
				return 0
			}
			s = v
		}
		switch name {
		case "q":
			p.q = s
		case "n":
			p.n = s
		case "x":
			p.x = s
		case "flag":
			p.flag = s
		case "lang":
			p.lang = s
		}
	}
	r := p.request()
	if r == nil || !json.Valid([]byte(`"`+p.q+`"`)) && p.q != "" {
		return 0
	}
	return g.serve(r).status
}

// gqlRun runs pipeline with params (any JSON) through POST /graphql and
// returns the HTTP answer and the run's status: run.status, or the
// status of the error at run, or 0.
func (g *gateway) gqlRun(t *testing.T, pipeline string, params json.RawMessage) (answer, int, string) {
	t.Helper()
	doc, _ := json.Marshal(map[string]any{
		"query":     `query($p: String!, $a: JSON) { run(pipeline: $p, params: $a) { status data } }`,
		"variables": map[string]any{"p": pipeline, "a": params},
	})
	r := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(doc))
	r.Header.Set("Content-Type", "application/json")
	a := g.serve(r)
	var out struct {
		Data struct {
			Run *struct{ Status int } `json:"run"`
		}
		Errors []struct {
			Extensions struct {
				Code   string
				Status int
			}
		}
	}
	_ = json.Unmarshal(a.body, &out)
	switch {
	case out.Data.Run != nil:
		return a, out.Data.Run.Status, ""
	case len(out.Errors) > 0:
		return a, out.Errors[0].Extensions.Status, out.Errors[0].Extensions.Code
	}
	return a, 0, ""
}

// FuzzGraphQLRun runs any pipeline name with any params through GraphQL's
// run. The view answers 200 (or a 4xx for a request it cannot read),
// never a 5xx; a run or its error says 200 or a 4xx, never INTERNAL (the
// upstream always answers); and for arguments of the declared types the
// run's status is the one REST answers for the same values.
func FuzzGraphQLRun(f *testing.F) {
	f.Add("search", []byte(`{"q":"milk","n":5,"flag":true,"lang":"en"}`))
	f.Add("search", []byte(`{"n":"5"}`))
	f.Add("search", []byte(`{"n":0,"lang":"fr"}`))
	f.Add("search", []byte(`{"zzz":1}`))
	f.Add("search", []byte(`[1,2]`))
	f.Add("search", []byte(`"q=milk"`))
	f.Add("search", []byte(`null`))
	f.Add("item", []byte(`{"id":"../admin"}`))
	f.Add("item", []byte(`{"id":"a/b"}`))
	f.Add("order", []byte(`{}`))
	f.Add("nope", []byte(`{}`))
	f.Add("", []byte(`{"q":{"nested":[1]}}`))
	g := newGateway(f)
	f.Fuzz(func(t *testing.T, pipeline string, params []byte) {
		if !json.Valid(params) {
			params, _ = json.Marshal(string(params))
		}
		a, status, code := g.gqlRun(t, pipeline, params)
		checkSurface(t, "graphql", pipeline, params, a, status, code)
	})
}

// FuzzGraphQLParams runs search through GraphQL with typed arguments and
// compares the run's status with REST's for the same values.
func FuzzGraphQLParams(f *testing.F) {
	f.Add("milk", "5", "1.5", "true", "en")
	f.Add("", "0", "", "", "")
	f.Add("x", "1e3", "-1", "false", "de")
	f.Add(strings.Repeat("a", 101), "1001", "1e400", "maybe", "EN")
	g := newGateway(f)
	f.Fuzz(func(t *testing.T, q, n, x, flag, lang string) {
		args := typedArgs(q, n, x, flag, lang)
		params, err := json.Marshal(args)
		if err != nil {
			return
		}
		a, status, code := g.gqlRun(t, "search", params)
		checkSurface(t, "graphql", "search", params, a, status, code)
		if rest := g.restStatus(args); rest != 0 && rest != status {
			t.Fatalf("search %s: GraphQL run says %d (%s), REST %d", params, status, code, rest)
		}
	})
}

// checkSurface checks a GraphQL or MCP answer to a call of pipeline: a
// caller's mistake is never a 5xx nor an internal error.
func checkSurface(t *testing.T, surface, pipeline string, args []byte, a answer, status int, code string) {
	t.Helper()
	if a.status >= 500 || status >= 500 || code == "INTERNAL" || code == "UPSTREAM_FAILED" || code == "TIMEOUT" {
		t.Fatalf("%s %q %s: HTTP %d, call status %d %s: %s", surface, pipeline, args, a.status, status, code, a.body)
	}
	if a.status != http.StatusOK && (a.status < 400 || a.status > 499) {
		t.Fatalf("%s %q %s: HTTP %d: %s", surface, pipeline, args, a.status, a.body)
	}
}

// sseData returns the JSON-RPC message of an MCP answer, sent as JSON or
// as one server-sent event.
func sseData(a answer) []byte {
	if !strings.HasPrefix(a.header.Get("Content-Type"), "text/event-stream") {
		return a.body
	}
	sc := bufio.NewScanner(bytes.NewReader(a.body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			return []byte(d)
		}
	}
	return nil
}

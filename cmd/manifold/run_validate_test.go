package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestRunChecksInputLikeTheGateway: `manifold run` refuses what every
// gateway surface refuses (a traversal in a path value, a body against
// its schema) before calling any upstream.
func TestRunChecksInputLikeTheGateway(t *testing.T) {
	var calls atomic.Int64
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer backend.Close()
	dir := writeDir(t, map[string]string{
		"gateway.yaml": "upstreams:\n  a: {url: \"" + backend.URL + "\"}\n",
		"files.yaml": `
name: fileMeta
path: /v1/files
params: {name: {in: query, type: string, required: true}}
steps:
  meta: {upstream: a, path: "/files/${ .params.name }/meta"}
`,
		"order.yaml": `
name: order
method: POST
path: /v1/orders
body: {schema: {type: object, additionalProperties: false, required: [qty], properties: {qty: {type: integer, minimum: 1}}}}
steps:
  o: {upstream: a, method: POST, path: /orders, body: "${ .body }"}
`,
	})
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"fileMeta", "--param", "name=../../admin/users"}, `query parameter name: must not contain "/"`},
		{[]string{"fileMeta", "--param", `name=a\b`}, "query parameter name: must not contain a backslash"},
		{[]string{"fileMeta", "--param", "name=a", "--param", "name=b"}, "query parameter name: given 2 times"},
		{[]string{"order", "--body", `{"qty":-5,"x":1}`}, "body parameter /qty: must be at least 1; body parameter /x: is not allowed"},
	} {
		_, _, err := execute(t, append([]string{"run", dir}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run %q: %v, want %q", c.args, err, c.want)
		}
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the upstream was called %d times", n)
	}
	if _, stderr, err := execute(t, "run", dir, "order", "--body", `{"qty":2}`); err != nil || calls.Load() != 1 {
		t.Errorf("a valid order: %v %s (%d calls)", err, stderr, calls.Load())
	}
}

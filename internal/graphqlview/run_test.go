package graphqlview

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

const placeOrderBody = `{"market_id":"ber-01","items":[{"product_id":"p1001","quantity":2}]}`

// TestAuthSameAsREST calls placeOrder (access: roles [buyer]) over REST
// and GraphQL as each kind of caller: both answer the same status, and
// GraphQL says it in extensions.
func TestAuthSameAsREST(t *testing.T) {
	g := startGateway(t, nil)
	cases := []struct {
		name   string
		user   string
		status int
		code   string
	}{
		{"anonymous", "", 401, "UNAUTHENTICATED"},
		{"without the role", "rita:reader", 403, "FORBIDDEN"},
		{"with the role", "bob:buyer", 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", g.url+"/v1/orders", strings.NewReader(placeOrderBody))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(testUserHeader, c.user)
			if rest := do(t, req); rest.status != c.status {
				t.Errorf("REST: %d, want %d: %s", rest.status, c.status, rest.body)
			}
			r := g.query(t, `mutation($b: JSON) { run(pipeline: "placeOrder", body: $b) { status data } }`,
				map[string]any{"b": json.RawMessage(placeOrderBody)}, map[string]string{testUserHeader: c.user})
			got := r.gql(t)
			if c.code == "" {
				if len(got.Errors) > 0 || !strings.Contains(string(got.Data), `"status":200`) {
					t.Errorf("GraphQL: %s, want the order", r.body)
				}
				return
			}
			if len(got.Errors) != 1 || got.Errors[0].Extensions["code"] != c.code || got.Errors[0].Extensions["status"] != float64(c.status) {
				t.Errorf("GraphQL: %s, want %s with status %d", r.body, c.code, c.status)
			}
			if string(got.Data) != `{"run":null}` {
				t.Errorf("GraphQL data %s, want run null", got.Data)
			}
		})
	}
	// Wrong credentials are refused by the gateway before any surface.
	req, _ := http.NewRequest("POST", g.url+Path, strings.NewReader(`{"query":"{ __typename }"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(testUserHeader, "bad")
	if r := do(t, req); r.status != http.StatusUnauthorized {
		t.Errorf("wrong credentials: %d %s, want 401", r.status, r.body)
	}
}

// TestRunErrors checks the code and extensions of each way a run fails.
func TestRunErrors(t *testing.T) {
	g := startGateway(t, nil)
	cases := []struct {
		name   string
		doc    string
		code   string
		path   []any
		detail string // a part of the message
		extra  string // a part of the extensions, as JSON
	}{
		{"unknown pipeline", `{ run(pipeline: "nope") { status } }`, "NOT_FOUND", []any{"run"}, `no pipeline "nope"`, ""},
		{"bad params", `{ run(pipeline: "productSearch", params: {q: "m", limit: 99, lang: "xx"}) { status } }`, "BAD_USER_INPUT", []any{"run"}, "invalid parameters",
			`"errors":[{"in":"query","name":"q","reason":"must be at least 2 characters"},{"in":"query","name":"lang","reason":"must be one of en, de, fr, es"},{"in":"query","name":"limit","reason":"must be at most 25"}]`},
		{"missing param", `{ run(pipeline: "productSearch") { status } }`, "BAD_USER_INPUT", []any{"run"}, "", `{"in":"query","name":"q","reason":"required"}`},
		{"unknown param", `{ run(pipeline: "productSearch", params: {q: "milk", qq: 1}) { status } }`, "BAD_USER_INPUT", []any{"run"}, "", `{"in":"query","name":"qq","reason":"unknown parameter"}`},
		{"params not an object", `{ run(pipeline: "productSearch", params: "q=milk") { status } }`, "BAD_USER_INPUT", []any{"run"}, "params: must be an object", ""},
		{"bad select", `{ run(pipeline: "productSearch", params: {q: "milk"}, select: ".[") { status } }`, "BAD_USER_INPUT", []any{"run"}, "select: not a jq expression", ""},
		{"side effects in a query", `{ run(pipeline: "placeOrder") { status } }`, "METHOD_NOT_ALLOWED", []any{"run"}, "mutation { run(...) }", ""},
		{"body for a GET pipeline", `mutation { run(pipeline: "productSearch", params: {q: "milk"}, body: {}) { status } }`, "BAD_USER_INPUT", []any{"run"}, "a GET pipeline takes no body", ""},
		{"upstream has no such thing", `{ run(pipeline: "cityDeals", params: {city: "Atlantis"}) { status data } }`, "NOT_FOUND", []any{"run", "data"}, "", `"step":"markets","type":"urn:manifold:problem:not-found","upstream":"markets"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := g.query(t, c.doc, nil, map[string]string{testUserHeader: "bob:buyer"})
			got := r.gql(t)
			if len(got.Errors) != 1 {
				t.Fatalf("errors: %s", r.body)
			}
			e := got.Errors[0]
			ext, _ := json.Marshal(e.Extensions)
			if e.Extensions["code"] != c.code || !reflect.DeepEqual(e.Path, c.path) ||
				!strings.Contains(e.Message, c.detail) || !strings.Contains(string(ext), c.extra) {
				t.Errorf("got %s\nwant code %s at %v, message with %q, extensions with %s", r.body, c.code, c.path, c.detail, c.extra)
			}
		})
	}
}

// TestRunFailureKeepsTrace: a run that failed still shows its steps.
func TestRunFailureKeepsTrace(t *testing.T) {
	g := startGateway(t, nil)
	r := g.query(t, `{ run(pipeline: "cityDeals", params: {city: "Atlantis"}) { status complete data steps { name status calls error } } }`, nil, nil)
	want := `{"run":{"status":404,"complete":false,"data":null,"steps":[` +
		`{"name":"markets","status":404,"calls":1,"error":"upstream \"markets\" has no such resource"},` +
		`{"name":"deals","status":null,"calls":0,"error":"not run: step markets failed"},` +
		`{"name":"products","status":null,"calls":0,"error":"not run: step markets failed"},` +
		`{"name":"translate","status":null,"calls":0,"error":"not run: step markets failed"}]}}`
	if got := string(r.gql(t).Data); got != want {
		t.Errorf("data %s\nwant %s", got, want)
	}
}

// TestRunSelectAndRecord narrows an answer with select, and checks the
// run is recorded as a GraphQL call with the same request id.
func TestRunSelectAndRecord(t *testing.T) {
	g := startGateway(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	calls := g.view.Feed().Subscribe(ctx)
	r := g.query(t, `query($p: JSON) { run(pipeline: "productSearch", params: $p, select: ".products[].id") { requestId data } }`,
		map[string]any{"p": map[string]any{"q": "milk", "limit": "2"}}, nil)
	var got struct {
		Run struct {
			RequestID string `json:"requestId"`
			Data      any    `json:"data"`
		} `json:"run"`
	}
	if err := json.Unmarshal(r.gql(t).Data, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Run.Data, []any{"p1001", "p1002"}) {
		t.Errorf("data %v, want the ids of two products", got.Run.Data)
	}
	if id := r.header.Get("Manifold-Request-Id"); got.Run.RequestID != id {
		t.Errorf("requestId %q, want the request's %q", got.Run.RequestID, id)
	}
	select {
	case c := <-calls:
		if c.Surface != "graphql" || c.Pipeline != "productSearch" || c.RequestID != got.Run.RequestID || c.Status != 200 {
			t.Errorf("recorded %+v", c)
		}
	case <-ctx.Done():
		t.Fatal("the run was not recorded")
	}
}

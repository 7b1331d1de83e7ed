package graphqlview

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/demo"
	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/problem"
	"github.com/manifoldgw/manifold/internal/server"
	"github.com/manifoldgw/manifold/pipelines"
)

// testUserHeader names the caller in tests: "name:role1,role2"; "bad"
// is a wrong credential.
const testUserHeader = "X-Test-User"

// headerAuth is a tiny Authenticator for tests.
type headerAuth struct{}

func (headerAuth) Authenticate(r *http.Request) (*pipeline.Identity, error) {
	v := r.Header.Get(testUserHeader)
	switch {
	case v == "":
		return nil, nil
	case v == "bad":
		return nil, &problem.Error{P: problem.New("unauthorized", http.StatusUnauthorized, "the credentials are wrong")}
	}
	name, roles, _ := strings.Cut(v, ":")
	return &pipeline.Identity{Name: name, Roles: strings.Split(roles, ",")}, nil
}

// harness is the demo pipelines and backends behind a Server with the
// view mounted, on an httptest listener.
type harness struct {
	url  string
	view *View
}

// startGateway serves the demo; tune may change the loaded gateway.yaml.
func startGateway(t *testing.T, tune func(*gateway.Config)) *harness {
	t.Helper()
	return startGatewayWith(t, tune, nil)
}

// startGatewayWith also lets listener change the test server's
// http.Server before it starts.
func startGatewayWith(t *testing.T, tune func(*gateway.Config), listener func(*http.Server)) *harness {
	t.Helper()
	backends, err := demo.Start(demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = backends.Shutdown(context.Background()) })
	env := backends.Env()
	plan, err := pipeline.Load(pipelines.FS, ".", pipeline.LoadOptions{LookupEnv: func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}})
	if err != nil {
		t.Fatal(err)
	}
	if tune != nil {
		tune(plan.Gateway)
	}
	rt, err := server.Build(plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	view := New(Options{})
	srv := server.New(rt, server.Options{Auth: headerAuth{}, Surfaces: []server.Surface{view}, Recorder: view})
	ts := httptest.NewUnstartedServer(srv)
	if listener != nil {
		listener(ts.Config)
	}
	ts.Start()
	t.Cleanup(ts.Close)
	t.Cleanup(view.Close)
	return &harness{url: ts.URL, view: view}
}

// reply is an HTTP answer of /graphql.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// gqlResponse is a GraphQL response, with data kept raw to tell absent
// from null.
type gqlResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Path       []any          `json:"path"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

func (r reply) gql(t *testing.T) gqlResponse {
	t.Helper()
	var g gqlResponse
	if err := json.Unmarshal(r.body, &g); err != nil {
		t.Fatalf("not a GraphQL response (%d): %v\n%s", r.status, err, r.body)
	}
	return g
}

// hasData reports whether the body has a data entry (null included).
func (r reply) hasData(t *testing.T) bool {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("not JSON: %s", r.body)
	}
	_, ok := m["data"]
	return ok
}

func (r reply) codes(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, e := range r.gql(t).Errors {
		c, _ := e.Extensions["code"].(string)
		out = append(out, c)
	}
	return out
}

func do(t *testing.T, req *http.Request) reply {
	t.Helper()
	ctx, cancel := context.WithTimeout(req.Context(), 10*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, body}
}

// post sends a raw body to /graphql with the given headers ("" values
// are left out).
func (g *harness) post(t *testing.T, body string, headers map[string]string) reply {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, g.url+Path, strings.NewReader(body))
	for k, v := range headers {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	return do(t, req)
}

// query posts a GraphQL document with variables as application/json.
func (g *harness) query(t *testing.T, doc string, vars map[string]any, headers map[string]string) reply {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": doc, "variables": vars})
	h := map[string]string{"Content-Type": "application/json"}
	for k, v := range headers {
		h[k] = v
	}
	return g.post(t, string(body), h)
}

func (g *harness) get(t *testing.T, rawQuery string, headers map[string]string) reply {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, g.url+Path+"?"+rawQuery, nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return do(t, req)
}

func jsonBody(v any) *bytes.Reader {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}

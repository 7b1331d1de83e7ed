package pipetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/manifoldgw/manifold/internal/launch"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/server"
)

// TestTimeout bounds one test's request, whatever its pipeline's timeout.
const TestTimeout = 30 * time.Second

// Options configure Run.
type Options struct {
	Dir     string
	Filter  *regexp.Regexp // tests whose name matches; nil: all
	Verbose bool           // print the upstream calls of each test
	Out     io.Writer      // PASS/FAIL lines and the summary
	// Record sends the requests to the real upstreams and writes their
	// answers into the test files (see Record).
	Record bool
	// LookupEnv resolves gateway.yaml's ${NAME}; nil: the environment,
	// with a placeholder for what it lacks (see Env).
	LookupEnv func(string) (string, bool)
}

// Result is the outcome of one test.
type Result struct {
	Test     *Test
	Failures []Failure // none: passed
	Calls    []*Made
	Duration time.Duration
}

// Failure is one expectation that did not hold, at its line.
type Failure struct {
	Line int
	Msg  string // may span lines (a diff)
}

// Passed reports whether the test passed.
func (r *Result) Passed() bool { return len(r.Failures) == 0 }

// Env resolves ${NAME} from the environment and gives a variable it lacks
// a placeholder URL (http://name.invalid), so that a directory whose
// upstream URLs come from the environment is tested without them: no
// request leaves the process anyway.
func Env(name string) (string, bool) {
	if v, ok := os.LookupEnv(name); ok {
		return v, true
	}
	return "http://" + strings.ToLower(strings.ReplaceAll(name, "_", "-")) + ".invalid", true
}

// runTest serves t's request through a gateway built for it alone (its
// breakers and caches start empty) and checks the answer.
func runTest(plan *pipeline.Plan, t *Test, record bool) *Result {
	res := &Result{Test: t}
	start := time.Now()
	defer func() { res.Duration = time.Since(start) }()
	if fs := resolve(plan, t); len(fs) > 0 {
		res.Failures = fs
		return res
	}
	x, err := newExchanges(plan, t, record)
	if err != nil {
		res.Failures = []Failure{{t.Line, err.Error()}}
		return res
	}
	gw, closeGateway, err := launch.Offline(plan, launch.OfflineOptions{Transport: x.transport, WrapAuth: actAs})
	if err != nil {
		res.Failures = []Failure{{t.Line, "building the gateway: " + err.Error()}}
		return res
	}
	defer closeGateway()
	req, err := buildRequest(plan, t)
	if err != nil {
		res.Failures = []Failure{{t.Line, err.Error()}}
		return res
	}
	ctx, cancel := context.WithTimeout(req.Context(), TestTimeout)
	defer cancel()
	rec := httptest.NewRecorder()
	gw.ServeHTTP(rec, req.WithContext(ctx))
	res.Calls = x.calls()
	res.Failures = check(t, rec.Result().StatusCode, rec.Header(), rec.Body.Bytes(), res.Calls)
	return res
}

// buildRequest makes the HTTP request a client would send for t.
func buildRequest(plan *pipeline.Plan, t *Test) (*http.Request, error) {
	r := &t.Request
	method, path := r.Method, r.Path
	query := url.Values{}
	header := http.Header{}
	if r.Pipeline != "" {
		p := plan.Pipeline(r.Pipeline)
		method, path = p.Method, p.Path
		for name, v := range r.Params {
			param := p.Params[name]
			switch {
			case param == nil || param.In == "query":
				query[name] = append(query[name], scalars(v)...) // unknown: as a client would send it
			case param.In == "path":
				path = strings.ReplaceAll(path, "{"+name+"}", url.PathEscape(fmt.Sprint(v)))
			case param.In == "header":
				header.Set(name, fmt.Sprint(v))
			}
		}
	}
	if method == "" {
		method = http.MethodGet
	}
	for name, v := range r.Query {
		query[name] = append(query[name], scalars(v)...)
	}
	var body io.Reader
	if r.Body != nil {
		v, err := normalize(r.Body)
		if err != nil {
			return nil, fmt.Errorf("request.body: %w", err)
		}
		b, _ := json.Marshal(v)
		body = bytes.NewReader(b)
		header.Set("Content-Type", "application/json")
	}
	target := path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	req := httptest.NewRequest(method, target, body)
	for k, v := range header {
		req.Header[k] = v
	}
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	if c := r.Consumer; c != nil {
		id := &pipeline.Identity{Name: c.Name, Roles: c.Roles, Source: pipeline.IdentityKey}
		if !c.Inline {
			id.Roles = plan.Gateway.Consumers[c.Name].Roles
		}
		req = req.WithContext(context.WithValue(req.Context(), actingKey{}, id))
	}
	return req, nil
}

type actingKey struct{}

// actAs lets a test act as a consumer (request.consumer) without its
// credential; requests without one go through the gateway's own
// authentication (a test may send a real key in its headers).
func actAs(next server.Authenticator) server.Authenticator { return acting{next} }

type acting struct{ next server.Authenticator }

func (a acting) Authenticate(r *http.Request) (*pipeline.Identity, error) {
	if id, ok := r.Context().Value(actingKey{}).(*pipeline.Identity); ok {
		return id, nil
	}
	if a.next == nil {
		return nil, nil
	}
	return a.next.Authenticate(r)
}

// resolve checks t's references against the plan: the pipeline, the
// steps and upstreams its answers and calls name, the consumer.
func resolve(plan *pipeline.Plan, t *Test) []Failure {
	var fs []Failure
	bad := func(line int, format string, args ...any) {
		fs = append(fs, Failure{line, fmt.Sprintf(format, args...)})
	}
	var p *pipeline.Compiled
	if name := t.Request.Pipeline; name != "" {
		if p = plan.Pipeline(name); p == nil {
			bad(t.Line, "request.pipeline: no pipeline %q in %s (have: %s)", name, plan.Dir, pipelineNames(plan))
		}
	}
	if c := t.Request.Consumer; c != nil && !c.Inline && plan.Gateway.Consumers[c.Name] == nil {
		bad(t.Line, "request.consumer: no consumer %q in gateway.yaml; write {name: %s, roles: [...]} to act as any caller", c.Name, c.Name)
	}
	for _, a := range t.Answers {
		if a.Upstream != "" && plan.Gateway.Upstreams[a.Upstream] == nil {
			bad(a.line, "answers: unknown upstream %q", a.Upstream)
		}
		if a.Step != "" && !hasStep(plan, p, a.Step) {
			bad(a.line, "answers: unknown step %q", a.Step)
		}
	}
	for i, c := range t.Expect.Calls {
		if c != nil && c.Upstream != "" && plan.Gateway.Upstreams[c.Upstream] == nil {
			bad(t.Expect.callLine[i], "expect.calls: unknown upstream %q", c.Upstream)
		}
	}
	return fs
}

// hasStep reports whether p (or, without p, any pipeline) has a step name.
func hasStep(plan *pipeline.Plan, p *pipeline.Compiled, name string) bool {
	if p != nil {
		return p.Steps[name] != nil
	}
	for _, q := range plan.Pipelines {
		if q.Steps[name] != nil {
			return true
		}
	}
	return false
}

func pipelineNames(plan *pipeline.Plan) string {
	names := make([]string, len(plan.Pipelines))
	for i, p := range plan.Pipelines {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

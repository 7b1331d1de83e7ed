package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/demo"
	"github.com/manifoldgw/manifold/internal/launch"
)

// The demo's published keys (gateway.yaml): roles buyer and reader, and
// reader alone.
const (
	demoBuyerKey  = "demo-buyer-key"
	demoReaderKey = "demo-reader-key"
)

// startSlowDemo serves the demo pipelines against demo backends that take
// latency to answer, so that step timings are long enough to compare.
func startSlowDemo(t *testing.T, latency time.Duration) string {
	t.Helper()
	backends, err := demo.Start(demo.Options{Latency: latency})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = backends.Shutdown(context.Background()) })
	plan, err := launch.LoadDemo(backends)
	if err != nil {
		t.Fatal(err)
	}
	plan.Gateway.Audit.NATS = "off"
	ctx, cancel := context.WithCancel(context.Background())
	addr, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- launch.Serve(ctx, plan, launch.Options{Listen: "127.0.0.1:0", Ready: func(a string) { addr <- a }})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gateway shutdown: %v", err)
		}
	})
	select {
	case a := <-addr:
		return launch.BaseURL(a)
	case err := <-done:
		t.Fatalf("gateway did not start: %v", err)
	}
	return ""
}

// gqlResult is a GraphQL response as a generic client reads it.
type gqlResult struct {
	status int
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Path       []any          `json:"path"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

func (r gqlResult) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// graphql posts a document to base/graphql as a generic client does.
func graphql(t *testing.T, base, doc string, vars map[string]any, apiKey string) gqlResult {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": doc, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, base+"/graphql", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/graphql-response+json, application/json")
	if apiKey != "" {
		req.Header.Set("X-API-Key", apiKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /graphql: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var r gqlResult
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("POST /graphql answered %d, not a GraphQL response: %s", resp.StatusCode, raw)
	}
	r.status = resp.StatusCode
	return r
}

// TestGraphQLCatalog reads the demo's pipelines and upstreams.
func TestGraphQLCatalog(t *testing.T) {
	base := startDemo(t)
	r := graphql(t, base, `{
	  pipelines { name method path }
	  cityDeals: pipeline(name: "cityDeals") {
	    params { name location type default enum required }
	    steps { name upstream needs optional foreach cacheMs }
	    cacheMs timeoutMs responseSchema
	  }
	  nope: pipeline(name: "nope") { name }
	  upstreams { name kind url breaker { state failureThreshold } inFlight pipelines }
	}`, nil, "")
	if r.status != 200 || len(r.Errors) > 0 {
		t.Fatalf("%d %v", r.status, r.Errors)
	}
	var got struct {
		Pipelines []struct{ Name, Method, Path string }
		CityDeals struct {
			Params []struct {
				Name, Location, Type string
				Default              any
				Enum                 []any
				Required             bool
			}
			Steps []struct {
				Name, Upstream string
				Needs          []string
				Optional       bool
				Foreach        *string
				CacheMs        *float64
			}
			CacheMs, TimeoutMs float64
			ResponseSchema     map[string]any
		}
		Nope      *struct{ Name string }
		Upstreams []struct {
			Name, Kind, URL string
			Breaker         struct {
				State            string
				FailureThreshold int
			}
			InFlight  int
			Pipelines []string
		}
	}
	if err := json.Unmarshal(r.Data, &got); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range got.Pipelines {
		names = append(names, p.Name+" "+p.Method+" "+p.Path)
	}
	// placeOrder needs role buyer: an anonymous caller does not see it.
	if want := []string{"cityDeals GET /v1/cities/{city}/deals", "nearestMarkets GET /v1/markets/nearest", "productSearch GET /v1/products"}; !slices.Equal(names, want) {
		t.Errorf("pipelines %v, want %v", names, want)
	}
	cd := got.CityDeals
	if len(cd.Params) != 3 || cd.Params[0].Location != "PATH" || !cd.Params[0].Required ||
		cd.Params[1].Default != "en" || len(cd.Params[1].Enum) != 4 || cd.Params[2].Type != "INTEGER" || cd.Params[2].Default != float64(5) {
		t.Errorf("cityDeals params %+v", cd.Params)
	}
	if len(cd.Steps) != 4 || cd.Steps[1].Foreach == nil || *cd.Steps[1].Foreach != ".markets" || !slices.Equal(cd.Steps[1].Needs, []string{"markets"}) ||
		!cd.Steps[3].Optional || cd.Steps[0].CacheMs == nil || *cd.Steps[0].CacheMs != 300000 {
		t.Errorf("cityDeals steps %+v", cd.Steps)
	}
	if cd.CacheMs != 30000 || cd.TimeoutMs != 3000 || cd.ResponseSchema["type"] != "object" {
		t.Errorf("cityDeals cache %v timeout %v schema %v", cd.CacheMs, cd.TimeoutMs, cd.ResponseSchema)
	}
	if got.Nope != nil {
		t.Errorf("pipeline(name: nope) = %+v, want null", got.Nope)
	}
	if len(got.Upstreams) != 4 {
		t.Fatalf("upstreams %+v", got.Upstreams)
	}
	for _, u := range got.Upstreams {
		if u.Kind != "HTTP" || u.URL != "REDACTED" || u.Breaker.State != "CLOSED" || u.Breaker.FailureThreshold != 5 || len(u.Pipelines) == 0 {
			t.Errorf("upstream %+v", u)
		}
	}
}

// runStep is a timeline entry of a run.
type runStep struct {
	Name        string
	Upstream    string
	Method      *string
	URL         *string
	Status      *int
	Cache       *string
	Breaker     *string
	StartedAtMs float64
	DurationMs  float64
	Parallel    bool
	Skipped     bool
}

// TestGraphQLRunTimeline runs productSearch in German: deals and translate
// both need only the search, and their timings show them overlapping.
func TestGraphQLRunTimeline(t *testing.T) {
	const latency = 40 * time.Millisecond
	base := startSlowDemo(t, latency)
	r := graphql(t, base, `query($p: JSON) { run(pipeline: "productSearch", params: $p, select: ".products[].id") {
	    status data complete durationMs cache
	    steps { name upstream method url status cache breaker startedAtMs durationMs parallel skipped }
	  } }`, map[string]any{"p": map[string]any{"q": "milk", "lang": "de"}}, "")
	if r.status != 200 || len(r.Errors) > 0 {
		t.Fatalf("%d %+v", r.status, r.Errors)
	}
	var got struct {
		Run struct {
			Status     int
			Data       any
			Complete   bool
			DurationMs float64
			Cache      string
			Steps      []runStep
		}
	}
	if err := json.Unmarshal(r.Data, &got); err != nil {
		t.Fatal(err)
	}
	run := got.Run
	t.Logf("run %.1fms: %s", run.DurationMs, r.Data)
	ids, _ := run.Data.([]any) // the ids of the two products found
	if run.Status != 200 || len(ids) != 2 || !run.Complete || run.Cache != "MISS" || len(run.Steps) != 3 {
		t.Fatalf("run %+v", run)
	}
	search, deals, translate := run.Steps[0], run.Steps[1], run.Steps[2]
	for _, s := range run.Steps {
		if s.Status == nil || *s.Status != 200 || s.URL == nil || !strings.HasPrefix(*s.URL, "REDACTED/") || s.Breaker == nil || *s.Breaker != "CLOSED" {
			t.Errorf("step %s: %+v", s.Name, s)
		}
		if s.DurationMs < float64(latency/time.Millisecond) {
			t.Errorf("step %s took %.1fms, less than the backends' latency", s.Name, s.DurationMs)
		}
	}
	if !strings.HasSuffix(*search.URL, "/products/search?limit=10&q=milk") || *translate.Method != "POST" {
		t.Errorf("requests: search %s, translate %s", *search.URL, *translate.Method)
	}
	// Both start after the search ends, and overlap each other.
	searchEnd := search.StartedAtMs + search.DurationMs
	for _, s := range []runStep{deals, translate} {
		if s.StartedAtMs < searchEnd {
			t.Errorf("%s started at %.1fms, before search ended at %.1fms", s.Name, s.StartedAtMs, searchEnd)
		}
	}
	overlap := deals.StartedAtMs < translate.StartedAtMs+translate.DurationMs && translate.StartedAtMs < deals.StartedAtMs+deals.DurationMs
	if !overlap || !deals.Parallel || !translate.Parallel || search.Parallel {
		t.Errorf("deals [%.1f, +%.1f] and translate [%.1f, +%.1f]: overlap %t, parallel flags %t %t (search %t)",
			deals.StartedAtMs, deals.DurationMs, translate.StartedAtMs, translate.DurationMs, overlap, deals.Parallel, translate.Parallel, search.Parallel)
	}
	if sequential := search.DurationMs + deals.DurationMs + translate.DurationMs; run.DurationMs >= sequential {
		t.Errorf("the run took %.1fms, no less than its steps one after another (%.1fms)", run.DurationMs, sequential)
	}

	// The same call again is answered from the response cache.
	again := graphql(t, base, `{ run(pipeline: "productSearch", params: {q: "milk", lang: "de"}) { cache steps { name } } }`, nil, "")
	if string(again.Data) != `{"run":{"cache":"HIT","steps":[]}}` {
		t.Errorf("second run: %s", again.Data)
	}
}

// TestGraphQLErrors checks codes for an unknown pipeline and bad params.
func TestGraphQLErrors(t *testing.T) {
	base := startDemo(t)
	cases := []struct {
		name, doc string
		code      string
		reasons   []string // the params problems, "name: reason"
	}{
		{"unknown pipeline", `{ run(pipeline: "cheapestBeer") { status } }`, "NOT_FOUND", nil},
		{"bad params", `{ run(pipeline: "cityDeals", params: {city: "Berlin", limit: 50, lang: "la"}) { status } }`, "BAD_USER_INPUT",
			[]string{"lang: must be one of en, de, fr, es", "limit: must be at most 20"}},
		{"missing and unknown params", `{ run(pipeline: "nearestMarkets", params: {lat: "north", radius: 3}) { status } }`, "BAD_USER_INPUT",
			[]string{`lat: "north" is not a number`, "lon: required", "radius: unknown parameter"}},
		{"side effects over Query", `{ run(pipeline: "placeOrder") { status } }`, "METHOD_NOT_ALLOWED", nil},
		{"not a field", `{ run(pipeline: "cityDeals") { price } }`, "GRAPHQL_VALIDATION_FAILED", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := graphql(t, base, c.doc, nil, demoBuyerKey)
			if r.code() != c.code {
				t.Fatalf("code %q, want %s: %+v", r.code(), c.code, r.Errors)
			}
			var reasons []string
			problems, _ := r.Errors[0].Extensions["errors"].([]any)
			for _, p := range problems {
				m, _ := p.(map[string]any)
				reasons = append(reasons, m["name"].(string)+": "+m["reason"].(string))
			}
			if !slices.Equal(reasons, c.reasons) {
				t.Errorf("problems %q, want %q", reasons, c.reasons)
			}
			if c.code == "GRAPHQL_VALIDATION_FAILED" && (r.status != 400 || r.Data != nil) {
				t.Errorf("validation failure: %d with data %s, want 400 without data", r.status, r.Data)
			}
		})
	}
}

// TestGraphQLAuthLikeREST calls placeOrder (roles: [buyer]) with each demo
// key over REST and GraphQL: the same status, and the same code.
func TestGraphQLAuthLikeREST(t *testing.T) {
	base := startDemo(t)
	order := `{"market_id":"ber-01","items":[{"product_id":"p1001","quantity":1}]}`
	cases := []struct {
		name, key string
		status    int
		code      string
	}{
		{"no key", "", 401, "UNAUTHENTICATED"},
		{"reader", demoReaderKey, 403, "FORBIDDEN"},
		{"buyer", demoBuyerKey, 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, base+"/v1/orders", strings.NewReader(order))
			req.Header.Set("Content-Type", "application/json")
			if c.key != "" {
				req.Header.Set("X-API-Key", c.key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			r := graphql(t, base, `mutation($o: JSON) { run(pipeline: "placeOrder", body: $o) { status data } }`,
				map[string]any{"o": json.RawMessage(order)}, c.key)
			gqlStatus := 200
			if len(r.Errors) > 0 {
				gqlStatus = int(r.Errors[0].Extensions["status"].(float64))
			}
			if resp.StatusCode != c.status || gqlStatus != c.status || r.code() != c.code {
				t.Errorf("REST %d, GraphQL status %d code %q; want %d and %q", resp.StatusCode, gqlStatus, r.code(), c.status, c.code)
			}
		})
	}
	// A wrong key is refused before either surface.
	if r := graphql(t, base, `{ __typename }`, nil, "not-a-key"); r.status != 401 {
		t.Errorf("wrong key: %d, want 401", r.status)
	}
}

// TestGraphQLSubscriptionSeesREST subscribes to runs over SSE and calls
// the REST path: the subscriber receives that call with its steps.
func TestGraphQLSubscriptionSeesREST(t *testing.T) {
	base := startDemo(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	sub := `{"query":"subscription { runs(pipeline: \"nearestMarkets\") { requestId surface pipeline method path status complete steps { name upstream calls } } }"}`
	events := subscribeSSE(ctx, t, base, sub)
	// The subscription starts asynchronously: call until an event arrives.
	var ids []string
	var data string
	for data == "" {
		a := get(t, base+"/v1/markets/nearest?lat=52.52&lon=13.405&radius_km=3")
		if a.status != 200 {
			t.Fatalf("REST: %d %s", a.status, a.body)
		}
		ids = append(ids, a.header.Get("Manifold-Request-Id"))
		select {
		case data = <-events:
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("no event within 15s")
		}
	}
	var ev struct {
		Data struct {
			Runs struct {
				RequestID, Surface, Pipeline, Method, Path string
				Status                                     int
				Complete                                   bool
				Steps                                      []struct {
					Name, Upstream string
					Calls          int
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(data), &ev); err != nil {
		t.Fatalf("event %s: %v", data, err)
	}
	run := ev.Data.Runs
	if !slices.Contains(ids, run.RequestID) || run.Surface != "REST" || run.Pipeline != "nearestMarkets" || run.Method != "GET" ||
		run.Path != "/v1/markets/nearest" || run.Status != 200 || !run.Complete {
		t.Errorf("event %s, want one of the REST calls %v", data, ids)
	}
}

// TestGraphQLFollowsReload edits the pipeline directory of a running
// gateway: /graphql shows the new pipeline and applies the new
// gateway.yaml switch without a restart.
func TestGraphQLFollowsReload(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"v":1}`)
	}))
	defer up.Close()
	gateway := fmt.Sprintf("upstreams:\n  up: {url: %q}\n", up.URL)
	g := serveOps(t, map[string]string{
		"gateway.yaml": gateway,
		"a.yaml":       "name: a\npath: /a\nsteps:\n  s: {upstream: up, path: /}\n",
	}, nil, launch.Options{})
	names := func() string {
		r := graphql(t, g.base, `{ pipelines { name } }`, nil, "")
		return string(r.Data)
	}
	if got := names(); got != `{"pipelines":[{"name":"a"}]}` {
		t.Fatalf("before: %s", got)
	}
	if r := graphql(t, g.base, `{ __schema { queryType { name } } }`, nil, ""); r.code() != "" {
		t.Fatalf("introspection before: %+v", r.Errors)
	}
	writeFile(t, g.dir, "gateway.yaml", gateway+"graphql: {introspection: false}\n")
	writeFile(t, g.dir, "b.yaml", "name: b\npath: /b\nsteps:\n  s: {upstream: up, path: /}\n")
	deadline := time.Now().Add(10 * time.Second)
	for names() != `{"pipelines":[{"name":"a"},{"name":"b"}]}` || graphql(t, g.base, `{ __schema { queryType { name } } }`, nil, "").code() != "INTROSPECTION_DISABLED" {
		if time.Now().After(deadline) {
			t.Fatalf("after the edit: pipelines %s", names())
		}
		time.Sleep(20 * time.Millisecond)
	}
	r := graphql(t, g.base, `{ run(pipeline: "b") { data } }`, nil, "")
	if string(r.Data) != `{"run":{"data":{"s":{"v":1}}}}` {
		t.Errorf("run of the new pipeline: %s %+v", r.Data, r.Errors)
	}
}

// TestGraphQLSubscriptionHidesOthersRequests: an anonymous subscriber
// watching traffic sees another caller's call without what it asked for:
// the route instead of the path, no upstream URLs.
func TestGraphQLSubscriptionHidesOthersRequests(t *testing.T) {
	base := startDemo(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	sub := `{"query":"subscription { runs(pipeline: \"cityDeals\") { path status steps { name url } } }"}`
	events := subscribeSSE(ctx, t, base, sub)
	var data string
	for data == "" {
		r, _ := http.NewRequest(http.MethodGet, base+"/v1/cities/Paris/deals?limit=1", nil)
		r.Header.Set("X-API-Key", "demo-buyer-key")
		if a, err := http.DefaultClient.Do(r); err != nil {
			t.Fatal(err)
		} else {
			a.Body.Close()
		}
		select {
		case data = <-events:
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("no event within 15s")
		}
	}
	if strings.Contains(data, "Paris") || strings.Contains(data, "127.0.0.1") || !strings.Contains(data, `"path":"/v1/cities/{city}/deals"`) {
		t.Errorf("an anonymous subscriber sees the buyer's request: %s", data)
	}
}

// subscribeSSE opens a GraphQL subscription over SSE and delivers the data
// of its events until ctx ends.
func subscribeSSE(ctx context.Context, t *testing.T, base, sub string) <-chan string {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/graphql", strings.NewReader(sub))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	events := make(chan string, 16)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				events <- d
			}
		}
	}()
	return events
}

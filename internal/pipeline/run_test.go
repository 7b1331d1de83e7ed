package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/manifoldgw/manifold/connectors"
	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/server"
)

// backend is an httptest upstream that counts its calls.
type backend struct {
	*httptest.Server
	calls atomic.Int64
}

func newBackend(t *testing.T, h http.HandlerFunc) *backend {
	t.Helper()
	b := &backend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.calls.Add(1)
		h(w, r)
	}))
	t.Cleanup(b.Close)
	return b
}

func jsonHandler(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}
}

// load builds a plan from a gateway.yaml whose upstreams point at the
// given backends, and pipeline files.
func load(t *testing.T, upstreams map[string]string, pipelines ...string) *server.Runtime {
	t.Helper()
	var gw strings.Builder
	gw.WriteString("upstreams:\n")
	for name, url := range upstreams {
		fmt.Fprintf(&gw, "  %s: {url: %q, timeout: 2s}\n", name, url)
	}
	fsys := fstest.MapFS{"gateway.yaml": {Data: []byte(gw.String())}}
	for i, p := range pipelines {
		fsys[fmt.Sprintf("p%d.yaml", i)] = &fstest.MapFile{Data: []byte(p)}
	}
	plan, err := pipeline.Load(fsys, "", pipeline.LoadOptions{})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	rt, err := server.Build(plan, nil)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	t.Cleanup(rt.Close)
	return rt
}

func run(t *testing.T, rt *server.Runtime, name string, params map[string]any) (*pipeline.Result, error) {
	t.Helper()
	return runCtx(context.Background(), t, rt, name, params)
}

func runCtx(ctx context.Context, t *testing.T, rt *server.Runtime, name string, params map[string]any) (*pipeline.Result, error) {
	t.Helper()
	p := rt.Plan.Pipeline(name)
	if p == nil {
		t.Fatalf("no pipeline %q", name)
	}
	return rt.Engine.Run(ctx, p, pipeline.Input{Params: params})
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestIndependentStepsRunConcurrently makes four backends wait until all
// four requests are in flight at once: only a concurrent run can pass.
func TestIndependentStepsRunConcurrently(t *testing.T) {
	var arrived sync.WaitGroup
	arrived.Add(4)
	allIn := make(chan struct{})
	go func() { arrived.Wait(); close(allIn) }()
	barrier := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			arrived.Done()
			select {
			case <-allIn:
				jsonHandler(fmt.Sprintf(`{"name":%q}`, name))(w, r)
			case <-time.After(10 * time.Second):
				http.Error(w, "not concurrent", http.StatusServiceUnavailable)
			}
		}
	}
	ups := map[string]string{}
	for _, n := range []string{"a", "b", "c", "d"} {
		ups[n] = newBackend(t, barrier(n)).URL
	}
	rt := load(t, ups, `
name: fanout
path: /fanout
steps:
  a: {upstream: a, path: /, select: .name}
  b: {upstream: b, path: /, select: .name}
  c: {upstream: c, path: /, select: .name}
  d: {upstream: d, path: /, select: .name}
`)
	res, err := run(t, rt, "fanout", nil)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if got, want := string(res.JSON), `{"a":"a","b":"b","c":"c","d":"d"}`; got != want {
		t.Errorf("answer = %s, want %s", got, want)
	}
	for _, s := range res.Steps {
		if !s.Parallel || s.Status != 200 || s.Calls != 1 {
			t.Errorf("step %s: parallel=%v status=%d calls=%d, want true 200 1", s.Name, s.Parallel, s.Status, s.Calls)
		}
	}
}

// TestNeedsOrderAndInterpolation checks that a step sees the results of
// the steps it needs, and that interpolated values are escaped.
func TestNeedsOrderAndInterpolation(t *testing.T) {
	users := newBackend(t, jsonHandler(`{"user":{"id":"a b?c#d%","team":"core"}}`))
	var gotPath, gotQuery, gotHeader string
	orders := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotQuery, gotHeader = r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get("X-Team")
		jsonHandler(`{"orders":[1,2]}`)(w, r)
	})
	rt := load(t, map[string]string{"users": users.URL, "orders": orders.URL}, `
name: userOrders
path: /users/{id}
params:
  id: {in: path, type: string}
  n: {in: query, type: integer, default: 3}
steps:
  user: {upstream: users, path: "/users/${ .params.id }", select: .user}
  orders:
    upstream: orders
    needs: [user]
    path: /users/${ .user.id }/orders
    query: {limit: "${ .params.n }", tag: "${ [\"x\", \"y\"] }", none: "${ null }"}
    headers: {X-Team: "${ .user.team }"}
    select: .orders
`)
	res, err := run(t, rt, "userOrders", map[string]any{"id": "42", "n": 3})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if want := "/users/a%20b%3Fc%23d%25/orders"; gotPath != want {
		t.Errorf("upstream path = %s, want %s", gotPath, want)
	}
	if want := "limit=3&tag=x&tag=y"; gotQuery != want {
		t.Errorf("upstream query = %s, want %s", gotQuery, want)
	}
	if gotHeader != "core" {
		t.Errorf("X-Team = %q, want core", gotHeader)
	}
	if got := asJSON(t, res.Data.(map[string]any)["orders"]); got != "[1,2]" {
		t.Errorf("orders = %s", got)
	}
}

// TestForeachKeepsOrderAndBound checks that foreach answers in input
// order even when later items answer first, and never exceeds its
// concurrency.
func TestForeachKeepsOrderAndBound(t *testing.T) {
	var inFlight, maxInFlight atomic.Int64
	items := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := maxInFlight.Load()
			if n <= m || maxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		id := strings.TrimPrefix(r.URL.Path, "/items/")
		// Earlier items answer later, so arrival order is reversed.
		time.Sleep(time.Duration(10-len(id)) * time.Millisecond)
		jsonHandler(fmt.Sprintf(`{"id":%q}`, id))(w, r)
	})
	list := newBackend(t, jsonHandler(`{"ids":["a","bb","ccc","dddd","eeeee","ffffff"]}`))
	rt := load(t, map[string]string{"list": list.URL, "items": items.URL}, `
name: each
path: /each
steps:
  list: {upstream: list, path: /, select: .ids}
  items:
    upstream: items
    needs: [list]
    foreach: .list
    concurrency: 2
    path: /items/${ .item }
    select: .id
output: .items
`)
	res, err := run(t, rt, "each", nil)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if got, want := string(res.JSON), `["a","bb","ccc","dddd","eeeee","ffffff"]`; got != want {
		t.Errorf("answer = %s, want %s", got, want)
	}
	if m := maxInFlight.Load(); m > 2 {
		t.Errorf("foreach had %d calls in flight, concurrency is 2", m)
	}
	if c := res.Steps[1].Calls; c != 6 {
		t.Errorf("items calls = %d, want 6", c)
	}
}

// TestWhenSkipsStep checks that a false `when` makes no call and leaves
// null, without marking the answer incomplete.
func TestWhenSkipsStep(t *testing.T) {
	tr := newBackend(t, jsonHandler(`{"t":["Hallo"]}`))
	words := newBackend(t, jsonHandler(`{"words":["hello"]}`))
	rt := load(t, map[string]string{"tr": tr.URL, "words": words.URL}, `
name: tr
path: /tr
params:
  lang: {type: string, default: en}
steps:
  words: {upstream: words, path: /, select: .words}
  translate:
    upstream: tr
    needs: [words]
    when: .params.lang != "en"
    method: POST
    path: /translate
    body: {target: "${ .params.lang }", q: "${ .words }"}
    select: .t
`)
	res, err := run(t, rt, "tr", map[string]any{"lang": "en"})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if tr.calls.Load() != 0 || !res.Steps[1].Skipped || !res.Complete() {
		t.Errorf("lang=en: translation calls=%d skipped=%v complete=%v, want 0 true true", tr.calls.Load(), res.Steps[1].Skipped, res.Complete())
	}
	if got := string(res.JSON); got != `{"translate":null,"words":["hello"]}` {
		t.Errorf("answer = %s", got)
	}
	res, err = run(t, rt, "tr", map[string]any{"lang": "de"})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if got := string(res.JSON); got != `{"translate":["Hallo"],"words":["hello"]}` {
		t.Errorf("answer = %s", got)
	}
}

// TestOptionalFailureIsIncomplete checks that a failed optional step gives
// null and names itself in Missing, while the rest of the answer stands.
func TestOptionalFailureIsIncomplete(t *testing.T) {
	ok := newBackend(t, jsonHandler(`{"v":1}`))
	broken := newBackend(t, func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", 500) })
	rt := load(t, map[string]string{"ok": ok.URL, "broken": broken.URL}, `
name: partial
path: /partial
steps:
  main: {upstream: ok, path: /, select: .v}
  extra: {upstream: broken, path: /, optional: true}
`)
	res, err := run(t, rt, "partial", nil)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if got := string(res.JSON); got != `{"extra":null,"main":1}` {
		t.Errorf("answer = %s", got)
	}
	if got := strings.Join(res.Missing, ","); got != "extra" {
		t.Errorf("missing = %q, want extra", got)
	}
	if s := res.Steps[1]; s.Status != 500 || s.Err == nil {
		t.Errorf("extra trace: status %d err %v, want 500 and an error", s.Status, s.Err)
	}
}

// TestRequiredFailureCancelsSiblings checks that a failed required step
// fails the run with a StepError naming it, and that a slow sibling's
// upstream call is cancelled rather than waited for.
func TestRequiredFailureCancelsSiblings(t *testing.T) {
	entered, cancelled := make(chan struct{}), make(chan struct{})
	slow := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		select {
		case <-r.Context().Done():
			close(cancelled)
		case <-time.After(5 * time.Second):
			jsonHandler(`{}`)(w, r)
		}
	})
	broken := newBackend(t, func(w http.ResponseWriter, _ *http.Request) {
		// Fail only once the sibling's call is in flight: a failure
		// before it starts would leave nothing to cancel.
		select {
		case <-entered:
		case <-time.After(5 * time.Second):
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"title":"db down","detail":"database unreachable"}`)
	})
	rt := load(t, map[string]string{"slow": slow.URL, "broken": broken.URL}, `
name: fails
path: /fails
steps:
  slow: {upstream: slow, path: /}
  broken: {upstream: broken, path: /}
`)
	_, err := run(t, rt, "fails", nil)
	var se *pipeline.StepError
	if !errors.As(err, &se) || se.Step != "broken" || se.Upstream != "broken" {
		t.Fatalf("err = %v, want a StepError for step broken", err)
	}
	var status *connectors.StatusError
	if !errors.As(err, &status) || status.Status != 500 || status.Detail != "database unreachable" {
		t.Errorf("err = %v, want the upstream's 500 with its detail", err)
	}
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Error("the slow sibling's call was not cancelled")
	}
}

// TestTimeoutReachesUpstreams checks that a run never outlives its
// timeout and that the in-flight call is cancelled.
func TestTimeoutReachesUpstreams(t *testing.T) {
	cancelled := make(chan struct{})
	hang := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		close(cancelled)
	})
	rt := load(t, map[string]string{"hang": hang.URL}, `
name: slow
path: /slow
timeout: 100ms
steps:
  hang: {upstream: hang, path: /}
`)
	start := time.Now()
	_, err := run(t, rt, "slow", nil)
	var te *pipeline.TimeoutError
	if !errors.As(err, &te) || te.Pipeline != "slow" || strings.Join(te.Pending, ",") != "hang" {
		t.Fatalf("err = %v, want a TimeoutError pending on hang", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second { // the backend hangs for ever
		t.Errorf("run took %s, its timeout is 100ms", elapsed)
	}
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Error("the upstream call was not cancelled at the deadline")
	}
}

// TestOptionalStepPastDeadline checks that an optional step still running
// at the deadline does not fail the run: the answer is incomplete.
func TestOptionalStepPastDeadline(t *testing.T) {
	fast := newBackend(t, jsonHandler(`{"v":1}`))
	hang := newBackend(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	rt := load(t, map[string]string{"fast": fast.URL, "hang": hang.URL}, `
name: partial
path: /p
timeout: 100ms
steps:
  fast: {upstream: fast, path: /, select: .v}
  slow: {upstream: hang, path: /, optional: true}
`)
	res, err := run(t, rt, "partial", nil)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if got := string(res.JSON); got != `{"fast":1,"slow":null}` || strings.Join(res.Missing, ",") != "slow" {
		t.Errorf("answer %s missing %v, want fast only and slow missing", got, res.Missing)
	}
}

// TestCallerCancellation checks that the caller going away cancels the
// upstream calls.
func TestCallerCancellation(t *testing.T) {
	started, cancelled := make(chan struct{}), make(chan struct{})
	hang := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
		close(cancelled)
	})
	rt := load(t, map[string]string{"hang": hang.URL}, `
name: slow
path: /slow
steps:
  hang: {upstream: hang, path: /}
`)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := runCtx(ctx, t, rt, "slow", nil)
		errc <- err
	}()
	<-started
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after cancellation")
	}
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Error("the upstream call was not cancelled")
	}
}

// TestMergeModes checks group, deep merge and a jq output.
func TestMergeModes(t *testing.T) {
	a := newBackend(t, jsonHandler(`{"product":{"id":1,"name":"Milk"},"tags":["a"]}`))
	b := newBackend(t, jsonHandler(`{"product":{"price":1.29},"tags":["b"]}`))
	ups := map[string]string{"a": a.URL, "b": b.URL}
	rt := load(t, ups, `
name: deep
path: /deep
merge: deep
steps:
  a: {upstream: a, path: /}
  b: {upstream: b, path: /}
`, `
name: shaped
path: /shaped
steps:
  a: {upstream: a, path: /}
  b: {upstream: b, path: /}
output: "{name: .a.product.name, price: .b.product.price}"
`)
	cases := map[string]string{
		"deep":   `{"product":{"id":1,"name":"Milk","price":1.29},"tags":["b"]}`,
		"shaped": `{"name":"Milk","price":1.29}`,
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			res, err := run(t, rt, name, nil)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if got := string(res.JSON); got != want {
				t.Errorf("answer = %s, want %s", got, want)
			}
		})
	}
}

// TestResponseSizeLimit checks the max_response cap and truncate.
func TestResponseSizeLimit(t *testing.T) {
	big := `{"items":[` + strings.Repeat(`"xxxxxxxxxx",`, 20000) + `"x"]}`
	up := newBackend(t, jsonHandler(big))
	rt := load(t, map[string]string{"up": up.URL}, `
name: huge
path: /huge
steps:
  up: {upstream: up, path: /, select: .items}
`, `
name: trimmed
path: /trimmed
steps:
  up: {upstream: up, path: /, select: .items}
truncate: ".up |= .[:10]"
`)
	_, err := run(t, rt, "huge", nil)
	var tl *pipeline.TooLargeError
	if !errors.As(err, &tl) || tl.Limit != gateway.DefaultMaxResponse {
		t.Errorf("huge: err = %v, want TooLargeError at the default limit", err)
	}
	res, err := run(t, rt, "trimmed", nil)
	if err != nil {
		t.Fatalf("trimmed: %v", err)
	}
	if n := len(res.Data.(map[string]any)["up"].([]any)); n != 10 {
		t.Errorf("trimmed answer has %d items, want 10", n)
	}
}

// TestGraphQLStep checks that a graphql upstream gets query and variables
// and that `errors` fail the step.
func TestGraphQLStep(t *testing.T) {
	var got struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	gql := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewDecoder(r.Body).Decode(&got)
		if got.Variables["id"] == "missing" {
			jsonHandler(`{"data":null,"errors":[{"message":"not found"}]}`)(w, r)
			return
		}
		jsonHandler(`{"data":{"product":{"name":"Milk"}}}`)(w, r)
	})
	plan := fmt.Sprintf("upstreams:\n  catalog: {url: %q, kind: graphql}\n", gql.URL+"/graphql")
	fsys := fstest.MapFS{
		"gateway.yaml": {Data: []byte(plan)},
		"p.yaml": {Data: []byte(`
name: product
path: /products/{id}
params: {id: {in: path, type: string}}
steps:
  product:
    upstream: catalog
    query: "query($id: ID!) { product(id: $id) { name } }"
    variables: {id: "${ .params.id }"}
    select: .product
`)},
	}
	p, err := pipeline.Load(fsys, "", pipeline.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := server.Build(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	res, err := run(t, rt, "product", map[string]any{"id": "p1"})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if string(res.JSON) != `{"product":{"name":"Milk"}}` || got.Variables["id"] != "p1" || !strings.Contains(got.Query, "product(id: $id)") {
		t.Errorf("answer %s, sent %+v", res.JSON, got)
	}
	_, err = run(t, rt, "product", map[string]any{"id": "missing"})
	var gerr *connectors.GraphQLError
	if !errors.As(err, &gerr) || gerr.Messages[0] != "not found" {
		t.Errorf("err = %v, want the GraphQL error", err)
	}
}

// TestRunsLeakNoGoroutines runs failing, timing-out and cancelled runs and
// checks that every goroutine they started has ended.
func TestRunsLeakNoGoroutines(t *testing.T) {
	hang := newBackend(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	broken := newBackend(t, func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "x", 500) })
	rt := load(t, map[string]string{"hang": hang.URL, "broken": broken.URL}, `
name: mixed
path: /mixed
timeout: 50ms
steps:
  list: {upstream: broken, path: /, optional: true}
  each: {upstream: hang, needs: [list], foreach: "[1,2,3]", path: "/${ .item }"}
  other: {upstream: hang, path: /other}
`)
	before := runtime.NumGoroutine()
	for range 20 {
		_, _ = run(t, rt, "mixed", nil)
	}
	rt.Close()
	goroutinesBackTo(t, before)
}

// goroutinesBackTo waits until no more goroutines run than before (and
// two idle connections that may still be closing), failing t with every
// goroutine's stack after 10s.
func goroutinesBackTo(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before+2 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Steps run on the Engine's workers, which outlive a run; closing the
// Runtime (a reload retiring it, a shutdown) ends them rather than leaving
// them to time out idle.
func TestCloseEndsStepWorkers(t *testing.T) {
	ok := newBackend(t, func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(`{}`)) })
	rt := load(t, map[string]string{"ok": ok.URL}, `
name: wide
path: /wide
steps:
  a: {upstream: ok, path: /a}
  b: {upstream: ok, path: /b}
  c: {upstream: ok, path: /c}
  d: {upstream: ok, path: /d}
  e: {upstream: ok, path: /e}
`)
	before := runtime.NumGoroutine()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := run(t, rt, "wide", nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := runtime.NumGoroutine(); n < before+4 {
		t.Fatalf("goroutines: %d before the runs, %d after, want the idle step workers", before, n)
	}
	rt.Close()
	goroutinesBackTo(t, before)
}

package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/manifoldgw/manifold/internal/demo"
	"github.com/manifoldgw/manifold/internal/launch"
)

// tracedDemo serves the demo pipelines against demo backends that take
// latency per answer, with spans going to an in-memory exporter.
func tracedDemo(t *testing.T, latency time.Duration) (string, *tracetest.InMemoryExporter) {
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
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	ctx, cancel := context.WithCancel(context.Background())
	addr, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- launch.Serve(ctx, plan, launch.Options{Listen: "127.0.0.1:0", TracerProvider: tp, Ready: func(a string) { addr <- a }})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	select {
	case a := <-addr:
		return "http://" + a, exp
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	return "", nil
}

// spanTree indexes the spans of one trace.
type spanTree struct {
	spans    []tracetest.SpanStub
	children map[trace.SpanID][]tracetest.SpanStub
}

// traceOf waits until the server span of the trace the answer names is
// exported (it ends after the answer is written) and returns the trace.
func traceOf(t *testing.T, exp *tracetest.InMemoryExporter, h http.Header) (tracetest.SpanStub, *spanTree) {
	t.Helper()
	id := h.Get("Manifold-Trace-Id")
	if len(id) != 32 {
		t.Fatalf("answer has no trace id: %q", id)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		tree := &spanTree{children: map[trace.SpanID][]tracetest.SpanStub{}}
		var root *tracetest.SpanStub
		for _, s := range exp.GetSpans() {
			if s.SpanContext.TraceID().String() != id {
				continue
			}
			tree.spans = append(tree.spans, s)
			tree.children[s.Parent.SpanID()] = append(tree.children[s.Parent.SpanID()], s)
			if s.SpanKind == trace.SpanKindServer {
				root = &s
			}
		}
		if root != nil {
			return *root, tree
		}
		if time.Now().After(deadline) {
			t.Fatalf("no server span for trace %s", id)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// child returns the only child of parent called name.
func (tr *spanTree) child(t *testing.T, parent tracetest.SpanStub, name string) tracetest.SpanStub {
	t.Helper()
	var found []tracetest.SpanStub
	for _, c := range tr.children[parent.SpanContext.SpanID()] {
		if c.Name == name {
			found = append(found, c)
		}
	}
	if len(found) != 1 {
		t.Fatalf("span %q has %d children called %q, want 1 (children: %v)", parent.Name, len(found), name, tr.names(parent))
	}
	return found[0]
}

func (tr *spanTree) named(parent tracetest.SpanStub, name string) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, c := range tr.children[parent.SpanContext.SpanID()] {
		if c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

func (tr *spanTree) names(parent tracetest.SpanStub) []string {
	var out []string
	for _, c := range tr.children[parent.SpanContext.SpanID()] {
		out = append(out, c.Name)
	}
	return out
}

func attrOf(s tracetest.SpanStub, key string) string {
	for _, kv := range s.Attributes {
		if kv.Key == attribute.Key(key) {
			return kv.Value.Emit()
		}
	}
	return ""
}

func overlap(a, b tracetest.SpanStub) bool {
	return a.StartTime.Before(b.EndTime) && b.StartTime.Before(a.EndTime)
}

// TestSpanTreeOfCityDeals checks the trace of a cityDeals run: the server
// span, the run, one span per step in dependency order, one span per
// upstream call (the deals of each market, in parallel) and one client
// span per attempt, with the upstream, status, cache outcome, breaker
// state and attempt number.
func TestSpanTreeOfCityDeals(t *testing.T) {
	base, exp := tracedDemo(t, 10*time.Millisecond)
	req, _ := http.NewRequest("GET", base+"/v1/cities/Berlin/deals?lang=de&limit=3", nil)
	// Not trusted by default: the gateway starts its own trace.
	req.Header.Set("Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	server, tree := traceOf(t, exp, resp.Header)

	if server.Name != "GET /v1/cities/{city}/deals" || server.Parent.IsValid() {
		t.Errorf("server span %q (parent %v), want a root called GET /v1/cities/{city}/deals", server.Name, server.Parent.SpanID())
	}
	if len(server.Links) != 1 || server.Links[0].SpanContext.TraceID().String() != "0af7651916cd43dd8448eb211c80319c" {
		t.Errorf("server span links %v, want the caller's untrusted trace", server.Links)
	}
	if got := attrOf(server, "http.response.status_code"); got != "200" {
		t.Errorf("server span status %q, want 200", got)
	}
	run := tree.child(t, server, "pipeline cityDeals")
	steps := map[string]tracetest.SpanStub{}
	for _, name := range []string{"markets", "deals", "products", "translate"} {
		steps[name] = tree.child(t, run, "step "+name)
	}
	for _, c := range []struct{ before, after string }{{"markets", "deals"}, {"deals", "products"}, {"products", "translate"}} {
		if steps[c.after].StartTime.Before(steps[c.before].EndTime) {
			t.Errorf("step %s started before step %s, which it needs, ended", c.after, c.before)
		}
	}
	deals := steps["deals"]
	wantAttrs := map[string]string{"manifold.upstream": "deals", "http.response.status_code": "200",
		"manifold.cache": "miss", "manifold.breaker": "closed", "manifold.calls": "3"}
	for k, want := range wantAttrs {
		if got := attrOf(deals, k); got != want {
			t.Errorf("step deals: %s = %q, want %q", k, got, want)
		}
	}
	calls := tree.named(deals, "upstream deals")
	if len(calls) != 3 {
		t.Fatalf("step deals has %d upstream call spans, want 3 (one per market)", len(calls))
	}
	if !overlap(calls[0], calls[1]) || !overlap(calls[1], calls[2]) {
		t.Error("the foreach calls of step deals did not overlap in time")
	}
	for _, c := range calls {
		attempt := tree.child(t, c, "GET")
		if attempt.SpanKind != trace.SpanKindClient || attrOf(attempt, "manifold.attempt") != "1" ||
			attrOf(attempt, "http.response.status_code") != "200" || !strings.HasPrefix(attrOf(attempt, "url.path"), "/markets/") {
			t.Errorf("attempt span %s: kind %v, attributes %v", attempt.Name, attempt.SpanKind, attempt.Attributes)
		}
		if attrOf(c, "manifold.cache") != "miss" || attrOf(c, "manifold.breaker") != "closed" || attrOf(c, "manifold.attempts") != "1" {
			t.Errorf("call span attributes %v", c.Attributes)
		}
	}
	if tr := tree.child(t, tree.child(t, steps["translate"], "upstream translation"), "POST"); attrOf(tr, "http.request.method") != "POST" {
		t.Errorf("translate attempt: %v", tr.Attributes)
	}
}

// TestSpansOfParallelSteps checks that independent steps run at once:
// productSearch's deals and translate both need only search.
func TestSpansOfParallelSteps(t *testing.T) {
	base, exp := tracedDemo(t, 20*time.Millisecond)
	resp, err := http.Get(base + "/v1/products?q=milk&lang=fr")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	server, tree := traceOf(t, exp, resp.Header)
	run := tree.child(t, server, "pipeline productSearch")
	search, deals, translate := tree.child(t, run, "step search"), tree.child(t, run, "step deals"), tree.child(t, run, "step translate")
	if !overlap(deals, translate) {
		t.Errorf("steps deals [%v, %v] and translate [%v, %v] did not overlap",
			deals.StartTime, deals.EndTime, translate.StartTime, translate.EndTime)
	}
	if deals.StartTime.Before(search.EndTime) || translate.StartTime.Before(search.EndTime) {
		t.Error("a step started before search, which it needs, ended")
	}
}

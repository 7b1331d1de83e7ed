package security

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/manifoldgw/manifold/internal/audit"
	"github.com/manifoldgw/manifold/internal/demo"
	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/launch"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/yamlconf"
	"github.com/manifoldgw/manifold/pipelines"
)

// The GraphQL view attacked as an anonymous caller, one test per finding:
// each sends the hostile request and asserts the refusal, and that the
// heap or the goroutines stay bounded where they were the harm.

// gqlGateway serves the demo pipelines through launch.Serve; tune may
// change the loaded gateway.yaml.
func gqlGateway(t *testing.T, tune func(*gateway.Config)) string {
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
	plan.Gateway.Audit.NATS = audit.Off
	if tune != nil {
		tune(plan.Gateway)
	}
	base, _ := serve(t, plan, launch.Options{})
	return base
}

// gqlPost posts a GraphQL request body to /graphql.
func gqlPost(t *testing.T, base string, body any, headers ...string) answer {
	t.Helper()
	b, _ := json.Marshal(body)
	return do(t, request(t, http.MethodPost, base+"/graphql", string(b), headers...))
}

// gqlCodes are the extensions.code of a GraphQL answer's errors.
func gqlCodes(t *testing.T, a answer) []string {
	t.Helper()
	var r struct {
		Errors []struct {
			Extensions map[string]any `json:"extensions"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(a.body, &r); err != nil {
		t.Fatalf("not a GraphQL answer (%d): %s", a.status, a.body)
	}
	var codes []string
	for _, e := range r.Errors {
		c, _ := e.Extensions["code"].(string)
		codes = append(codes, c)
	}
	return codes
}

// heapMB is the live heap after a collection, in MiB.
func heapMB() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc) / (1 << 20)
}

// Finding 1: four aliased runs whose select builds a 2 GB string.
func TestGraphQLSelectBomb(t *testing.T) {
	base := gqlGateway(t, nil)
	before := heapMB()
	run := `run(pipeline: "productSearch", params: {q: "milk"}, select: "\"x\" * 2000000000 | length") { data }`
	query := "{ a: " + run + " b: " + run + " c: " + run + " d: " + run + " }"
	a := gqlPost(t, base, map[string]string{"query": query})
	codes := gqlCodes(t, a)
	if a.status != http.StatusOK || len(codes) != 4 {
		t.Fatalf("%d %s: want four errors", a.status, a.body)
	}
	for _, c := range codes {
		if c != "SELECT_NOT_ALLOWED" {
			t.Errorf("code %q, want SELECT_NOT_ALLOWED: %s", c, a.body)
		}
	}
	if !strings.Contains(string(a.body), "path expression") {
		t.Errorf("the refusal does not say what is allowed: %s", a.body)
	}
	if grown := heapMB() - before; grown > 64 {
		t.Errorf("the heap grew by %.0f MiB", grown)
	}
	// A path select still narrows the answer.
	a = gqlPost(t, base, map[string]string{"query": `{ run(pipeline: "productSearch", params: {q: "milk"}, select: ".products[0].id") { data } }`})
	if !strings.Contains(string(a.body), `"data":{"run":{"data":"p`) {
		t.Errorf("a path select: %s", a.body)
	}
}

// gqlSocket is a graphql-transport-ws connection.
type gqlSocket struct {
	t   *testing.T
	ctx context.Context
	c   *websocket.Conn
}

type gqlMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

func dialGraphQL(t *testing.T, ctx context.Context, base string) *gqlSocket {
	t.Helper()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/graphql",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(1 << 20)
	t.Cleanup(func() { _ = c.CloseNow() })
	s := &gqlSocket{t: t, ctx: ctx, c: c}
	s.send(map[string]any{"type": "connection_init"})
	if m := s.read(); m.Type != "connection_ack" {
		t.Fatalf("got %+v, want connection_ack", m)
	}
	return s
}

func (s *gqlSocket) send(m any) {
	s.t.Helper()
	if err := wsjson.Write(s.ctx, s.c, m); err != nil {
		s.t.Fatal(err)
	}
}

func (s *gqlSocket) subscribe(id, query string) {
	s.t.Helper()
	s.send(map[string]any{"id": id, "type": "subscribe", "payload": map[string]any{"query": query}})
}

// read returns the next message that is not a ping or pong.
func (s *gqlSocket) read() gqlMessage {
	s.t.Helper()
	for {
		var m gqlMessage
		if err := wsjson.Read(s.ctx, s.c, &m); err != nil {
			s.t.Fatalf("read: %v", err)
		}
		if m.Type != "ping" && m.Type != "pong" {
			return m
		}
	}
}

// errorCode is the first extensions.code of an error message's payload.
func (m gqlMessage) errorCode() string {
	var errs []struct {
		Extensions map[string]any `json:"extensions"`
	}
	if json.Unmarshal(m.Payload, &errs) != nil || len(errs) == 0 {
		return ""
	}
	c, _ := errs[0].Extensions["code"].(string)
	return c
}

// Finding 2: one WebSocket, a flood of subscribes. Past the cap each is
// refused with an error message for its id; the goroutines stay bounded.
func TestGraphQLSubscriptionFlood(t *testing.T) {
	base := gqlGateway(t, func(gw *gateway.Config) {
		gw.GraphQL.MaxOperationsPerConnection = 10
		gw.GraphQL.MaxSubscriptionsPerClient = 15
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	goroutines := runtime.NumGoroutine()
	const flood = 200
	ws := dialGraphQL(t, ctx, base)
	for i := range flood {
		ws.subscribe(fmt.Sprint(i), "subscription { runs { pipeline } }")
	}
	refused := map[string]bool{}
	for len(refused) < flood-10 {
		m := ws.read()
		if m.Type != "error" || m.errorCode() != "TOO_MANY_OPERATIONS" {
			t.Fatalf("got %s %s, want error TOO_MANY_OPERATIONS", m.Type, m.Payload)
		}
		refused[m.ID] = true
	}
	if n := runtime.NumGoroutine() - goroutines; n > 150 {
		t.Errorf("%d goroutines more after %d subscribes", n, flood)
	}

	// The socket goes on: its ten subscriptions see the traffic.
	if a := do(t, request(t, http.MethodGet, base+"/v1/products?q=milk", "")); a.status != http.StatusOK {
		t.Fatalf("REST call: %d %s", a.status, a.body)
	}
	seen := map[string]bool{}
	for len(seen) < 10 {
		m := ws.read()
		if m.Type != "next" || refused[m.ID] {
			t.Fatalf("got %s for %s: %s", m.Type, m.ID, m.Payload)
		}
		seen[m.ID] = true
	}

	// Per client: a second socket gets 5 more, the 16th is refused, and
	// so is an SSE subscription from the same address.
	ws2 := dialGraphQL(t, ctx, base)
	for i := range 6 {
		ws2.subscribe(fmt.Sprint(i), "subscription { runs { pipeline } }")
	}
	if m := ws2.read(); m.Type != "error" || m.errorCode() != "TOO_MANY_SUBSCRIPTIONS" {
		t.Fatalf("the 16th subscription: %s %s, want error TOO_MANY_SUBSCRIPTIONS", m.Type, m.Payload)
	}
	sse := do(t, request(t, http.MethodPost, base+"/graphql", `{"query":"subscription { runs { pipeline } }"}`,
		"Accept", "text/event-stream"))
	if !strings.Contains(string(sse.body), "TOO_MANY_SUBSCRIPTIONS") {
		t.Errorf("SSE past the per-client bound: %d %s", sse.status, sse.body)
	}
}

// Finding 6: a header no longer lifts the read timeout. Slow bodies
// behind Accept: text/event-stream or Upgrade are cut by the listener's
// read timeout, and do not hold max_concurrent from REST callers.
func TestGraphQLSlowStreamHeaders(t *testing.T) {
	const readTimeout = 300 * time.Millisecond
	base := gqlGateway(t, func(gw *gateway.Config) {
		gw.Server.ReadTimeout = yamlconf.Duration(readTimeout)
		gw.Server.MaxConcurrent = 8
	})
	addr := strings.TrimPrefix(base, "http://")
	var conns []net.Conn
	for i := range 8 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		stream := "Accept: text/event-stream\r\n"
		if i%2 == 1 {
			stream = "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		}
		_, err = fmt.Fprintf(c, "POST /graphql HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n%sContent-Length: 102400\r\n\r\n{\"q", addr, stream)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	// Each is cut: the server answers or closes within a few read
	// timeouts, instead of waiting for the 100 KB.
	for i, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(20 * readTimeout))
		if _, err := io.Copy(io.Discard, c); err != nil {
			t.Errorf("slow connection %d still open after %v: %v", i, 20*readTimeout, err)
		}
	}
	if a := do(t, request(t, http.MethodGet, base+"/v1/products?q=milk", "")); a.status != http.StatusOK {
		t.Errorf("REST call after eight slow stream requests: %d %s", a.status, a.body)
	}
}

// Finding 7: big queries are refused before they are hashed or cached,
// and the caches are bounded by bytes.
func TestGraphQLBigQueries(t *testing.T) {
	base := gqlGateway(t, nil)
	before := heapMB()
	for i := range 50 {
		q := "{" + strings.Repeat(" ", 900_000) + fmt.Sprintf("__typename } # %d", i)
		sum := sha256.Sum256([]byte(q))
		a := gqlPost(t, base, map[string]any{"query": q, "extensions": map[string]any{
			"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}}})
		if codes := gqlCodes(t, a); a.status != http.StatusRequestEntityTooLarge || len(codes) != 1 || codes[0] != "QUERY_TOO_LARGE" {
			t.Fatalf("a 900 KB query: %d %s", a.status, a.body)
		}
		g := do(t, request(t, http.MethodGet, base+"/graphql?query="+strings.Repeat("+", 40_000)+"%7B__typename%7D", ""))
		if g.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("a 40 KB GET query: %d %s", g.status, g.body)
		}
	}
	// Queries under the bounds, each as dense as they allow (500 fields,
	// graphql.max_complexity): the parse cache keeps what its byte budget
	// holds, not every one.
	for i := range 100 {
		var q strings.Builder
		fmt.Fprintf(&q, "{ # %d\n", i)
		for j := range 500 {
			fmt.Fprintf(&q, "a%d:__typename ", j)
		}
		q.WriteString("}")
		if a := gqlPost(t, base, map[string]any{"query": q.String()}); a.status != http.StatusOK {
			t.Fatalf("a dense query: %d %.200s", a.status, a.body)
		}
	}
	if grown := heapMB() - before; grown > 96 {
		t.Errorf("the heap grew by %.0f MiB", grown)
	}

	// Over a WebSocket the same bound answers with an error message.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws := dialGraphQL(t, ctx, base)
	ws.subscribe("big", "subscription { runs { pipeline } }"+strings.Repeat(" ", 40_000))
	m := ws.read()
	if m.ID != "big" || !strings.Contains(string(m.Payload), "QUERY_TOO_LARGE") {
		t.Errorf("a 40 KB subscribe: %s %s", m.Type, m.Payload)
	}
}

// Finding 8: an anonymous subscriber does not see what another anonymous
// caller asked for, only its own connection's calls in full.
func TestGraphQLAnonymousWatchers(t *testing.T) {
	base := gqlGateway(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ws := dialGraphQL(t, ctx, base)
	ws.subscribe("watch", "subscription { runs { surface path steps { url } } }")
	// The subscription is set up once it sees a call: poll with calls.
	var first gqlMessage
	got := make(chan gqlMessage, 64)
	go func() {
		for {
			var m gqlMessage
			if err := wsjson.Read(ctx, ws.c, &m); err != nil {
				close(got)
				return
			}
			if m.Type == "next" {
				got <- m
			}
		}
	}()
	for first.Type == "" {
		do(t, request(t, http.MethodGet, base+"/v1/cities/Paris/deals", ""))
		select {
		case first = <-got:
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("no event")
		}
	}
	do(t, request(t, http.MethodGet, base+"/v1/markets/nearest?lat=48.8566&lon=2.3522", ""))
	// Its own run, over the same socket, is shown in full.
	ws.send(map[string]any{"id": "own", "type": "subscribe", "payload": map[string]any{
		"query": `{ run(pipeline: "cityDeals", params: {city: "Madrid"}) { status } }`}})
	var all []string
	for !strings.Contains(strings.Join(all, "\n"), "Madrid") {
		select {
		case m, ok := <-got:
			if !ok {
				t.Fatal("the socket closed")
			}
			all = append(all, string(m.Payload))
		case <-ctx.Done():
			t.Fatalf("the subscriber never saw its own run in full:\n%s", strings.Join(all, "\n"))
		}
	}
	seen := string(first.Payload) + "\n" + strings.Join(all, "\n")
	for _, secret := range []string{"Paris", "48.8566", "2.3522", "127.0.0.1"} {
		if strings.Contains(seen, secret) {
			t.Errorf("an anonymous subscriber sees %q of another anonymous caller:\n%s", secret, seen)
		}
	}
	if !strings.Contains(seen, "/v1/cities/{city}/deals") {
		t.Errorf("other callers' calls are not shown by route:\n%s", seen)
	}
}

// TestGraphQLValidationBomb: documents that are cheap to send and cost
// validation time quadratic in their fields (the review's 2,900
// `__typename`s took half a second of CPU each) are refused before
// validation, by the parser's token limit or by their shape.
func TestGraphQLValidationBomb(t *testing.T) {
	base := gqlGateway(t, nil)
	fragments := func(n, each int) string {
		var b strings.Builder
		b.WriteString("{")
		for f := range n {
			fmt.Fprintf(&b, " ...F%d", f)
		}
		b.WriteString(" }")
		for f := range n {
			fmt.Fprintf(&b, " fragment F%d on Query {%s }", f, strings.Repeat(" __typename", each))
		}
		return b.String()
	}
	cases := []struct{ name, query, code, says string }{
		{"2,900 __typename", "{" + strings.Repeat(" __typename", 2900) + " }", "GRAPHQL_PARSE_FAILED", "token limit"},
		{"1,990 __typename", "{" + strings.Repeat(" __typename", 1990) + " }", "TOO_MANY_FIELDS", "selects 1990 fields"},
		{"one alias 600 times", "{" + strings.Repeat(" a: __typename", 600) + " }", "TOO_MANY_FIELDS", "selects 600 fields"},
		{"through 30 fragments", fragments(30, 15), "TOO_MANY_FIELDS", "more than 16 times in one selection set"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := gqlPost(t, base, map[string]any{"query": c.query})
			if codes := gqlCodes(t, a); len(codes) != 1 || codes[0] != c.code || !strings.Contains(string(a.body), c.says) {
				t.Fatalf("%d %.300s; want one %s error saying %q", a.status, a.body, c.code, c.says)
			}
		})
	}
}

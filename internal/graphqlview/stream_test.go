package graphqlview

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// waitFor polls cond until it holds or five seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// rest calls a REST path of the gateway and checks it answered.
func (g *harness) rest(t *testing.T, method, path, user, body string) {
	t.Helper()
	req, _ := http.NewRequest(method, g.url+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		req.Header.Set(testUserHeader, user)
	}
	if r := do(t, req); r.status != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, path, r.status, r.body)
	}
}

type runEvent struct {
	Surface  string `json:"surface"`
	Pipeline string `json:"pipeline"`
	Status   int    `json:"status"`
	Steps    []struct {
		Name  string `json:"name"`
		Calls int    `json:"calls"`
	} `json:"steps"`
}

// TestRunsOverWebSocket subscribes with graphql-transport-ws and sees the
// runs of REST calls, only of the pipelines the subscriber may call.
func TestRunsOverWebSocket(t *testing.T) {
	g := startGateway(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(g.url, "http")+Path,
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	type msg struct {
		ID      string          `json:"id,omitempty"`
		Type    string          `json:"type"`
		Payload json.RawMessage `json:"payload,omitempty"`
	}
	send := func(m any) {
		if err := wsjson.Write(ctx, c, m); err != nil {
			t.Fatal(err)
		}
	}
	read := func() msg {
		for {
			var m msg
			if err := wsjson.Read(ctx, c, &m); err != nil {
				t.Fatalf("read: %v", err)
			}
			if m.Type != "ping" && m.Type != "pong" {
				return m
			}
		}
	}
	send(map[string]any{"type": "connection_init"})
	if m := read(); m.Type != "connection_ack" {
		t.Fatalf("got %+v, want connection_ack", m)
	}
	send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
		"query": `subscription { runs { surface pipeline status steps { name calls } } }`,
	}})
	waitFor(t, "the subscription", func() bool { return g.view.Feed().Subscribers() == 1 })

	// placeOrder needs role buyer: an anonymous subscriber does not see it.
	g.rest(t, "POST", "/v1/orders", "ann:buyer", `{"market_id":"ber-01","items":[{"product_id":"p1001","quantity":1}]}`)
	g.rest(t, "GET", "/v1/markets/nearest?lat=52.52&lon=13.405", "", "")
	m := read()
	var next struct {
		Data struct {
			Runs runEvent `json:"runs"`
		} `json:"data"`
	}
	if err := json.Unmarshal(m.Payload, &next); err != nil || m.Type != "next" {
		t.Fatalf("got %s %s", m.Type, m.Payload)
	}
	ev := next.Data.Runs
	if ev.Surface != "REST" || ev.Pipeline != "nearestMarkets" || ev.Status != 200 || len(ev.Steps) != 2 || ev.Steps[0].Calls != 1 {
		t.Errorf("event %+v, want the REST call of nearestMarkets with its two steps", ev)
	}

	// Closing the view (the gateway draining) completes the subscription.
	g.view.Close()
	if m := read(); m.Type != "complete" || m.ID != "1" {
		t.Errorf("after Close got %+v, want complete", m)
	}
}

// TestRunsOverSSE subscribes with Accept: text/event-stream.
func TestRunsOverSSE(t *testing.T) {
	g := startGateway(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	body := `{"query":"subscription { runs(pipeline: \"cityDeals\") { surface pipeline status errorCode } }"}`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, g.url+Path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q, want text/event-stream", ct)
	}
	waitFor(t, "the subscription", func() bool { return g.view.Feed().Subscribers() == 1 })
	g.rest(t, "GET", "/v1/markets/nearest?lat=52.52&lon=13.405", "", "") // another pipeline: filtered out
	r := g.query(t, `{ run(pipeline: "cityDeals", params: {city: "Atlantis"}) { status } }`, nil, nil)
	if !strings.Contains(string(r.body), `"status":404`) {
		t.Fatalf("run of cityDeals for Atlantis: %s", r.body)
	}
	sc := bufio.NewScanner(resp.Body)
	var data string
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			data = d
			break
		}
	}
	want := `{"data":{"runs":{"surface":"GRAPHQL","pipeline":"cityDeals","status":404,"errorCode":"NOT_FOUND"}}}`
	if data != want {
		t.Errorf("event %s\nwant  %s", data, want)
	}
	g.view.Close()
	var rest strings.Builder
	for sc.Scan() {
		rest.WriteString(sc.Text() + "\n")
	}
	if !strings.Contains(rest.String(), "event: complete") {
		t.Errorf("after Close the stream ends without a complete event:\n%s", rest.String())
	}
}

// TestStreamsOutliveListenerTimeouts: the listener's read and write
// timeouts bound single answers, not subscriptions.
func TestStreamsOutliveListenerTimeouts(t *testing.T) {
	const timeout = 200 * time.Millisecond
	g := startGatewayWith(t, nil, func(s *http.Server) { s.ReadTimeout, s.WriteTimeout = timeout, timeout })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	body := `{"query":"subscription { runs { pipeline } }"}`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, g.url+Path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(g.url, "http")+Path,
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	_ = wsjson.Write(ctx, ws, map[string]any{"type": "connection_init"})
	_ = wsjson.Write(ctx, ws, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": "subscription { runs { pipeline } }"}})
	waitFor(t, "both subscriptions", func() bool { return g.view.Feed().Subscribers() == 2 })
	time.Sleep(3 * timeout) // past both timeouts: the point of the test
	g.rest(t, "GET", "/v1/markets/nearest?lat=52.52&lon=13.405", "", "")
	sc := bufio.NewScanner(resp.Body)
	var sse string
	for sse == "" && sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			sse = d
		}
	}
	if !strings.Contains(sse, "nearestMarkets") {
		t.Errorf("SSE after the timeouts: %q, err %v", sse, sc.Err())
	}
	for {
		var m struct{ Type string }
		if err := wsjson.Read(ctx, ws, &m); err != nil {
			t.Fatalf("WebSocket after the timeouts: %v", err)
		}
		if m.Type == "next" {
			break
		}
	}
}

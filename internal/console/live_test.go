package console_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestLiveStreamsCalls: a signed-in event stream receives a REST call
// to the gateway as a `call` event carrying its request id, pipeline,
// status and consumer.
func TestLiveStreamsCalls(t *testing.T) {
	d := startDemo(t)
	c := browser(t)
	signIn(t, c, d)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, d.admin+"/console/live/events", nil)
	stream := &http.Client{Jar: c.Jar} // no client timeout: the context bounds it
	resp, err := stream.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("event stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := bufio.NewScanner(resp.Body)
	if !lines.Scan() || lines.Text() != ": live calls" {
		t.Fatalf("the stream did not start: %q", lines.Text())
	}
	call, err := http.NewRequest(http.MethodGet, d.base+"/v1/products?q=milk", nil)
	if err != nil {
		t.Fatal(err)
	}
	call.Header.Set("X-API-Key", "demo-reader-key")
	answer, err := http.DefaultClient.Do(call)
	if err != nil {
		t.Fatal(err)
	}
	answer.Body.Close()
	id := answer.Header.Get("Manifold-Request-Id")
	for lines.Scan() {
		data, ok := strings.CutPrefix(lines.Text(), "data: ")
		if !ok {
			continue
		}
		var ev struct {
			ID, Pipeline, Consumer string
			Status                 int
		}
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatalf("event data %q: %v", data, err)
		}
		if ev.ID == id {
			if ev.Pipeline != "productSearch" || ev.Status != answer.StatusCode || ev.Consumer != "key:demo_reader" {
				t.Errorf("event %+v, want productSearch, %d, key:demo_reader", ev, answer.StatusCode)
			}
			return
		}
	}
	t.Fatalf("the call %s never came on the stream: %v", id, lines.Err())
}

package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/logtest"
)

func TestTail(t *testing.T) {
	p := start(t, Config{DataDir: t.TempDir(), InProcess: true}, nil)
	for i, name := range []string{"cityDeals", "productSearch", "cityDeals"} {
		p.Record(context.Background(), call(i, name))
	}
	_ = p.Admin(context.Background(), "reload", map[string]any{"by": "test"})
	eventually(t, 5*time.Second, "events stored", func() bool { return p.Stats().Published == 4 })
	nc := connectTo(t, p.conn.Server())

	for _, tc := range []struct {
		name  string
		opts  TailOptions
		lines []string // substrings of the output, each on its own line, in order
		// anywhere are substrings in any order: events of different
		// pipelines gathered together are stored in one batch per pipeline.
		anywhere []string
	}{
		{"everything, for people", TailOptions{}, []string{
			"cityDeals  GET /v1/cityDeals  200  1.5ms  rest  client=127.0.0.1 consumer=chatgpt cache=miss incomplete=translate  req=req-0000",
			"translate    translation  503", `cache=none breaker=closed attempts=2  error="step translate: upstream translation answered 503"`,
			"req=req-0002",
		}, []string{"productSearch  GET", "req=req-0001", `admin  reload  {"by":"test"}`}},
		{"one pipeline", TailOptions{Pipeline: "productSearch"}, []string{"req=req-0001"}, nil},
		{"since a minute (events are stored now)", TailOptions{Since: time.Minute, Pipeline: "cityDeals"}, []string{"req=req-0000", "req=req-0002"}, nil},
		{"json", TailOptions{JSON: true, Pipeline: "productSearch"}, []string{`"specversion":"1.0"`}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := Tail(context.Background(), nc, tc.opts, &out); err != nil {
				t.Fatalf("Tail: %v", err)
			}
			text := out.String()
			for _, want := range tc.lines {
				i := strings.Index(text, want)
				if i < 0 {
					t.Fatalf("output lacks %q (or not in order):\n%s", want, out.String())
				}
				text = text[i+len(want):]
			}
			for _, want := range tc.anywhere {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
			if tc.opts.Pipeline == "productSearch" && strings.Contains(out.String(), "cityDeals") {
				t.Errorf("filtered output shows other pipelines:\n%s", out.String())
			}
			if tc.opts.JSON {
				var ev Event
				if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &ev); err != nil || ev.Type != TypeCall {
					t.Errorf("--json line is not one event (%v):\n%s", err, out.String())
				}
			}
		})
	}
}

// TestTailFollow prints events as they arrive until its context ends.
func TestTailFollow(t *testing.T) {
	p := start(t, Config{DataDir: t.TempDir(), InProcess: true}, nil)
	nc := connectTo(t, p.conn.Server())
	ctx, cancel := context.WithCancel(context.Background())
	out := &logtest.Buffer{}
	done := make(chan error, 1)
	go func() { done <- Tail(ctx, nc, TailOptions{Follow: true}, out) }()
	p.Record(context.Background(), call(7, "cityDeals"))
	eventually(t, 5*time.Second, "the new event printed", func() bool { return strings.Contains(out.String(), "req=req-0007") })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Tail returned %v after its context ended", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Tail did not stop after its context ended")
	}
}

func TestTailWithoutStream(t *testing.T) {
	ns := natsServer(t, -1, t.TempDir())
	err := Tail(context.Background(), connectTo(t, ns), TailOptions{}, &bytes.Buffer{})
	if !errors.Is(err, ErrNoStream) {
		t.Errorf("Tail without a stream: %v, want ErrNoStream", err)
	}
}

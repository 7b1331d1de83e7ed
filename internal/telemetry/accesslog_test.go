package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"regexp"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/manifoldgw/manifold/internal/server"
)

func tracedContext() context.Context {
	return trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5, 6}, TraceFlags: trace.FlagsSampled,
	}))
}

func exchange() *server.Exchange {
	return &server.Exchange{
		Method: "GET", Route: "GET /v1/cities/{city}/deals", Path: "/v1/cities/Zürich \"x\"=<a>\n/deals", Status: 200, Bytes: 612,
		Duration: 1234 * time.Microsecond, RequestID: "38ef62bb8cb362549a67d6b0", Client: "127.0.0.1",
		Pipelines: []string{"cityDeals", "other"}, Consumer: "key:shop", Cache: "miss",
	}
}

var timeField = regexp.MustCompile(`("time":"[^"]*"|time=\S+)`)

// TestDirectAccessLineMatchesSlog: the access line written directly is
// the line slog's JSON and text handlers write for the same request
// (time aside), so log readers see one format.
func TestDirectAccessLineMatchesSlog(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		handler := func(w io.Writer) slog.Handler {
			if format == "json" {
				return slog.NewJSONHandler(w, nil)
			}
			return slog.NewTextHandler(w, nil)
		}
		var viaSlog, direct bytes.Buffer
		slowT := &Telemetry{log: slog.New(LogHandler(handler(&viaSlog)))}
		fastT := &Telemetry{log: slog.New(LogHandler(handler(&direct))), direct: &AccessLog{W: &direct, JSON: format == "json"}}
		for _, x := range []*server.Exchange{exchange(), {Method: "GET", Route: "GET /healthz", Path: "/healthz", Status: 503}} {
			slowT.access(tracedContext(), x)
			fastT.access(tracedContext(), x)
		}
		want := timeField.ReplaceAllString(viaSlog.String(), "TIME")
		got := timeField.ReplaceAllString(direct.String(), "TIME")
		if got != want {
			t.Errorf("%s: direct line\n%s\nslog writes\n%s", format, got, want)
		}
		if format == "json" {
			var m map[string]any
			if err := json.Unmarshal(bytes.SplitN(direct.Bytes(), []byte("\n"), 2)[0], &m); err != nil || m["time"] == "" {
				t.Errorf("direct JSON line does not parse: %v", err)
			}
		}
	}
}

// BenchmarkAccessLineDirect is BenchmarkAccessLine written directly (what
// manifold serve does).
func BenchmarkAccessLineDirect(b *testing.B) {
	w := NewLogWriter(io.Discard, LogWriterOptions{})
	defer w.Close()
	tel := &Telemetry{log: slog.New(LogHandler(slog.NewJSONHandler(w, nil))), direct: &AccessLog{W: w, JSON: true}}
	ctx, x := tracedContext(), exchange()
	b.ReportAllocs()
	for b.Loop() {
		tel.access(ctx, x)
	}
}

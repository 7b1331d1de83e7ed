package telemetry

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/manifoldgw/manifold/internal/logtest"
	"github.com/manifoldgw/manifold/internal/server"
)

// TestLogWriterFlushes: lines reach the output without Close, on the
// flush interval, and Close writes the rest in order.
func TestLogWriterFlushes(t *testing.T) {
	var out logtest.Buffer
	w := NewLogWriter(&out, LogWriterOptions{Flush: 10 * time.Millisecond})
	log := slog.New(slog.NewJSONHandler(w, nil))
	log.Info("first")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), `"msg":"first"`) {
		if time.Now().After(deadline) {
			t.Fatal("the line was not flushed within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	log.Info("second")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	log.Info("after close")
	got := out.String()
	if i, j := strings.Index(got, "second"), strings.Index(got, "after close"); i < 0 || j < i {
		t.Errorf("output %q; want second then after close", got)
	}
}

// blockedWriter blocks every write until release is closed, like a disk
// that stopped answering.
type blockedWriter struct {
	release chan struct{}
	entered chan struct{}
	once    sync.Once
	out     logtest.Buffer
}

func (b *blockedWriter) Write(p []byte) (int, error) {
	b.once.Do(func() { close(b.entered) })
	<-b.release
	return b.out.Write(p)
}

// TestLogWriterNeverBlocks: while the output is stuck, Write keeps
// returning; lines past the bound are dropped, and once the output moves
// again the log says how many.
func TestLogWriterNeverBlocks(t *testing.T) {
	out := &blockedWriter{release: make(chan struct{}), entered: make(chan struct{})}
	w := NewLogWriter(out, LogWriterOptions{Flush: time.Millisecond, MaxBuffer: 1 << 10})
	line := []byte(strings.Repeat("x", 99) + "\n")
	_, _ = w.Write(line)
	<-out.entered // the flusher is stuck in the output now
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 100 { // 10 KB against a 1 KiB bound
			_, _ = w.Write(line)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Write blocked on a stuck output")
	}
	close(out.release)
	_ = w.Close()
	got := out.out.String()
	if n := strings.Count(got, strings.Repeat("x", 99)); n < 2 || n > 12 {
		t.Errorf("%d lines written; want the first and those within the 1 KiB bound", n)
	}
	if !strings.Contains(got, `"msg":"log lines dropped: the log output is too slow","dropped":`) {
		t.Errorf("output lacks the dropped count:\n%s", got)
	}
}

// BenchmarkAccessLine is one access log line at info: the JSON handler
// (with the trace ids the gateway's LogHandler adds) into the buffered
// LogWriter, whose flusher writes to io.Discard.
func BenchmarkAccessLine(b *testing.B) {
	w := NewLogWriter(io.Discard, LogWriterOptions{})
	defer w.Close()
	tel := &Telemetry{log: slog.New(LogHandler(slog.NewJSONHandler(w, nil)))}
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5, 6}, TraceFlags: trace.FlagsSampled,
	}))
	x := &server.Exchange{
		Method: "GET", Route: "GET /v1/fanout", Path: "/v1/fanout", Status: 200, Bytes: 612,
		Duration: 1234 * time.Microsecond, RequestID: "38ef62bb8cb362549a67d6b0", Client: "127.0.0.1",
		Pipelines: []string{"fanOut"}, Cache: "miss",
	}
	b.ReportAllocs()
	for b.Loop() {
		tel.access(ctx, x)
	}
}

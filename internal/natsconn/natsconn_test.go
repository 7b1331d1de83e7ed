package natsconn

import (
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/natstest"
)

// TestEmbeddedInProcess: the embedded server starts with JetStream on the
// store directory, serves in-process connections only, and Close stops it.
func TestEmbeddedInProcess(t *testing.T) {
	var connected atomic.Int32
	c, err := Open(Options{URL: Embedded, InProcess: true, Listen: "127.0.0.1:0", StoreDir: filepath.Join(t.TempDir(), "nats"),
		OnConnect: func() { connected.Add(1) }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Embedded() || c.URL() != "" || !c.NC.IsConnected() {
		t.Errorf("embedded %v, url %q, connected %v", c.Embedded(), c.URL(), c.NC.IsConnected())
	}
	if _, err := c.NC.JetStream(); err != nil {
		t.Error(err)
	}
	c.Close()
	if c.Server().Running() {
		t.Error("the embedded server still runs after Close")
	}
}

// TestExternalReconnects: a connection to external servers that start
// later connects by itself and tells its listeners; the token of a URL
// never shows in the log.
func TestExternalReconnects(t *testing.T) {
	logs := &lockedWriter{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	c, err := Open(Options{URL: "nats://s3cr3t@127.0.0.1:1"}, log)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if strings.Contains(logs.String(), "s3cr3t") {
		t.Errorf("the token shows in the log:\n%s", logs.String())
	}

	srv := natstest.Server(t)
	var heard atomic.Int32
	c, err = Open(Options{URL: srv.URL(), OnConnect: func() { heard.Add(1) }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	srv.Stop()
	waitFor(t, "disconnected", func() bool { return !c.NC.IsConnected() })
	before := heard.Load()
	srv.Start()
	waitFor(t, "the reconnect heard", func() bool { return heard.Load() > before && c.NC.IsConnected() })
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 15s: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lockedWriter serialises the writes of the logger's goroutines.
type lockedWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

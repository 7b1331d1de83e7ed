package soak

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/demo"
	"github.com/manifoldgw/manifold/internal/launch"
	"github.com/manifoldgw/manifold/internal/launch/launchtest"
	"github.com/manifoldgw/manifold/internal/natstest"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// stack is what a soak runs: the demo backends, a second deals backend
// that flaps, an external nats-server for audit, and the gateway serving a
// copy of the demo pipeline directory, reloading it when it changes.
type stack struct {
	base  string // the gateway's URL
	dir   string // the copied pipeline directory
	nats  *natstest.Node
	deals *flapper
}

// flapped is the upstream whose backend goes down and comes back.
const flapped = "deals"

func startStack(t *testing.T) *stack {
	t.Helper()
	st := &stack{dir: t.TempDir(), nats: natstest.Server(t)}
	backends, err := demo.Start(demo.Options{})
	if err != nil {
		t.Fatalf("demo backends: %v", err)
	}
	t.Cleanup(func() { shutdown(t, backends) })
	st.deals = startFlapper(t)
	env := backends.Env()
	env["MANIFOLD_DEMO_DEALS_URL"] = st.deals.url

	if err := os.CopyFS(st.dir, os.DirFS(filepath.Join("..", "..", "pipelines"))); err != nil {
		t.Fatalf("copying the demo pipelines: %v", err)
	}
	shortCaches(t, st.dir)
	// The de-duplication window is 30s instead of 2m: the nats-server
	// keeps every message id of the window in the heap this test measures
	// (about 160 bytes each), and the window must still span the NATS
	// outage (at most 10s, see chaos).
	audit := fmt.Sprintf("\naudit: {nats: %q, data_dir: %q, duplicates: 30s}\n", st.nats.URL(), t.TempDir())
	appendFile(t, filepath.Join(st.dir, "gateway.yaml"), audit)
	lo := pipeline.LoadOptions{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	plan, err := pipeline.LoadDir(st.dir, lo)
	if err != nil {
		t.Fatalf("loading the demo copy: %v", err)
	}
	st.base, _ = launchtest.Serve(t, plan, launch.Options{
		Dir: st.dir, LoadOptions: lo, Logger: slog.New(slog.DiscardHandler),
	})
	return st
}

// cacheKey is a pipeline's or a step's cache duration.
var cacheKey = regexp.MustCompile(`(?m)^(\s*)cache: \d+[smh]\s*$`)

// shortCaches cuts every pipeline and step cache of the copy to 1s: with
// the demo's 30s to 5m, the load would be answered from the caches and
// the backends (and their flaps) would hardly be called.
func shortCaches(t *testing.T, dir string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, cacheKey.ReplaceAll(src, []byte("${1}cache: 1s")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func shutdown(t *testing.T, b *demo.Backends) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Shutdown(ctx); err != nil {
		t.Errorf("demo backends shutdown: %v", err)
	}
}

func appendFile(t *testing.T, name, text string) {
	t.Helper()
	f, err := os.OpenFile(name, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// flapper is a demo deals backend that goes down (its listener and
// connections closed: calls are refused) and comes back on the same port.
type flapper struct {
	t        *testing.T
	url      string
	backends *demo.Backends // nil while down
}

func startFlapper(t *testing.T) *flapper {
	t.Helper()
	b, err := demo.Start(demo.Options{})
	if err != nil {
		t.Fatalf("deals backend: %v", err)
	}
	f := &flapper{t: t, url: b.Deals, backends: b}
	t.Cleanup(f.down)
	return f
}

// down stops the backend: new calls are refused at once.
func (f *flapper) down() {
	if f.backends != nil {
		shutdown(f.t, f.backends)
		f.backends = nil
	}
}

// up starts the backend again on its port. The port was just released,
// so a moment of retrying covers another process taking it meanwhile.
func (f *flapper) up() {
	u, err := url.Parse(f.url)
	if err != nil {
		f.t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := demo.Start(demo.Options{Addrs: map[string]string{"deals": u.Host}})
		if err == nil {
			f.backends = b
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("the deals backend did not come back on %s: %v", u.Host, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

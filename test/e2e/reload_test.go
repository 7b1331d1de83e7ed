package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/launch"
)

// steadyLoad sends GET url from several goroutines until stopped,
// counting the answers that are not 200.
type steadyLoad struct {
	client     *http.Client
	ok, failed atomic.Int64
	mu         sync.Mutex
	errs       []string
	stop       chan struct{}
	wg         sync.WaitGroup
}

func startLoad(url string, workers int) *steadyLoad {
	l := &steadyLoad{stop: make(chan struct{}), client: &http.Client{Transport: &http.Transport{}}}
	for range workers {
		l.wg.Go(func() {
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				if err := l.one(url); err != nil {
					l.failed.Add(1)
					l.mu.Lock()
					l.errs = append(l.errs, err.Error())
					l.mu.Unlock()
					continue
				}
				l.ok.Add(1)
			}
		})
	}
	return l
}

func (l *steadyLoad) one(url string) error {
	resp, err := l.client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d: %s", resp.StatusCode, body)
	}
	return nil
}

// waitMore waits until n more requests succeeded.
func (l *steadyLoad) waitMore(t *testing.T, n int64) {
	t.Helper()
	want := l.ok.Load() + n
	deadline := time.Now().Add(5 * time.Second)
	for l.ok.Load() < want {
		if time.Now().After(deadline) {
			t.Fatalf("load stalled at %d requests (%d failed)", l.ok.Load(), l.failed.Load())
		}
		time.Sleep(time.Millisecond)
	}
}

// finish stops the load and fails the test if any request failed.
func (l *steadyLoad) finish(t *testing.T) {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	// Connections dialled but never used would hold the gateway's
	// shutdown for 5s (net/http counts them as new, not idle).
	l.client.CloseIdleConnections()
	if n := l.failed.Load(); n > 0 {
		t.Errorf("%d of %d requests failed under reload, first: %s", n, n+l.ok.Load(), l.errs[0])
	}
	if l.ok.Load() == 0 {
		t.Error("no request succeeded")
	}
}

// waitVersion polls url until its answer's "version" is want, and returns
// how long that took.
func waitVersion(t *testing.T, url string, want int, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		resp, err := http.Get(url)
		if err == nil {
			var v struct{ Version int }
			_ = json.NewDecoder(resp.Body).Decode(&v)
			resp.Body.Close()
			if v.Version == want {
				return time.Since(start)
			}
		}
		if time.Since(start) > within {
			t.Fatalf("version %d not served within %s", want, within)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func pipelineA(version int) string {
	return fmt.Sprintf("name: a\npath: /a\nsteps:\n  s: {upstream: up, path: /x, cache: 1m}\noutput: \"{version: %d, v: .s.v}\"\n", version)
}

// TestReloadUnderLoad edits a pipeline file while requests flow: the new
// behaviour is served within a second and no request fails; the unchanged
// upstream keeps its breaker override and cache entries. Then a broken
// edit: no request fails, the old behaviour stays, and the error is
// reported with its file:line:column by the admin API and the metrics.
func TestReloadUnderLoad(t *testing.T) {
	up, side := newCounting(t, `{"v":"x"}`), newCounting(t, `{}`)
	g := serveOps(t, map[string]string{
		"gateway.yaml": fmt.Sprintf("upstreams:\n  up: {url: %q}\n  side: {url: %q}\n", up.URL, side.URL),
		"a.yaml":       pipelineA(1),
	}, nil, launch.Options{})
	waitVersion(t, g.base+"/a", 1, time.Second)
	g.adminJSON(t, "PUT", "/upstreams/side/breaker", `{"state":"open"}`, 200)
	load := startLoad(g.base+"/a", 4)
	defer load.finish(t)
	load.waitMore(t, 50) // traffic before the edit
	calls := up.calls.Load()

	writeFile(t, g.dir, "a.yaml", pipelineA(2))
	took := waitVersion(t, g.base+"/a", 2, 5*time.Second)
	if took > time.Second {
		t.Errorf("the edit was served after %s, want within a second", took)
	}
	t.Logf("edit served after %s", took)
	st := g.adminJSON(t, "GET", "/reload", "", 200)
	if st["ok"] != true || st["trigger"] != "file" || fmt.Sprint(st["changed"]) != "[a]" || fmt.Sprint(st["upstreams_kept"]) != "[side up]" {
		t.Errorf("reload status %v, want ok from a file change, a changed, both upstreams kept", st)
	}
	if n := up.calls.Load(); n != calls {
		t.Errorf("upstream called %d more times after the reload, want 0: its step cache entries must survive", n-calls)
	}
	br := g.adminJSON(t, "GET", "/upstreams/side", "", 200)["breaker"].(map[string]any)
	if br["override"] != "open" {
		t.Errorf("breaker of the unchanged upstream after reload: %v, want still forced open", br)
	}

	broken := "name: a\npath: /a\nsteps:\n  s: {upstream: nowhere, path: /x}\noutput: \"{version: 3}\"\n"
	writeFile(t, g.dir, "a.yaml", broken)
	deadline := time.Now().Add(5 * time.Second)
	for st = g.adminJSON(t, "GET", "/reload", "", 200); st["ok"] == true; st = g.adminJSON(t, "GET", "/reload", "", 200) {
		if time.Now().After(deadline) {
			t.Fatal("the broken edit was not reported within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	errs := fmt.Sprint(st["errors"])
	if !regexp.MustCompile(`a\.yaml:4:17: steps\.s\.upstream: .*nowhere`).MatchString(errs) {
		t.Errorf("reload errors %s, want a.yaml:4:17 naming the unknown upstream", errs)
	}
	waitVersion(t, g.base+"/a", 2, time.Second) // still the old plan
	m := scrape(t, g.base)
	if got := value(m, "manifold_config_reloads_total", map[string]string{"manifold_result": "failure"}); got != 1 {
		t.Errorf("failed reloads counted: %v, want 1", got)
	}
	if got := value(m, "manifold_config_last_reload_successful", nil); got != 0 {
		t.Errorf("last_reload_successful: %v, want 0", got)
	}
	load.waitMore(t, 50) // traffic after the broken edit
}

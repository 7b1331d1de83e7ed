//go:build browser

package browser

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/event"
	"github.com/manifoldgw/manifold/internal/launch"
)

// recorded passes the gateway's finished calls to the test.
type recorded chan *event.Call

func (r recorded) Record(_ context.Context, c *event.Call) {
	select {
	case r <- c:
	default:
	}
}

// playgroundQuery is what the test types into GraphiQL (through its URL).
const playgroundQuery = `{
  run(pipeline: "cityDeals",
      params: {city: "Berlin", lang: "de"}) {
    status
    durationMs
    steps {
      name upstream status
      startedAtMs durationMs cache
    }
  }
}`

// runInPage waits for GraphiQL, presses its run button and waits for the
// answer in the response pane; it returns the pane's text, or why not.
const runInPage = `(async () => {
  const until = async (f, ms) => {
    const end = Date.now() + ms;
    for (;;) {
      const v = f();
      if (v) return v;
      if (Date.now() > end) return null;
      await new Promise(r => setTimeout(r, 100));
    }
  };
  const button = await until(() => document.querySelector('.graphiql-execute-button'), 20000);
  if (!button) return 'error: no run button; page: ' + document.body.innerText.slice(0, 300);
  await until(() => document.querySelector('.graphiql-query-editor .CodeMirror'), 5000);
  button.click();
  const pane = () => (document.querySelector('.result-window') || {}).innerText || '';
  const text = await until(() => pane().includes('"durationMs"') && pane(), 20000);
  return text || 'error: no answer; response pane: ' + pane().slice(0, 300);
})()`

// TestGraphiQLRunsAQuery opens the playground in headless Chromium, runs a
// query from it and checks the answer on the page and in the gateway.
func TestGraphiQLRunsAQuery(t *testing.T) {
	bin := os.Getenv("CHROMIUM")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("chromium"); err != nil {
			t.Fatalf("this check needs Chromium (apt-get install chromium, or set CHROMIUM): %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	calls := make(recorded, 64)
	base := startDemo(t, calls)

	browser, err := startChromium(ctx, bin, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer browser.close()
	s := openPage(ctx, t, browser, base+"/graphql?query="+url.QueryEscape(playgroundQuery))
	answer, err := evaluate(ctx, browser, s, runInPage)
	if err != nil {
		t.Fatal(err)
	}
	shot := screenshot(ctx, t, browser, s)
	if strings.HasPrefix(answer, "error:") || !strings.Contains(answer, `"status": 200`) || !strings.Contains(answer, `"markets"`) {
		t.Fatalf("GraphiQL shows no answer of the run (screenshot %s):\n%s", shot, answer)
	}
	// The gateway ran cityDeals for GraphQL: the page's answer is real.
	deadline := time.After(10 * time.Second)
	for {
		select {
		case c := <-calls:
			if c.Surface == event.SurfaceGraphQL && c.Pipeline == "cityDeals" && c.Status == 200 {
				t.Logf("GraphiQL ran cityDeals in %v; screenshot %s", c.Duration, shot)
				return
			}
		case <-deadline:
			t.Fatal("the gateway recorded no GraphQL run of cityDeals")
		}
	}
}

// openPage opens a tab, loads url in it and waits for the document to be
// complete; it returns the tab's session.
func openPage(ctx context.Context, t *testing.T, b *cdp, url string) string {
	t.Helper()
	var target struct{ TargetID string }
	if err := b.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		t.Fatal(err)
	}
	var attached struct{ SessionID string }
	if err := b.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached); err != nil {
		t.Fatal(err)
	}
	s := attached.SessionID
	if err := b.call(ctx, s, "Page.navigate", map[string]any{"url": url}, nil); err != nil {
		t.Fatal(err)
	}
	// Evaluations fail while the navigation replaces the document: poll.
	deadline := time.Now().Add(30 * time.Second)
	for {
		state, err := evaluate(ctx, b, s, `location.protocol + ' ' + document.readyState`)
		if err == nil && state == "http: complete" {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page did not load: %q %v", state, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// evaluate runs a script in the page, awaiting a promise, and returns its
// string value.
func evaluate(ctx context.Context, b *cdp, session, script string) (string, error) {
	var eval struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	params := map[string]any{"expression": script, "awaitPromise": true, "returnByValue": true}
	if err := b.call(ctx, session, "Runtime.evaluate", params, &eval); err != nil {
		return "", err
	}
	if e := eval.ExceptionDetails; e != nil {
		return "", fmt.Errorf("script failed: %s", e.Text)
	}
	s, _ := eval.Result.Value.(string)
	return s, nil
}

// screenshot saves the page to test/out/graphiql.png and returns the path.
func screenshot(ctx context.Context, t *testing.T, b *cdp, session string) string {
	t.Helper()
	var shot struct{ Data string }
	if err := b.call(ctx, session, "Page.captureScreenshot", map[string]any{"format": "png"}, &shot); err != nil {
		t.Errorf("screenshot: %v", err)
		return ""
	}
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		t.Errorf("screenshot: %v", err)
		return ""
	}
	path, _ := filepath.Abs(filepath.Join("..", "out", "graphiql.png"))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Errorf("screenshot: %v", err)
		return ""
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Errorf("screenshot: %v", err)
	}
	return path
}

// startDemo runs the demo on an ephemeral loopback port until the test
// ends, passing every finished call to calls.
func startDemo(t *testing.T, calls event.Recorder) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr, done := make(chan string, 1), make(chan error, 1)
	go func() {
		var out strings.Builder
		done <- launch.Demo(ctx, launch.Options{Listen: "127.0.0.1:0", Recorder: calls, Ready: func(a string) { addr <- a }}, &out)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo shutdown: %v", err)
		}
	})
	select {
	case a := <-addr:
		return launch.BaseURL(a)
	case err := <-done:
		t.Fatalf("demo did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not start within 30s")
	}
	return ""
}

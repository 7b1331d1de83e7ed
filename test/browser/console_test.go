//go:build browser

package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/chromedp"

	"github.com/manifoldgw/manifold/internal/launch"
)

// consoleKey is the admin key the console test's demo runs with.
const consoleKey = "browser-test-admin-key-0123456789"

// TestConsole drives the operator console of the demo in headless
// Chromium (chromedp, Debian's chromium): sign in, the four pipelines, the
// graph of each with a node per step (by accessible name), a run of
// cityDeals with a waterfall bar per step, the markets breaker forced open
// and back to auto, a cache purge, the test's own calls on Live within
// 2s, and a screenshot of every page in test/out/console-*.png.
func TestConsole(t *testing.T) {
	bin := os.Getenv("CHROMIUM")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("chromium"); err != nil {
			t.Fatalf("this check needs Chromium (apt-get install chromium, or set CHROMIUM): %v", err)
		}
	}
	base, adminURL := startConsoleDemo(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 800))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelTab := chromedp.NewContext(actx)
	defer cancelTab()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil { // starts the browser
		t.Fatal(err)
	}
	b := &console{t: t, ctx: ctx, admin: adminURL}
	var steps map[string][]string
	b.run("sign in", func() { b.signIn() })
	b.run("pipelines", func() { steps = b.pipelines() })
	b.run("graphs", func() { b.graphs(steps) })
	b.run("run cityDeals", func() { b.runCityDeals(steps["cityDeals"]) })
	b.run("breaker", func() { b.breaker() })
	b.run("purge", func() { b.purge(base) })
	b.run("live", func() { b.live(base) })
	b.run("config", func() { b.open("/console/config", "#reload-title"); b.shot("config") })
	b.run("narrow", func() { b.narrow() })
}

// console drives one tab of the console.
type console struct {
	t     *testing.T
	ctx   context.Context
	admin string
}

// run runs one part of the scenario with a deadline; a failed part
// stops the test (the next parts build on it).
func (b *console) run(name string, f func()) {
	b.t.Helper()
	b.t.Logf("console: %s", name)
	f()
}

// do runs chromedp actions with a deadline, failing the test on error.
func (b *console) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.shot("failure")
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression into v.
func eval[T any](b *console, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// open loads a console page and waits for an element of it.
func (b *console) open(path, ready string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.admin+path), chromedp.WaitVisible(chromedp.CSS(ready)))
}

// shot saves a screenshot of the whole page as test/out/console-NAME.png.
func (b *console) shot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	var png []byte
	var err error
	for range 3 { // a capture can fail while the page repaints: a tooling hiccup, not the console's
		if png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
			break
		}
	}
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	dir := filepath.Join("..", "out")
	path := filepath.Join(dir, "console-"+name+".png")
	if err := os.MkdirAll(dir, 0o755); err == nil {
		err = os.WriteFile(path, png, 0o644)
	}
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
	}
}

// signIn: a wrong key shows a clear message, the right one typed with
// the keyboard (Enter submits) opens the overview; the stylesheet and
// the script load under the console's CSP.
func (b *console) signIn() {
	b.do("open the console", chromedp.Navigate(b.admin+"/console/"), chromedp.WaitVisible(chromedp.CSS("#key")))
	label := eval[string](b, `document.querySelector('label[for=key]').textContent`)
	button := eval[string](b, `document.querySelector('form[action="/console/signin"] button').textContent`)
	if label != "Admin key" || button != "Sign in" {
		b.t.Fatalf("the sign-in form has label %q and button %q, want \"Admin key\" and \"Sign in\"", label, button)
	}
	b.shot("signin")
	b.do("wrong key", chromedp.SendKeys(chromedp.CSS("#key"), "not-the-key"), chromedp.Click(chromedp.CSS("form button")),
		chromedp.WaitVisible(chromedp.CSS("#signin-error")))
	if msg := eval[string](b, `document.querySelector('#signin-error').textContent`); !strings.Contains(msg, "not right") {
		b.t.Errorf("a wrong key shows %q", msg)
	}
	b.shot("signin-wrong-key")
	b.do("right key", chromedp.SendKeys(chromedp.CSS("#key"), consoleKey+"\n"), chromedp.WaitVisible(chromedp.CSS("table.pipelines")))
	if bg := eval[string](b, `getComputedStyle(document.querySelector('header.top')).backgroundColor`); bg == "rgba(0, 0, 0, 0)" {
		b.t.Error("the stylesheet did not apply (blocked by the CSP?)")
	}
}

// pipelines: the overview lists the demo's four pipelines; it returns
// their steps as the admin API lists them.
func (b *console) pipelines() map[string][]string {
	got := eval[[]string](b, `[...document.querySelectorAll('table.pipelines tbody tr')].map(r => r.dataset.pipeline)`)
	want := []string{"cityDeals", "nearestMarkets", "placeOrder", "productSearch"}
	if !slices.Equal(got, want) {
		b.t.Fatalf("the overview lists %v, want %v", got, want)
	}
	b.shot("overview")
	steps := map[string][]string{}
	for _, name := range want {
		var v struct{ Steps []struct{ Name string } }
		adminGet(b.t, b.admin, consoleKey, "/pipelines/"+name, &v)
		for _, s := range v.Steps {
			steps[name] = append(steps[name], s.Name)
		}
	}
	return steps
}

// graphs: each pipeline's page draws a node per step whose accessible
// name, in Chromium's accessibility tree, is the step's name.
func (b *console) graphs(steps map[string][]string) {
	for name, want := range steps {
		b.open("/console/pipelines/"+name, "svg.graph")
		names := b.axGroups(want)
		for _, step := range want {
			if n := countOf(names, step); n != 1 {
				b.t.Errorf("%s: %d accessible nodes named %q in the graph, want 1 (groups: %v)", name, n, step, names)
			}
		}
		dom := eval[[]string](b, `[...document.querySelectorAll('svg.graph g.node')].map(g => g.dataset.step)`)
		if !slices.Equal(dom, want) {
			b.t.Errorf("%s: graph nodes %v, want %v", name, dom, want)
		}
		b.shot("pipeline-" + name)
	}
}

// axGroups returns the names of the group nodes of the page's
// accessibility tree, once it names every one of want or 5s have passed
// (Chromium builds the tree after the page is shown).
func (b *console) axGroups(want []string) []string {
	deadline := time.Now().Add(5 * time.Second)
	for {
		names := b.axGroupsNow()
		complete := true
		for _, w := range want {
			complete = complete && slices.Contains(names, w)
		}
		if complete || time.Now().After(deadline) {
			return names
		}
		time.Sleep(100 * time.Millisecond) // polling the browser's tree, not waiting for the gateway
	}
}

func (b *console) axGroupsNow() []string {
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	var names []string
	tree, err := chromedp.Call(ctx, accessibility.GetFullAXTree, accessibility.GetFullAXTreeParams{})
	if err != nil {
		b.t.Fatalf("accessibility tree: %v", err)
	}
	for _, n := range tree.Nodes {
		if n.Ignored || n.Role == nil || n.Name == nil || string(n.Role.Value) != `"group"` {
			continue
		}
		var s string
		if json.Unmarshal(n.Name.Value, &s) == nil {
			names = append(names, s)
		}
	}
	return names
}

func countOf(list []string, s string) int {
	n := 0
	for _, e := range list {
		if e == s {
			n++
		}
	}
	return n
}

// runCityDeals runs cityDeals from its Run form, as demo_buyer, and
// finds a waterfall bar per step.
func (b *console) runCityDeals(want []string) {
	b.open("/console/pipelines/cityDeals", "form.run")
	b.do("run", chromedp.SetValue(chromedp.CSS("#param-city"), "Berlin"), chromedp.SetValue(chromedp.CSS("#param-lang"), "de"),
		chromedp.SetValue(chromedp.CSS("#run-consumer"), "demo_buyer"),
		chromedp.Click(chromedp.CSS("form.run button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#result-status")))
	if status := eval[string](b, `document.querySelector('#result-status').textContent`); status != "200" {
		b.t.Errorf("the run answered %s", status)
	}
	bars := eval[[]string](b, `[...document.querySelectorAll('.waterfall g.bar')].map(g => g.dataset.step)`)
	if !slices.Equal(bars, want) {
		b.t.Errorf("waterfall bars %v, want one per step %v", bars, want)
	}
	calls := eval[[]int](b, `[document.querySelectorAll('.waterfall g.callbar[data-step=deals]').length, +document.querySelector('.waterfall g.bar[data-step=deals]').dataset.calls]`)
	if calls[0] < 2 || calls[0] != calls[1] {
		b.t.Errorf("the foreach step deals made %d calls and has %d call bars, want one bar per call", calls[1], calls[0])
	}
	b.do("scroll to the result", chromedp.ScrollIntoView(chromedp.CSS("#result")))
	b.shot("run")
}

// breaker forces the markets breaker open, sees it open, and gives it
// back to auto; each action is confirmed first.
func (b *console) breaker() {
	b.open("/console/upstreams", "table.upstreams")
	b.confirmed(`button[aria-label="Force the breaker of markets open"]`)
	if st := eval[string](b, `document.querySelector('tr[data-upstream=markets] .state').dataset.state`); st != "open" {
		b.t.Errorf("markets is shown %q after forcing it open", st)
	}
	var v struct {
		Breaker struct{ State, Override string }
	}
	adminGet(b.t, b.admin, consoleKey, "/upstreams/markets", &v)
	if v.Breaker.Override != "open" {
		b.t.Errorf("the admin API says markets is forced %q", v.Breaker.Override)
	}
	b.shot("upstreams-markets-open")
	b.confirmed(`button[aria-label="Force the breaker of markets auto"]`)
	if st := eval[string](b, `document.querySelector('tr[data-upstream=markets] .state').dataset.state`); st != "closed" {
		b.t.Errorf("markets is shown %q back on auto, want closed", st)
	}
	b.shot("upstreams")
}

// confirmed presses an action's button, then Confirm on the page that
// asks, and waits for the upstreams page again.
func (b *console) confirmed(button string) {
	b.t.Helper()
	b.do("press "+button, chromedp.Click(chromedp.CSS(button)), chromedp.WaitVisible(chromedp.CSS("#confirm-title")))
	b.shot("confirm")
	b.do("confirm", chromedp.Click(chromedp.CSS(".confirm button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("table.upstreams")))
}

// purge: a cached cityDeals answer is a miss again once the markets
// upstream's cache is purged from the console.
func (b *console) purge(base string) {
	url := base + "/v1/cities/Madrid/deals"
	gatewayGet(b.t, url)
	if c := gatewayGet(b.t, url).Get("Manifold-Cache"); c != "hit" {
		b.t.Fatalf("the second cityDeals call is a cache %q, want hit", c)
	}
	b.open("/console/upstreams", "table.upstreams")
	b.confirmed(`button[aria-label="Purge the cache of upstream markets"]`)
	if msg := eval[string](b, `document.querySelector('.flash').textContent`); !strings.Contains(msg, "Purged the cached answers of upstream markets") {
		b.t.Errorf("after the purge the page says %q", msg)
	}
	if c := gatewayGet(b.t, url).Get("Manifold-Cache"); c != "miss" {
		b.t.Errorf("cityDeals after purging markets is a cache %q, want miss", c)
	}
}

// live: the test's own calls appear on Live within 2s; clicking one
// opens its waterfall and audit event.
func (b *console) live(base string) {
	b.open("/console/live", "table.live")
	b.do("stream", chromedp.Poll[chromedp.Void](`document.querySelector('#live-state').textContent.startsWith('Connected')`,
		chromedp.WithPollingTimeout(10*time.Second)))
	id := gatewayGet(b.t, base+"/v1/cities/Paris/deals?lang=fr").Get("Manifold-Request-Id")
	start := time.Now()
	b.do("see the call", chromedp.Poll[chromedp.Void](fmt.Sprintf(`!!document.querySelector('table.live tr[data-id="%s"]')`, id),
		chromedp.WithPollingTimeout(2*time.Second)))
	b.t.Logf("the call appeared on Live after %v", time.Since(start))
	b.do("filter", chromedp.SetValue(chromedp.CSS("#f-status"), "5"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#f-status').dispatchEvent(new Event('input', {bubbles: true}))`))
	if hidden := eval[bool](b, fmt.Sprintf(`document.querySelector('tr[data-id="%s"]').hidden`, id)); !hidden {
		b.t.Error("filtering on 5xx still shows a 200 call")
	}
	b.do("unfilter", chromedp.SetValue(chromedp.CSS("#f-status"), ""),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#f-status').dispatchEvent(new Event('input', {bubbles: true}))`))
	b.shot("live")
	b.do("open the call", chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr[data-id="%s"] a`, id))), chromedp.WaitVisible(chromedp.CSS("#wf-title")))
	if bars := eval[int](b, `document.querySelectorAll('.waterfall g.bar').length`); bars != 4 {
		b.t.Errorf("the call's waterfall has %d bars, want 4", bars)
	}
	if ev := eval[string](b, `document.querySelector('pre.json').textContent`); !strings.Contains(ev, `"request_id": "`+id+`"`) {
		b.t.Errorf("the call page shows no audit event of the call: %s", ev)
	}
	b.shot("call")
}

// narrow: at 390px wide the overview fits the window (tables scroll in
// their own boxes).
func (b *console) narrow() {
	b.do("narrow", chromedp.EmulateViewport(390, 844))
	b.open("/console/", "table.pipelines")
	if over := eval[bool](b, `document.documentElement.scrollWidth > window.innerWidth + 1`); over {
		b.t.Error("the overview overflows a 390px window")
	}
	b.shot("overview-narrow")
}

// adminGet reads an admin API endpoint with the key.
func adminGet(t *testing.T, admin, key, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, admin+path, nil)
	req.Header.Set("X-API-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("admin %s: %v", path, err)
	}
}

// gatewayGet calls the gateway and returns the answer's headers.
func gatewayGet(t *testing.T, url string) http.Header {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	return resp.Header
}

// startConsoleDemo runs the demo with the admin API (and the console)
// on ephemeral loopback ports until the test ends.
func startConsoleDemo(t *testing.T) (base, admin string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr, adminAddr, done := make(chan string, 1), make(chan string, 1), make(chan error, 1)
	go func() {
		var out strings.Builder
		done <- launch.Demo(ctx, launch.Options{Listen: "127.0.0.1:0", AdminListen: "127.0.0.1:0", AdminKey: consoleKey,
			Ready: func(a string) { addr <- a }, AdminReady: func(a string) { adminAddr <- a }}, &out)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo shutdown: %v", err)
		}
	})
	for base == "" || admin == "" {
		select {
		case a := <-addr:
			base = launch.BaseURL(a)
		case a := <-adminAddr:
			admin = "http://" + a
		case err := <-done:
			t.Fatalf("demo did not start: %v", err)
		case <-time.After(30 * time.Second):
			t.Fatal("demo did not start within 30s")
		}
	}
	return base, admin
}

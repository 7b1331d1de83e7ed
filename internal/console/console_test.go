package console_test

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/manifoldgw/manifold/internal/console"
)

// TestNoSessionNoData: without the session cookie every page sends the
// browser to the sign-in form and shows nothing of the gateway; the
// event stream and the actions answer 401, and nothing changes.
func TestNoSessionNoData(t *testing.T) {
	d := startDemo(t)
	c := browser(t)
	for _, path := range []string{"/console/", "/console/pipelines/cityDeals", "/console/upstreams", "/console/live", "/console/config"} {
		status, body, h := get(t, c, d.admin+path)
		if status != http.StatusSeeOther || h.Get("Location") != "/console/signin" {
			t.Errorf("GET %s without a session: %d to %q, want 303 to /console/signin", path, status, h.Get("Location"))
		}
		if strings.Contains(body, "cityDeals") || strings.Contains(body, "markets") {
			t.Errorf("GET %s without a session shows gateway data: %s", path, body)
		}
	}
	if status, body, _ := get(t, c, d.admin+"/console/live/events"); status != http.StatusUnauthorized || strings.Contains(body, "cityDeals") {
		t.Errorf("the event stream without a session: %d %s, want 401 and no data", status, body)
	}
	status, _, _ := post(t, c, d.admin+"/console/upstreams/markets/breaker", url.Values{"state": {"open"}, "confirm": {"yes"}})
	if status != http.StatusUnauthorized {
		t.Errorf("forcing a breaker without a session: %d, want 401", status)
	}
	// A forged cookie is no session either.
	u, _ := url.Parse(d.admin + "/console/")
	c.Jar.SetCookies(u, []*http.Cookie{{Name: console.CookieName, Value: "forged"}})
	if status, _, _ := get(t, c, d.admin+"/console/"); status != http.StatusSeeOther {
		t.Errorf("a forged session cookie: %d, want 303 to the sign-in form", status)
	}
	if got := breakerOverride(t, d, "markets"); got != "auto" {
		t.Errorf("the markets breaker is %s after refused actions, want auto", got)
	}
}

// TestActionsNeedCSRFToken: a signed-in browser's action without the
// session's token, or with another token, is refused and changes
// nothing; with it, the action runs after its confirmation and is
// undone the same way.
func TestActionsNeedCSRFToken(t *testing.T) {
	d := startDemo(t)
	c := browser(t)
	tok := signIn(t, c, d)
	action := d.admin + "/console/upstreams/markets/breaker"
	for name, form := range map[string]url.Values{
		"no token":    {"state": {"open"}, "confirm": {"yes"}},
		"wrong token": {"state": {"open"}, "confirm": {"yes"}, "csrf": {tok + "x"}},
	} {
		status, body, _ := post(t, c, action, form)
		if status != http.StatusForbidden || !strings.Contains(body, "CSRF") {
			t.Errorf("%s: %d, want 403 naming the CSRF token; body %s", name, status, body)
		}
	}
	if got := breakerOverride(t, d, "markets"); got != "auto" {
		t.Fatalf("the markets breaker is %s after refused actions, want auto", got)
	}
	// Without confirm=yes the console asks first and changes nothing.
	status, body, _ := post(t, c, action, url.Values{"state": {"open"}, "csrf": {tok}})
	if status != http.StatusOK || !strings.Contains(body, "Force the breaker of upstream markets open?") || breakerOverride(t, d, "markets") != "auto" {
		t.Fatalf("the action was not confirmed first: %d %s", status, body)
	}
	status, _, h := post(t, c, action, url.Values{"state": {"open"}, "csrf": {tok}, "confirm": {"yes"}})
	if status != http.StatusSeeOther || breakerOverride(t, d, "markets") != "open" {
		t.Fatalf("confirmed action: %d to %q, breaker %s; want 303 and open", status, h.Get("Location"), breakerOverride(t, d, "markets"))
	}
	_, page, _ := get(t, c, d.admin+"/console/upstreams")
	if !strings.Contains(page, "Breaker of markets: override open, state open.") {
		t.Error("the upstreams page does not say what the action did")
	}
	post(t, c, action, url.Values{"state": {"auto"}, "csrf": {tok}, "confirm": {"yes"}})
	if got := breakerOverride(t, d, "markets"); got != "auto" {
		t.Errorf("back to auto: %s", got)
	}
	// A cross-site form is refused whatever it carries.
	req, _ := http.NewRequest(http.MethodPost, action, strings.NewReader(url.Values{"state": {"open"}, "csrf": {tok}, "confirm": {"yes"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://evil.example")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || breakerOverride(t, d, "markets") != "auto" {
		t.Errorf("a cross-origin form: %d, want 403 and no change", resp.StatusCode)
	}
	// Signed out, the old cookie is worth nothing.
	post(t, c, d.admin+"/console/signout", url.Values{"csrf": {tok}})
	if status, _, _ := get(t, c, d.admin+"/console/"); status != http.StatusSeeOther {
		t.Errorf("after sign-out: %d, want 303 to the sign-in form", status)
	}
}

// TestSignIn: the right key gives a strict, HttpOnly, expiring cookie;
// a wrong key gets a clear message and counts toward auth.max_failures
// (20/min in the demo), after which even the right key waits.
func TestSignIn(t *testing.T) {
	d := startDemo(t)
	c := browser(t)
	status, body, _ := get(t, c, d.admin+"/console/signin")
	doc := parse(t, body)
	input := find(doc, func(n *html.Node) bool { return n.Data == "input" && attr(n, "name") == "key" })
	label := find(doc, func(n *html.Node) bool { return n.Data == "label" && attr(n, "for") == attr(input, "id") })
	if status != http.StatusOK || input == nil || label == nil || label.FirstChild.Data != "Admin key" || !strings.Contains(body, ">Sign in</button>") {
		t.Fatalf("the sign-in form has no field labelled \"Admin key\" and \"Sign in\" button: %d %s", status, body)
	}
	resp, err := c.PostForm(d.admin+"/console/signin", url.Values{"key": {adminKey}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == console.CookieName {
			cookie = ck
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/console/" ||
		cookie.MaxAge <= 0 || time.Duration(cookie.MaxAge)*time.Second > console.SessionTTL || cookie.Secure {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/console/, Max-Age up to 8h, not Secure over plain HTTP", cookie)
	}

	other := browser(t)
	for i := range 20 {
		status, body, _ := post(t, other, d.admin+"/console/signin", url.Values{"key": {"wrong-" + strconv.Itoa(i)}})
		if status != http.StatusUnauthorized || !strings.Contains(body, "That admin key is not right.") {
			t.Fatalf("wrong key %d: %d, want 401 with a clear message; body %s", i, status, body)
		}
	}
	status, body, h := post(t, other, d.admin+"/console/signin", url.Values{"key": {adminKey}})
	if status != http.StatusTooManyRequests || h.Get("Retry-After") == "" || !strings.Contains(body, "Too many wrong admin keys") {
		t.Fatalf("after 20 wrong keys: %d (Retry-After %q), want 429 with Retry-After; body %s", status, h.Get("Retry-After"), body)
	}
}

// TestPagesRenderForTheDemo: every page of the console renders for the
// demo, the overview lists the four pipelines, each pipeline's graph has
// one node per step whose accessible name is the step's name, a run
// shows a waterfall bar per step and the call opens from Live; each
// page, with the stylesheet and script, weighs under 300 KB compressed.
func TestPagesRenderForTheDemo(t *testing.T) {
	d := startDemo(t)
	c := browser(t)
	tok := signIn(t, c, d)
	var list struct {
		Pipelines []struct {
			Name  string
			Steps []struct{ Name string }
		}
	}
	adminJSON(t, d, "/pipelines", &list)
	if len(list.Pipelines) != 4 {
		t.Fatalf("the demo serves %d pipelines, want 4", len(list.Pipelines))
	}
	_, overview, _ := get(t, c, d.admin+"/console/")
	for _, p := range list.Pipelines {
		if !strings.Contains(overview, `href="/console/pipelines/`+p.Name+`"`) {
			t.Errorf("the overview does not link pipeline %s", p.Name)
		}
		status, body, _ := get(t, c, d.admin+"/console/pipelines/"+p.Name)
		if status != http.StatusOK {
			t.Fatalf("pipeline page %s: %d", p.Name, status)
		}
		var want []string
		for _, s := range p.Steps {
			want = append(want, s.Name)
		}
		if got := graphNodes(parse(t, body)); !slices.Equal(got, want) {
			t.Errorf("graph of %s: nodes named %v, want one per step %v", p.Name, got, want)
		}
	}
	weights := map[string]int{}
	for _, path := range []string{"/console/", "/console/upstreams", "/console/live", "/console/config", "/console/pipelines/cityDeals"} {
		status, body, h := get(t, c, d.admin+path)
		if status != http.StatusOK || h.Get("Content-Security-Policy") != console.CSP {
			t.Errorf("GET %s: %d, CSP %q", path, status, h.Get("Content-Security-Policy"))
		}
		weights[path] = gzipLen(body)
	}
	status, run, _ := post(t, c, d.admin+"/console/pipelines/cityDeals/run",
		url.Values{"csrf": {tok}, "param.city": {"Berlin"}, "param.lang": {"de"}, "consumer": {"demo_reader"}})
	doc := parse(t, run)
	bars := findAll(doc, func(n *html.Node) bool { return n.Data == "g" && hasClass(n, "bar") })
	var names []string
	for _, b := range bars {
		names = append(names, attr(b, "data-step"))
	}
	if status != http.StatusOK || !slices.Equal(names, []string{"markets", "deals", "products", "translate"}) || !strings.Contains(run, `id="result-status">200<`) {
		t.Fatalf("run of cityDeals: %d, waterfall bars %v, want 200 and a bar per step", status, names)
	}
	// deals is a foreach: a bar per upstream call under its step's bar.
	for _, b := range bars {
		calls := findAll(doc, func(n *html.Node) bool {
			return n.Data == "g" && hasClass(n, "callbar") && attr(n, "data-step") == attr(b, "data-step")
		})
		want, _ := strconv.Atoi(attr(b, "data-calls"))
		if want < 2 {
			want = 0 // one call: the step's bar is the call's
		}
		if len(calls) != want {
			t.Errorf("step %s made %s calls and has %d call bars", attr(b, "data-step"), attr(b, "data-calls"), len(calls))
		}
	}
	if attr(bars[1], "data-calls") < "2" {
		t.Errorf("cityDeals' deals step made %s calls, want one per market", attr(bars[1], "data-calls"))
	}
	weights["run"] = gzipLen(run)
	id := regexp.MustCompile(`Request id <code>([0-9a-f]+)</code>`).FindStringSubmatch(run)
	if id == nil {
		t.Fatal("the run shows no request id")
	}
	_, live, _ := get(t, c, d.admin+"/console/live")
	if !strings.Contains(live, "/console/calls/"+id[1]) {
		t.Error("Live does not list the run")
	}
	status, call, _ := get(t, c, d.admin+"/console/calls/"+id[1])
	if status != http.StatusOK || !strings.Contains(call, `&#34;consumer&#34;: &#34;key:demo_reader&#34;`) || !strings.Contains(call, `&#34;surface&#34;: &#34;console&#34;`) {
		t.Errorf("the call page does not show the call's audit event: %d", status)
	}
	static := 0
	for _, path := range []string{"/console/static/console.css", "/console/static/console.js"} {
		status, body, _ := get(t, c, d.admin+path)
		if status != http.StatusOK {
			t.Fatalf("GET %s: %d", path, status)
		}
		static += gzipLen(body)
	}
	for page, n := range weights {
		t.Logf("page weight %s: %d bytes gzipped (+%d stylesheet and script)", page, n, static)
		if n+static > 300<<10 {
			t.Errorf("page %s weighs %d bytes compressed, over 300 KB", page, n+static)
		}
	}
}

// graphNodes are the accessible names of the step graph's nodes.
func graphNodes(doc *html.Node) []string {
	var names []string
	for _, n := range findAll(doc, func(n *html.Node) bool { return n.Data == "g" && hasClass(n, "node") }) {
		names = append(names, attr(n, "aria-label"))
	}
	return names
}

func gzipLen(s string) int {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, _ = w.Write([]byte(s))
	_ = w.Close()
	return buf.Len()
}

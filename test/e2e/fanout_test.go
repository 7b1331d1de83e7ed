package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// fanoutFiles is a gateway whose lists backend answers 500 items at /list
// and counts the element calls to /items/N.
func fanoutFiles(t *testing.T, elementCalls *atomic.Int64) map[string]string {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/list" {
			ids := make([]string, 500)
			for i := range ids {
				ids[i] = fmt.Sprint(i)
			}
			_, _ = io.WriteString(w, "["+strings.Join(ids, ",")+"]")
			return
		}
		elementCalls.Add(1)
		_, _ = io.WriteString(w, "1")
	}))
	t.Cleanup(up.Close)
	each := func(extra string) string {
		return "steps:\n  list: {upstream: api, path: /list}\n  each:\n    upstream: api\n    needs: [list]\n" +
			"    foreach: .list\n    path: /items/${ .item }\n" + extra
	}
	return map[string]string{
		"gateway.yaml": fmt.Sprintf("upstreams:\n  api: {url: %q}\n", up.URL),
		"refused.yaml": "name: refused\npath: /refused\n" + each(""),
		"cut.yaml":     "name: cut\npath: /cut\ncache: 1m\noutput: '.each | length'\n" + each("    truncate_items: true\n"),
		"byids.yaml": `name: byids
path: /byids
params:
  ids: {type: array, items: {type: integer}}
steps:
  each: {upstream: api, foreach: .params.ids, path: "/items/${ .item }", max_items: 3}
`,
	}
}

// TestForeachBoundsREST: over REST, a foreach over 500 upstream items is a
// 502 with no element call; truncate_items answers 100 results with
// Manifold-Truncated, also from the response cache; too many items from
// the caller's params are a 400.
func TestForeachBoundsREST(t *testing.T) {
	var calls atomic.Int64
	base, _ := serveDir(t, fanoutFiles(t, &calls))

	a := get(t, base+"/refused")
	got := decode[map[string]any](t, a)
	want := "step each: foreach gave 500 items from upstream results, over its max_items of 100; no call was made"
	if a.status != http.StatusBadGateway || got["type"] != "urn:manifold:problem:too-many-items" || got["detail"] != want || got["step"] != "each" {
		t.Errorf("/refused: %d %s, want a 502 too-many-items saying %q", a.status, a.body, want)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("/refused made %d element calls, want 0", n)
	}

	for i, cache := range []string{"miss", "hit"} {
		a = get(t, base+"/cut")
		if a.status != http.StatusOK || string(a.body) != "100" || a.header.Get("Manifold-Truncated") != "each" || a.header.Get("Manifold-Cache") != cache {
			t.Errorf("/cut #%d: %d %q, Manifold-Truncated %q, cache %q; want 100, each, %s", i, a.status, a.body, a.header.Get("Manifold-Truncated"), a.header.Get("Manifold-Cache"), cache)
		}
	}
	if n := calls.Load(); n != 100 {
		t.Errorf("/cut made %d element calls, want 100", n)
	}

	a = get(t, base+"/byids?ids=1&ids=2&ids=3&ids=4")
	got = decode[map[string]any](t, a)
	want = "step each: the request gives 4 items to its foreach, over its max_items of 3; no call was made"
	if a.status != http.StatusBadRequest || got["detail"] != want {
		t.Errorf("/byids: %d %s, want a 400 saying %q", a.status, a.body, want)
	}
}

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestUpstreamRedirectsREST: one upstream moved its API to a CDN host
// (allowed by redirect_hosts) and one to a host nobody allowed. The
// followed redirect's final URL is in the GraphQL step; the CDN never
// sees the api key; the refused one is a 502 saying so.
func TestUpstreamRedirectsREST(t *testing.T) {
	var mu sync.Mutex
	var cdnSaw []string
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		cdnSaw = append(cdnSaw, r.URL.String()+" "+fmt.Sprint(r.Header))
		mu.Unlock()
		fmt.Fprint(w, `{"tiles":3}`)
	}))
	defer cdn.Close()
	cdnHost := strings.Replace(cdn.URL, "127.0.0.1", "localhost", 1)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("key") != geoKey {
			http.Error(w, "{}", http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, cdnHost+"/tiles"+strings.TrimPrefix(r.URL.Path, "/maps"), http.StatusFound)
	}))
	defer origin.Close()
	t.Setenv("GEO_KEY", geoKey)
	base, _ := serveDir(t, map[string]string{
		"gateway.yaml": fmt.Sprintf(`
audit: {nats: "off"}
upstreams:
  maps:
    url: %[1]s
    auth: {type: api_key, in: query, name: key, value: "${GEO_KEY}"}
    follow_redirects: 2
    redirect_hosts: [localhost]
  strict:
    url: %[1]s
    auth: {type: api_key, in: query, name: key, value: "${GEO_KEY}"}
    follow_redirects: 2
`, origin.URL),
		"tiles.yaml":  "name: tiles\npath: /v1/tiles\nsteps:\n  t: {upstream: maps, path: /maps/berlin}\n",
		"strict.yaml": "name: strictTiles\npath: /v1/strict\nsteps:\n  t: {upstream: strict, path: /maps/berlin}\n",
	})

	a := get(t, base+"/v1/tiles")
	if a.status != http.StatusOK || string(a.body) != `{"t":{"tiles":3}}` {
		t.Fatalf("followed redirect: %d %s", a.status, a.body)
	}
	mu.Lock()
	saw := strings.Join(cdnSaw, "\n")
	mu.Unlock()
	if saw == "" || strings.Contains(saw, geoKey) {
		t.Errorf("the CDN saw %q: want a call without the api key", saw)
	}
	r := graphql(t, base, `{ run(pipeline: "tiles") { steps { url } } }`, nil, "")
	if want := cdnHost + "/tiles/berlin"; !strings.Contains(string(r.Data), `"url":"`+want+`"`) {
		t.Errorf("GraphQL step url: %s, want the final URL %s", r.Data, want)
	}

	a = get(t, base+"/v1/strict")
	var p map[string]any
	_ = json.Unmarshal(a.body, &p)
	want := "step t: upstream strict: redirect 302 to " + cdnHost + " refused: not the upstream's origin nor in its redirect_hosts"
	if a.status != http.StatusBadGateway || p["type"] != "urn:manifold:problem:upstream-redirect-refused" || p["detail"] != want {
		t.Errorf("refused redirect: %d %s\nwant detail %q", a.status, a.body, want)
	}
}

// TestXMLAndTextUpstreamsREST merges an RSS feed (format: xml) with a
// JSON upstream and a plain text one (format: text).
func TestXMLAndTextUpstreamsREST(t *testing.T) {
	feed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Deals</title>
  <item><title>Coffee</title><price currency="EUR">4.99</price></item>
  <item><title>Milk</title><price currency="EUR">0.99</price></item>
</channel></rss>`)
	}))
	defer feed.Close()
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/motd" {
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprint(w, "Open until 8pm\n")
			return
		}
		fmt.Fprint(w, `{"shop":"Mitte","open":true}`)
	}))
	defer shop.Close()
	base, _ := serveDir(t, map[string]string{
		"gateway.yaml": fmt.Sprintf(`
audit: {nats: "off"}
upstreams:
  feed: {url: %s, format: xml}
  shop: {url: %s}
  motd: {url: %s, format: text}
`, feed.URL, shop.URL, shop.URL),
		"deals.yaml": `
name: deals
path: /v1/deals
steps:
  feed: {upstream: feed, path: /rss, select: '[.rss.channel.item[] | {title, price: (.price["#text"] | tonumber), currency: .price["@currency"]}]'}
  shop: {upstream: shop, path: /shop}
  motd: {upstream: motd, path: /motd}
output: '{shop: .shop.shop, deals: .feed, notice: (.motd | rtrimstr("\n"))}'
`,
	})
	a := get(t, base+"/v1/deals")
	want := `{"deals":[{"currency":"EUR","price":4.99,"title":"Coffee"},{"currency":"EUR","price":0.99,"title":"Milk"}],"notice":"Open until 8pm","shop":"Mitte"}`
	if a.status != http.StatusOK || string(a.body) != want || !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") {
		t.Errorf("got %d %s %s\nwant %s", a.status, a.header.Get("Content-Type"), a.body, want)
	}
}

package bench

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/demo"
	"github.com/manifoldgw/manifold/internal/launch"
	"github.com/manifoldgw/manifold/internal/server"
)

// cityDealsPath is the demo request both benchmarks send: cityDeals for
// Berlin in German, so all four steps run (markets, deals per market,
// products, translate).
const cityDealsPath = "/v1/cities/Berlin/deals?lang=de"

// demoGateway is the demo (embedded pipelines/, internal/demo backends
// without added latency) behind the whole HTTP gateway.
type demoGateway struct {
	rt  *server.Runtime
	url string
	c   *http.Client
}

func newDemoGateway(tb testing.TB) *demoGateway {
	tb.Helper()
	backends, err := demo.Start(demo.Options{})
	if err != nil {
		tb.Fatalf("starting the demo backends: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = backends.Shutdown(ctx)
	})
	plan, err := launch.LoadDemo(backends)
	if err != nil {
		tb.Fatalf("loading the demo directory: %v", err)
	}
	rt, err := server.Build(plan, discard())
	if err != nil {
		tb.Fatalf("building the runtime: %v", err)
	}
	tb.Cleanup(rt.Close)
	if rt.Cache() == nil {
		tb.Fatal("the demo runtime has no cache")
	}
	srv := httptest.NewUnstartedServer(nil)
	srv.Config = server.NewHTTPServer(server.New(rt, server.Options{Logger: discard()}), discard())
	srv.Start()
	tb.Cleanup(srv.Close)
	return &demoGateway{rt: rt, url: srv.URL + cityDealsPath, c: client(tb)}
}

// get sends the cityDeals request and returns its Manifold-Cache header.
func (g *demoGateway) get() (cacheHeader string, body []byte, err error) {
	resp, err := g.c.Get(g.url)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	buf, err := io.ReadAll(resp.Body) // not decoded: the client's JSON parsing is not the gateway's cost
	if err != nil {
		return "", nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return "", buf, statusError(resp.StatusCode)
	}
	if inc := resp.Header.Get("Manifold-Incomplete"); inc != "" {
		return "", buf, incompleteError(inc)
	}
	return resp.Header.Get("Manifold-Cache"), buf, nil
}

type incompleteError string

func (e incompleteError) Error() string { return "incomplete answer, missing " + string(e) }

// BenchmarkCityDeals runs the demo's cityDeals through the whole gateway
// (HTTP client → router → params → response cache → engine → four demo
// backends over loopback). cold purges the shared cache before every
// request, so every step and the whole answer are fetched and stored
// again (the purge, a counter increment, is inside the timing); cache-hit
// serves every request from the response cache. The ratio of the two is
// what the response cache saves per request.
func BenchmarkCityDeals(b *testing.B) {
	g := newDemoGateway(b)
	b.Run("cold", func(b *testing.B) {
		g.rt.Cache().Purge()
		if got, _, err := g.get(); err != nil || got != "miss" {
			b.Fatalf("after a purge: Manifold-Cache %q, err %v; want miss", got, err)
		}
		b.ReportAllocs()
		for b.Loop() {
			g.rt.Cache().Purge()
			if got, _, err := g.get(); err != nil || got != "miss" {
				b.Fatalf("Manifold-Cache %q, err %v; want miss", got, err)
			}
		}
	})
	b.Run("cache-hit", func(b *testing.B) {
		_, _, _ = g.get() // warm
		if got, _, err := g.get(); err != nil || got != "hit" {
			b.Fatalf("second request: Manifold-Cache %q, err %v; want hit", got, err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := g.get(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestCityDealsCache checks what BenchmarkCityDeals relies on: the demo
// answer is complete and translated, a purge makes the next request a
// miss, and the request after it a hit with the same answer.
func TestCityDealsCache(t *testing.T) {
	g := newDemoGateway(t)
	var bodies [][]byte
	for i, want := range []string{"miss", "hit"} {
		got, body, err := g.get()
		if err != nil || got != want {
			t.Fatalf("request %d: Manifold-Cache %q, err %v; want %q", i, got, err, want)
		}
		bodies = append(bodies, body)
	}
	var answer struct {
		City    string `json:"city"`
		Markets []struct {
			Deals []struct {
				Product struct {
					Name           string `json:"name"`
					TranslatedName string `json:"translated_name"`
				} `json:"product"`
			} `json:"deals"`
		} `json:"markets"`
	}
	if err := json.Unmarshal(bodies[0], &answer); err != nil {
		t.Fatalf("answer is not the cityDeals document: %v\n%s", err, bodies[0])
	}
	if answer.City != "Berlin" || len(answer.Markets) == 0 || len(answer.Markets[0].Deals) == 0 {
		t.Fatalf("answer %s; want Berlin markets with deals", bodies[0])
	}
	if p := answer.Markets[0].Deals[0].Product; p.TranslatedName == "" || p.TranslatedName == p.Name {
		t.Errorf("first product %+v; want a German translated_name (the translate step ran)", p)
	}
	if string(bodies[0]) != string(bodies[1]) {
		t.Errorf("hit answered\n%s\nmiss answered\n%s", bodies[1], bodies[0])
	}
	g.rt.Cache().Purge()
	if got, _, err := g.get(); err != nil || got != "miss" {
		t.Errorf("after Purge: Manifold-Cache %q, err %v; want miss", got, err)
	}
}

package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func startBackends(t *testing.T, opts Options) *Backends {
	t.Helper()
	b, err := Start(opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := b.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return b
}

// fetch does one real HTTP request and decodes the JSON answer into v.
func fetch(t *testing.T, method, url, body string, v any) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if v != nil {
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, url, err, data)
		}
	}
	return resp
}

// TestStartServesTheDemoPipeline walks the city-deals pipeline of the design
// document against real servers: markets of a city, their deals, the
// products on offer, and the product names in German.
func TestStartServesTheDemoPipeline(t *testing.T) {
	b := startBackends(t, Options{})

	env := b.Env()
	for k, v := range map[string]string{
		"MANIFOLD_DEMO_PRODUCTS_URL":    b.Products,
		"MANIFOLD_DEMO_MARKETS_URL":     b.Markets,
		"MANIFOLD_DEMO_DEALS_URL":       b.Deals,
		"MANIFOLD_DEMO_TRANSLATION_URL": b.Translation,
	} {
		if env[k] != v || !strings.HasPrefix(v, "http://127.0.0.1:") {
			t.Errorf("Env()[%s] = %q, URL %q", k, env[k], v)
		}
	}
	if len(env) != 4 {
		t.Errorf("Env() has %d entries, want 4", len(env))
	}

	var city cityMarkets
	resp := fetch(t, http.MethodGet, b.Markets+"/markets?city=berlin&limit=3", "", &city)
	if resp.StatusCode != http.StatusOK || city.City != "Berlin" || len(city.Markets) != 3 {
		t.Fatalf("markets: %d %+v", resp.StatusCode, city)
	}

	var productIDs []string
	for _, m := range city.Markets {
		var md marketDealList
		fetch(t, http.MethodGet, b.Deals+"/markets/"+m.ID+"/deals", "", &md)
		if md.MarketID != m.ID || len(md.Deals) == 0 {
			t.Fatalf("deals of %s: %+v", m.ID, md)
		}
		for _, d := range md.Deals {
			productIDs = append(productIDs, d.ProductID)
		}
	}

	var pl productList
	fetch(t, http.MethodGet, b.Products+"/products?ids="+url.QueryEscape(strings.Join(productIDs, ",")), "", &pl)
	if len(pl.Products) == 0 {
		t.Fatal("no products for the deals")
	}
	names := ids(pl.Products, func(p product) string { return p.Name })

	body, _ := json.Marshal(map[string]any{"target": "de", "q": names})
	var tr translateResponse
	resp = fetch(t, http.MethodPost, b.Translation+"/translate", string(body), &tr)
	if resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("Content-Type = %q", resp.Header.Get("Content-Type"))
	}
	if tr.Target != "de" || len(tr.Translations) != len(names) || tr.Translations[0] == names[0] {
		t.Errorf("translate %q = %+v", names, tr)
	}

	var p problem
	resp = fetch(t, http.MethodGet, b.Markets+"/markets?city=Atlantis", "", &p)
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/problem+json" ||
		!strings.Contains(p.Detail, `unknown city "Atlantis"`) {
		t.Errorf("unknown city: %d %q %+v", resp.StatusCode, resp.Header.Get("Content-Type"), p)
	}
}

// TestShutdownLetsInFlightRequestsFinish: a request waiting in the
// latency when Shutdown starts is answered in full, Shutdown waits for it,
// and the backend refuses new connections meanwhile. The latency's clock
// is the test's: the request waits exactly until the test lets it go.
func TestShutdownLetsInFlightRequestsFinish(t *testing.T) {
	waiting, release := make(chan struct{}), make(chan time.Time)
	b, err := Start(Options{Latency: time.Hour, After: func(time.Duration) <-chan time.Time {
		close(waiting) // one request in this test
		return release
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Shutdown(context.Background()) }) // when the test fails early
	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Get(b.Products + "/products/p1001")
		if err != nil {
			done <- result{err: err}
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		done <- result{status: resp.StatusCode}
	}()
	select {
	case <-waiting:
	case r := <-done:
		t.Fatalf("request ended before Shutdown: status %d, err %v", r.status, r.err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- b.Shutdown(ctx) }()
	// Shutdown has begun once the listener refuses connections.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", strings.TrimPrefix(b.Products, "http://"))
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the backend still accepts connections 5s after Shutdown began")
		}
		time.Sleep(2 * time.Millisecond) // polling, not synchronisation
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) while a request was still waiting", err)
	default:
	}
	close(release)
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if r := <-done; r.err != nil || r.status != http.StatusOK {
		t.Fatalf("in-flight request: status %d, err %v", r.status, r.err)
	}
	if err := b.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
}

// TestLatencyHonoursCancellation: a request cancelled while it waits in
// the latency is answered 503 at once.
func TestLatencyHonoursCancellation(t *testing.T) {
	waiting := make(chan struct{})
	h := wrapAfter(productsMux(), time.Hour, func(time.Duration) <-chan time.Time {
		close(waiting)
		return nil // never: only the cancellation ends the wait
	})
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/products/p1001", nil)
	rec := httptest.NewRecorder()
	finished := make(chan struct{})
	go func() {
		h.ServeHTTP(rec, req)
		close(finished)
	}()
	<-waiting
	cancel()
	select {
	case <-finished:
	case <-time.After(5 * time.Second):
		t.Fatal("handler did not return after the request was cancelled")
	}
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status = %d, want 503", rec.Code)
	}
}

// TestLatencyDelaysAnswers: every answer waits for the configured latency
// (on the test's clock) before it is sent.
func TestLatencyDelaysAnswers(t *testing.T) {
	asked, release := make(chan time.Duration, 1), make(chan time.Time)
	b := startBackends(t, Options{Latency: 50 * time.Millisecond, After: func(d time.Duration) <-chan time.Time {
		asked <- d
		return release
	}})
	answered := make(chan market, 1)
	go func() {
		var m market
		if resp, err := http.Get(b.Markets + "/markets/mad-01"); err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&m)
			resp.Body.Close()
		}
		answered <- m // a failed GET shows as an empty market
	}()
	if d := <-asked; d != 50*time.Millisecond {
		t.Errorf("waited %v, want the 50ms latency", d)
	}
	select {
	case m := <-answered:
		t.Fatalf("answered %+v before the latency passed", m)
	default:
	}
	close(release)
	if m := <-answered; m.City != "Madrid" {
		t.Errorf("GET /markets/mad-01 = %+v", m)
	}
}

func TestStartFixedAddress(t *testing.T) {
	// Find a free port, then ask for it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	b := startBackends(t, Options{Addrs: map[string]string{"translation": addr}})
	if b.Translation != "http://"+addr {
		t.Errorf("Translation = %q, want http://%s", b.Translation, addr)
	}
	resp := fetch(t, http.MethodPost, b.Translation+"/translate", `{"target":"fr","q":["Baguette"]}`, nil)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status = %d", resp.StatusCode)
	}

	// The same address again is taken: Start fails and leaves nothing running.
	_, err = Start(Options{Addrs: map[string]string{"markets": addr}})
	if err == nil || !strings.Contains(err.Error(), "markets") {
		t.Errorf("Start on a busy address: err = %v, want an error naming the markets backend", err)
	}
}

func TestStartRejectsBadOptions(t *testing.T) {
	if _, err := Start(Options{Addrs: map[string]string{"weather": "127.0.0.1:0"}}); err == nil ||
		!strings.Contains(err.Error(), `"weather"`) {
		t.Errorf("unknown backend: err = %v", err)
	}
	if _, err := Start(Options{Latency: -time.Second}); err == nil {
		t.Error("negative latency: no error")
	}
}

func TestShutdownNil(t *testing.T) {
	var b *Backends
	if err := b.Shutdown(context.Background()); err != nil {
		t.Errorf("nil Shutdown: %v", err)
	}
}

func TestHandlersNeverPanic(t *testing.T) {
	handlers := map[string]http.Handler{
		"products": ProductsHandler(), "markets": MarketsHandler(),
		"deals": DealsHandler(), "translation": TranslationHandler(),
	}
	targets := []string{
		"/", "/products", "/products/", "/products/%00", "/products/search?q=%ff&limit=99999999999999999999",
		"/products?ids=" + strings.Repeat(",", 1000), "/markets?city=%00", "/markets/nearest?lat=1e400&lon=-1e400",
		"/markets//deals", "/deals?product_ids=%zz", "/translate", "/markets/nearest?lat=0&lon=0&radius_km=1e308",
	}
	methods := []string{http.MethodGet, http.MethodPost, http.MethodHead, http.MethodOptions}
	bodies := []string{"", "null", "{}", `{"target":null,"q":[null,1]}`, "\x00\xff", `{"q":[],"target":"de"`}
	for name, h := range handlers {
		for _, target := range targets {
			for _, m := range methods {
				for _, body := range bodies {
					req := httptest.NewRequest(m, target, bytes.NewBufferString(body))
					rec := httptest.NewRecorder()
					func() {
						defer func() {
							if v := recover(); v != nil {
								t.Errorf("%s: %s %s %q panicked: %v", name, m, target, body, v)
							}
						}()
						h.ServeHTTP(rec, req)
					}()
					if rec.Code >= 500 {
						t.Errorf("%s: %s %s %q: status %d", name, m, target, body, rec.Code)
					}
					if rec.Code >= 300 && rec.Code < 400 && rec.Header().Get("Location") != "" {
						continue // ServeMux cleans paths like "//" with a redirect
					}
					ct := rec.Header().Get("Content-Type")
					if ct != "application/json" && ct != "application/problem+json" {
						t.Errorf("%s: %s %s: Content-Type %q", name, m, target, ct)
					}
				}
			}
		}
	}
}

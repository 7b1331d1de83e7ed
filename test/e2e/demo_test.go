package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/launch"
)

// startDemo runs `manifold demo` in-process on an ephemeral port and
// returns its base URL. The demo stops when the test ends.
func startDemo(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	var out strings.Builder
	go func() {
		done <- launch.Demo(ctx, launch.Options{Listen: "127.0.0.1:0", Ready: func(a string) { addr <- a }}, &out)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo shutdown: %v", err)
		}
	})
	select {
	case a := <-addr:
		if !strings.Contains(out.String(), "/v1/cities/Berlin/deals?lang=de") {
			t.Errorf("demo banner does not show the URLs to try:\n%s", out.String())
		}
		return launch.BaseURL(a)
	case err := <-done:
		t.Fatalf("demo did not start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("demo did not start within 10s")
	}
	return ""
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func get(t *testing.T, url string) answer {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return answer{resp.StatusCode, resp.Header, body}
}

func decode[T any](t *testing.T, a answer) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(a.body, &v); err != nil {
		t.Fatalf("answer is not the expected JSON: %v\n%s", err, a.body)
	}
	return v
}

type cityDeals struct {
	City    string `json:"city"`
	Markets []struct {
		ID      string         `json:"id"`
		Name    string         `json:"name"`
		Address map[string]any `json:"address"`
		Deals   []struct {
			Product struct {
				ID             string `json:"id"`
				Name           string `json:"name"`
				TranslatedName string `json:"translated_name"`
			} `json:"product"`
			Price           float64 `json:"price"`
			DiscountPercent int     `json:"discount_percent"`
			ValidUntil      string  `json:"valid_until"`
		} `json:"deals"`
	} `json:"markets"`
}

func TestDemoCityDeals(t *testing.T) {
	base := startDemo(t)
	a := get(t, base+"/v1/cities/Berlin/deals?lang=de")
	if a.status != 200 || a.header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, content type %q: %s", a.status, a.header.Get("Content-Type"), a.body)
	}
	if inc := a.header.Get("Manifold-Incomplete"); inc != "" {
		t.Errorf("Manifold-Incomplete = %q on a healthy demo", inc)
	}
	cd := decode[cityDeals](t, a)
	if cd.City != "Berlin" || len(cd.Markets) != 5 {
		t.Fatalf("city %q with %d markets, want Berlin with 5 (the default limit)", cd.City, len(cd.Markets))
	}
	translated := 0
	for _, m := range cd.Markets {
		if m.ID == "" || m.Name == "" || m.Address["street"] == nil || len(m.Deals) == 0 {
			t.Errorf("market %+v lacks id, name, address or deals", m)
		}
		for _, d := range m.Deals {
			if d.Product.ID == "" || d.Product.Name == "" || d.Price <= 0 || d.DiscountPercent <= 0 || d.ValidUntil == "" {
				t.Errorf("market %s: incomplete deal %+v", m.ID, d)
			}
			if d.Product.TranslatedName != d.Product.Name {
				translated++
			}
		}
	}
	if translated == 0 {
		t.Error("lang=de translated no product name")
	}

	en := decode[cityDeals](t, get(t, base+"/v1/cities/berlin/deals?limit=2"))
	if len(en.Markets) != 2 || en.Markets[0].Deals[0].Product.TranslatedName != en.Markets[0].Deals[0].Product.Name {
		t.Errorf("lang=en limit=2: %+v", en)
	}
}

func TestDemoProblems(t *testing.T) {
	base := startDemo(t)
	cases := []struct {
		name, path string
		status     int
		typ        string
		contains   string
	}{
		{"unknown city", "/v1/cities/Atlantis/deals", 404, "not-found", `unknown city \"Atlantis\"`},
		{"bad params", "/v1/cities/Berlin/deals?lang=xx&limit=0", 400, "bad-request", `"name":"lang"`},
		{"missing required", "/v1/products", 400, "bad-request", `{"in":"query","name":"q","reason":"required"}`},
		{"mistyped", "/v1/markets/nearest?lat=north&lon=13.4", 400, "bad-request", `"reason":"\"north\" is not a number"`},
		{"no such path", "/v2/nothing", 404, "not-found", "no pipeline"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := get(t, base+c.path)
			if a.status != c.status || a.header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("status %d %q, want %d problem+json: %s", a.status, a.header.Get("Content-Type"), c.status, a.body)
			}
			p := decode[map[string]any](t, a)
			if p["type"] != "urn:manifold:problem:"+c.typ || int(p["status"].(float64)) != c.status {
				t.Errorf("problem %s", a.body)
			}
			if !strings.Contains(string(a.body), c.contains) {
				t.Errorf("problem %s does not contain %s", a.body, c.contains)
			}
		})
	}
}

func TestDemoProductSearch(t *testing.T) {
	base := startDemo(t)
	a := get(t, base+"/v1/products?q=milk&lang=fr")
	if a.status != 200 {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	ps := decode[struct {
		Query    string           `json:"query"`
		Products []map[string]any `json:"products"`
	}](t, a)
	raw := ps.Products
	if ps.Query != "milk" || len(raw) == 0 {
		t.Fatalf("answer %s", a.body)
	}
	withDeals := 0
	for _, p := range raw {
		name, tn := p["name"].(string), p["translated_name"].(string)
		if !strings.Contains(strings.ToLower(name+" "+p["category"].(string)+" "+p["brand"].(string)), "milk") {
			t.Errorf("product %q does not match milk", name)
		}
		if name == "Whole Milk" && tn != "Lait entier" {
			t.Errorf("Whole Milk in French = %q", tn)
		}
		if deals := p["deals"].([]any); len(deals) > 0 {
			withDeals++
			if p["best_price"].(float64) > p["price"].(float64) {
				t.Errorf("%s: best_price above price", name)
			}
		}
	}
	if withDeals == 0 {
		t.Error("no product has deals")
	}
}

func TestDemoNearestMarkets(t *testing.T) {
	base := startDemo(t)
	a := get(t, base+"/v1/markets/nearest?lat=52.52&lon=13.405&radius_km=3")
	if a.status != 200 {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	ms := decode[struct {
		Markets []struct {
			ID         string  `json:"id"`
			DistanceKM float64 `json:"distance_km"`
			DealCount  int     `json:"deal_count"`
		} `json:"markets"`
	}](t, a).Markets
	if len(ms) == 0 {
		t.Fatal("no market within 3 km of Berlin Mitte")
	}
	for i, m := range ms {
		if m.DistanceKM > 3 || m.DealCount <= 0 || !strings.HasPrefix(m.ID, "ber-") {
			t.Errorf("market %+v: want a Berlin market within 3 km with deals", m)
		}
		if i > 0 && ms[i-1].DistanceKM > m.DistanceKM {
			t.Errorf("markets not nearest first: %v before %v", ms[i-1].DistanceKM, m.DistanceKM)
		}
	}
}

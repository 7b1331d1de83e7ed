package demo

import (
	"math"
	"net/http"
	"slices"
	"testing"
)

func marketID(m market) string { return m.ID }

func TestMarketsByCity(t *testing.T) {
	h := MarketsHandler()
	tests := []struct {
		target   string
		city     string
		wantLen  int
		wantIDs1 string // first market
	}{
		{"/markets?city=Berlin", "Berlin", 8, "ber-01"},
		{"/markets?city=berlin&limit=5", "Berlin", 5, "ber-01"},
		{"/markets?city=PARIS", "Paris", 7, "par-01"},
		{"/markets?city=%20Madrid%20&limit=2", "Madrid", 2, "mad-01"},
		{"/markets?city=hamburg&limit=500", "Hamburg", 6, "ham-01"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			var got cityMarkets
			do(t, h, http.MethodGet, tt.target, "").wantJSON(t, &got)
			if got.City != tt.city {
				t.Errorf("city = %q, want %q", got.City, tt.city)
			}
			if len(got.Markets) != tt.wantLen {
				t.Fatalf("%d markets, want %d", len(got.Markets), tt.wantLen)
			}
			if got.Markets[0].ID != tt.wantIDs1 {
				t.Errorf("first market %s, want %s", got.Markets[0].ID, tt.wantIDs1)
			}
			for _, m := range got.Markets {
				if m.City != tt.city || m.Address.City != tt.city {
					t.Errorf("%s is in %q", m.ID, m.City)
				}
				if m.Name == "" || m.Chain == "" || m.Address.Street == "" || m.Address.Postcode == "" ||
					m.Lat == 0 || m.Lon == 0 || m.OpeningHours == "" {
					t.Errorf("%s has empty fields: %+v", m.ID, m)
				}
			}
		})
	}
}

func TestMarketsFieldNames(t *testing.T) {
	var raw struct {
		Markets []map[string]any `json:"markets"`
	}
	do(t, MarketsHandler(), http.MethodGet, "/markets?city=Berlin&limit=1", "").wantJSON(t, &raw)
	for _, k := range []string{"id", "name", "chain", "address", "city", "lat", "lon", "opening_hours"} {
		if _, ok := raw.Markets[0][k]; !ok {
			t.Errorf("market has no %q: %v", k, raw.Markets[0])
		}
	}
	addr, _ := raw.Markets[0]["address"].(map[string]any)
	for _, k := range []string{"street", "postcode", "city"} {
		if _, ok := addr[k]; !ok {
			t.Errorf("address has no %q: %v", k, addr)
		}
	}
}

func TestMarketsErrors(t *testing.T) {
	h := MarketsHandler()
	tests := []struct {
		method, target string
		status         int
		detail         string
	}{
		{http.MethodGet, "/markets?city=Atlantis", http.StatusNotFound, `unknown city "Atlantis"`},
		{http.MethodGet, "/markets", http.StatusBadRequest, "city is required"},
		{http.MethodGet, "/markets?city=", http.StatusBadRequest, "city is required"},
		{http.MethodGet, "/markets?city=Berlin&limit=-1", http.StatusBadRequest, "limit"},
		{http.MethodGet, "/markets/ber-99", http.StatusNotFound, `unknown market "ber-99"`},
		{http.MethodGet, "/markets/nearest?lon=13.4", http.StatusBadRequest, "lat is required"},
		{http.MethodGet, "/markets/nearest?lat=52.5", http.StatusBadRequest, "lon is required"},
		{http.MethodGet, "/markets/nearest?lat=north&lon=13.4", http.StatusBadRequest, "lat must be a number"},
		{http.MethodGet, "/markets/nearest?lat=91&lon=13.4", http.StatusBadRequest, "lat must be a number"},
		{http.MethodGet, "/markets/nearest?lat=NaN&lon=13.4", http.StatusBadRequest, "lat"},
		{http.MethodGet, "/markets/nearest?lat=52.5&lon=Inf", http.StatusBadRequest, "lon"},
		{http.MethodGet, "/markets/nearest?lat=52.5&lon=13.4&radius_km=0", http.StatusBadRequest, "radius_km"},
		{http.MethodGet, "/markets/nearest?lat=52.5&lon=13.4&radius_km=-3", http.StatusBadRequest, "radius_km"},
		{http.MethodGet, "/markets/nearest?lat=52.5&lon=13.4&limit=x", http.StatusBadRequest, "limit"},
		{http.MethodPut, "/markets/ber-01", http.StatusMethodNotAllowed, "PUT"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			do(t, h, tt.method, tt.target, "").wantProblem(t, tt.status, tt.detail)
		})
	}
}

func TestMarketGet(t *testing.T) {
	var m market
	do(t, MarketsHandler(), http.MethodGet, "/markets/par-03", "").wantJSON(t, &m)
	if m.ID != "par-03" || m.City != "Paris" || m.Address.Postcode != "75009" {
		t.Errorf("GET /markets/par-03 = %+v", m)
	}
}

func TestMarketsNearest(t *testing.T) {
	h := MarketsHandler()
	tests := []struct {
		name      string
		target    string
		radius    float64
		wantFirst string
		minLen    int
		maxLen    int
	}{
		// Alexanderplatz: several Berlin markets within 5 km, none elsewhere.
		{"Berlin Mitte", "/markets/nearest?lat=52.5219&lon=13.4132", 5, "ber-02", 3, 8},
		// Next to the Monoprix on Rue de Rivoli.
		{"Paris Hôtel de Ville", "/markets/nearest?lat=48.8575&lon=2.3500&radius_km=2", 2, "par-01", 1, 7},
		{"limit", "/markets/nearest?lat=40.4168&lon=-3.7038&radius_km=10&limit=3", 10, "mad-02", 3, 3},
		{"middle of the Atlantic", "/markets/nearest?lat=40&lon=-30", 5, "", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got struct {
				Markets []nearMarket `json:"markets"`
			}
			do(t, h, http.MethodGet, tt.target, "").wantJSON(t, &got)
			if got.Markets == nil {
				t.Fatal(`"markets" is null, want an array`)
			}
			if n := len(got.Markets); n < tt.minLen || n > tt.maxLen {
				t.Fatalf("%d markets, want %d to %d", n, tt.minLen, tt.maxLen)
			}
			if tt.wantFirst != "" && got.Markets[0].ID != tt.wantFirst {
				t.Errorf("nearest is %s, want %s", got.Markets[0].ID, tt.wantFirst)
			}
			dists := make([]float64, len(got.Markets))
			for i, m := range got.Markets {
				dists[i] = m.DistanceKM
				if m.DistanceKM > tt.radius {
					t.Errorf("%s at %v km is outside the radius %v", m.ID, m.DistanceKM, tt.radius)
				}
				if m.DistanceKM != math.Round(m.DistanceKM*100)/100 {
					t.Errorf("%s: distance %v not rounded to 2 decimals", m.ID, m.DistanceKM)
				}
				if m.Name == "" || m.OpeningHours == "" {
					t.Errorf("%s: market fields missing: %+v", m.ID, m)
				}
			}
			if !slices.IsSorted(dists) {
				t.Errorf("distances not sorted: %v", dists)
			}
		})
	}
}

func TestHaversine(t *testing.T) {
	// Berlin Hauptbahnhof to Paris Gare du Nord is about 878 km.
	d := haversineKM(52.5251, 13.3694, 48.8809, 2.3553)
	if d < 870 || d > 885 {
		t.Errorf("Berlin–Paris = %.1f km, want about 878", d)
	}
	if d := haversineKM(52.52, 13.40, 52.52, 13.40); d != 0 {
		t.Errorf("same point = %v km", d)
	}
}

package demo

import (
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDataCities(t *testing.T) {
	cities := Cities()
	for _, want := range []string{"Berlin", "Paris", "Madrid"} {
		if !slices.Contains(cities, want) {
			t.Errorf("Cities() = %v, want it to contain %s", cities, want)
		}
	}
	if !slices.IsSorted(cities) {
		t.Errorf("Cities() = %v, want sorted", cities)
	}
	perCity := map[string]int{}
	for _, m := range markets {
		perCity[m.City]++
	}
	for _, c := range cities {
		if perCity[c] < 5 {
			t.Errorf("%s has %d markets, want at least 5", c, perCity[c])
		}
	}
}

// cityBox is a generous bounding box around each demo city.
var cityBox = map[string]struct{ latMin, latMax, lonMin, lonMax float64 }{
	"Berlin":  {52.34, 52.68, 13.09, 13.76},
	"Hamburg": {53.40, 53.74, 9.73, 10.33},
	"Madrid":  {40.31, 40.56, -3.89, -3.52},
	"Paris":   {48.81, 48.91, 2.22, 2.47},
}

var postcodeFor = map[string]*regexp.Regexp{
	"Berlin":  regexp.MustCompile(`^1[0-4]\d{3}$`),
	"Hamburg": regexp.MustCompile(`^2[0-2]\d{3}$`),
	"Madrid":  regexp.MustCompile(`^280\d{2}$`),
	"Paris":   regexp.MustCompile(`^750\d{2}$`),
}

func TestDataMarkets(t *testing.T) {
	idPattern := regexp.MustCompile(`^[a-z]{3}-\d{2}$`)
	seen := map[string]bool{}
	for _, m := range markets {
		if !idPattern.MatchString(m.ID) || seen[m.ID] {
			t.Errorf("market id %q is malformed or duplicate", m.ID)
		}
		seen[m.ID] = true
		if m.Name == "" || m.Chain == "" || m.OpeningHours == "" || m.Address.Street == "" {
			t.Errorf("%s: empty field in %+v", m.ID, m)
		}
		if !strings.Contains(m.Name, m.Chain) && !strings.Contains(m.Chain, strings.Fields(m.Name)[0]) {
			t.Errorf("%s: name %q does not mention chain %q", m.ID, m.Name, m.Chain)
		}
		if m.Address.City != m.City {
			t.Errorf("%s: address city %q != city %q", m.ID, m.Address.City, m.City)
		}
		box, ok := cityBox[m.City]
		if !ok {
			t.Errorf("%s: no bounding box for city %q", m.ID, m.City)
			continue
		}
		if m.Lat < box.latMin || m.Lat > box.latMax || m.Lon < box.lonMin || m.Lon > box.lonMax {
			t.Errorf("%s: (%v, %v) is outside %s", m.ID, m.Lat, m.Lon, m.City)
		}
		if !postcodeFor[m.City].MatchString(m.Address.Postcode) {
			t.Errorf("%s: postcode %q does not belong to %s", m.ID, m.Address.Postcode, m.City)
		}
	}
}

func TestDataProducts(t *testing.T) {
	if len(products) < 40 {
		t.Fatalf("%d products, want at least 40", len(products))
	}
	idPattern := regexp.MustCompile(`^p\d{4}$`)
	seen := map[string]bool{}
	categories := map[string]bool{}
	for _, p := range products {
		if !idPattern.MatchString(p.ID) || seen[p.ID] {
			t.Errorf("product id %q is malformed or duplicate", p.ID)
		}
		seen[p.ID] = true
		categories[p.Category] = true
		if p.Name == "" || p.Category == "" || p.Brand == "" || p.Unit == "" {
			t.Errorf("%s: empty field in %+v", p.ID, p)
		}
		if p.Price <= 0 || p.Price > 50 || math.Abs(p.Price*100-math.Round(p.Price*100)) > 1e-9 {
			t.Errorf("%s: price %v is not a plausible EUR amount", p.ID, p.Price)
		}
	}
	for _, c := range []string{"dairy", "bakery", "produce", "beverages", "pantry", "meat", "frozen", "household"} {
		if !categories[c] {
			t.Errorf("no product in category %q", c)
		}
	}
}

func TestDataDeals(t *testing.T) {
	day := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	dealsPerMarket := map[string]int{}
	seen := map[string]bool{}
	for _, d := range allDeals(day) {
		if seen[d.ID] {
			t.Errorf("duplicate deal id %s", d.ID)
		}
		seen[d.ID] = true
		dealsPerMarket[d.MarketID]++
		if _, ok := marketsByID[d.MarketID]; !ok {
			t.Errorf("%s: unknown market %q", d.ID, d.MarketID)
		}
		p, ok := productsByID[d.ProductID]
		if !ok {
			t.Errorf("%s: unknown product %q", d.ID, d.ProductID)
			continue
		}
		if d.RegularPrice != p.Price {
			t.Errorf("%s: regular price %v, product price %v", d.ID, d.RegularPrice, p.Price)
		}
		if !(d.Price > 0 && d.Price < d.RegularPrice) {
			t.Errorf("%s: price %v is not below the regular %v", d.ID, d.Price, d.RegularPrice)
		}
		exact := 100 * (d.RegularPrice - d.Price) / d.RegularPrice
		if math.Abs(float64(d.DiscountPercent)-exact) > 0.5+1e-9 || d.DiscountPercent < 1 {
			t.Errorf("%s: discount_percent %d, prices say %.2f%%", d.ID, d.DiscountPercent, exact)
		}
		if d.ValidFrom > "2025-03-01" || d.ValidUntil < "2025-03-01" {
			t.Errorf("%s: %s..%s does not contain 2025-03-01", d.ID, d.ValidFrom, d.ValidUntil)
		}
	}
	for _, m := range markets {
		if n := dealsPerMarket[m.ID]; n < 3 || n > 8 {
			t.Errorf("%s has %d deals, want 3 to 8", m.ID, n)
		}
	}
	for _, md := range dealSpecs {
		if _, ok := marketsByID[md.market]; !ok {
			t.Errorf("deals for unknown market %q", md.market)
		}
	}
}

func TestDataTranslations(t *testing.T) {
	for _, p := range products {
		for _, lang := range []string{"de", "fr", "es"} {
			got := translate(p.Name, "en", lang)
			if got == "" {
				t.Errorf("%s: no %s translation for %q", p.ID, lang, p.Name)
			}
			if _, ok := fromEnglish[lang][lookupKey(p.Name)]; !ok {
				t.Errorf("%s: %q missing from the en→%s dictionary", p.ID, p.Name, lang)
			}
		}
	}
	for _, term := range dictionary {
		if term.en == "" || term.de == "" || term.fr == "" || term.es == "" {
			t.Errorf("incomplete dictionary entry %+v", term)
		}
	}
}

func TestDiscountPercent(t *testing.T) {
	tests := []struct {
		price, regular float64
		want           int
	}{
		{0.99, 1.29, 23},
		{1.00, 2.00, 50},
		{1.49, 1.99, 25},
		{2.49, 3.49, 29},
		{1.29, 1.29, 0},
		{1.5, 0, 0},
	}
	for _, tt := range tests {
		if got := discountPercent(tt.price, tt.regular); got != tt.want {
			t.Errorf("discountPercent(%v, %v) = %d, want %d", tt.price, tt.regular, got, tt.want)
		}
	}
}

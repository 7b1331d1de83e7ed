package demo

import (
	"cmp"
	"net/http"
	"slices"
	"testing"
	"time"
)

// todayRange is the current UTC date before and after a test's requests, so
// that a test running across midnight does not fail.
func todayRange(t *testing.T, run func()) (from, until string) {
	t.Helper()
	from = time.Now().UTC().Format(dateLayout)
	run()
	until = time.Now().UTC().Format(dateLayout)
	return from, until
}

func TestMarketDeals(t *testing.T) {
	h := DealsHandler()
	for _, m := range markets {
		t.Run(m.ID, func(t *testing.T) {
			var got marketDealList
			before, after := todayRange(t, func() {
				do(t, h, http.MethodGet, "/markets/"+m.ID+"/deals", "").wantJSON(t, &got)
			})
			if got.MarketID != m.ID {
				t.Errorf("market_id = %q, want %q", got.MarketID, m.ID)
			}
			if n := len(got.Deals); n < 3 || n > 8 {
				t.Errorf("%d deals, want 3 to 8", n)
			}
			for _, d := range got.Deals {
				if d.MarketID != m.ID {
					t.Errorf("%s: market_id %q", d.ID, d.MarketID)
				}
				if _, ok := productsByID[d.ProductID]; !ok {
					t.Errorf("%s: unknown product %q", d.ID, d.ProductID)
				}
				if d.Price >= d.RegularPrice || d.DiscountPercent <= 0 {
					t.Errorf("%s: %v (regular %v, -%d%%) is no deal", d.ID, d.Price, d.RegularPrice, d.DiscountPercent)
				}
				if _, err := time.Parse(dateLayout, d.ValidFrom); err != nil {
					t.Errorf("%s: valid_from %q: %v", d.ID, d.ValidFrom, err)
				}
				if _, err := time.Parse(dateLayout, d.ValidUntil); err != nil {
					t.Errorf("%s: valid_until %q: %v", d.ID, d.ValidUntil, err)
				}
				if d.ValidFrom > after || d.ValidUntil < before {
					t.Errorf("%s: %s..%s is not valid today (%s)", d.ID, d.ValidFrom, d.ValidUntil, before)
				}
			}
		})
	}
}

func TestMarketDealsFieldNames(t *testing.T) {
	var raw struct {
		MarketID string           `json:"market_id"`
		Deals    []map[string]any `json:"deals"`
	}
	do(t, DealsHandler(), http.MethodGet, "/markets/BER-01/deals", "").wantJSON(t, &raw)
	if raw.MarketID != "ber-01" {
		t.Errorf("market_id = %q, want ber-01", raw.MarketID)
	}
	for _, k := range []string{"id", "market_id", "product_id", "price", "regular_price", "discount_percent", "valid_from", "valid_until"} {
		if _, ok := raw.Deals[0][k]; !ok {
			t.Errorf("deal has no %q: %v", k, raw.Deals[0])
		}
	}
}

func TestDealsDatesFollowTheClock(t *testing.T) {
	day := time.Date(2030, 12, 30, 15, 4, 5, 0, time.FixedZone("CET", 3600))
	h := wrap(dealsMux(func() time.Time { return day }), 0)
	var got marketDealList
	do(t, h, http.MethodGet, "/markets/ber-01/deals", "").wantJSON(t, &got)
	// ber-01-d1 runs from 2 days ago to 4 days ahead.
	d := got.Deals[0]
	if d.ID != "ber-01-d1" || d.ValidFrom != "2030-12-28" || d.ValidUntil != "2031-01-03" {
		t.Errorf("first deal = %+v, want ber-01-d1 valid 2030-12-28..2031-01-03", d)
	}
}

func TestDealsByProduct(t *testing.T) {
	h := DealsHandler()
	tests := []struct {
		name     string
		target   string
		products []string
		wantMin  int
	}{
		{"one product", "/deals?product_ids=p1001", []string{"p1001"}, 4},
		{"several", "/deals?product_ids=p1001,p1050,P1014", []string{"p1001", "p1050", "p1014"}, 10},
		{"unknown product", "/deals?product_ids=p9999", nil, 0},
		{"missing", "/deals", nil, 0},
		{"product without deals", "/deals?product_ids=p1056", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got dealList
			do(t, h, http.MethodGet, tt.target, "").wantJSON(t, &got)
			if got.Deals == nil {
				t.Fatal(`"deals" is null, want an array`)
			}
			if len(got.Deals) < tt.wantMin || (tt.wantMin == 0 && len(got.Deals) != 0) {
				t.Fatalf("%d deals, want at least %d", len(got.Deals), tt.wantMin)
			}
			markets := map[string]bool{}
			for _, d := range got.Deals {
				markets[d.MarketID] = true
				if !slices.Contains(tt.products, d.ProductID) {
					t.Errorf("%s is on %s, not asked for", d.ID, d.ProductID)
				}
			}
			if tt.wantMin > 0 && len(markets) < 2 {
				t.Errorf("deals come from %d market(s), want several", len(markets))
			}
			sorted := slices.IsSortedFunc(got.Deals, func(a, b deal) int {
				return cmp.Or(cmp.Compare(b.DiscountPercent, a.DiscountPercent), cmp.Compare(a.ID, b.ID))
			})
			if !sorted {
				t.Errorf("deals not sorted by discount desc, then id: %v", got.Deals)
			}
		})
	}
}

func TestDealsErrors(t *testing.T) {
	h := DealsHandler()
	do(t, h, http.MethodGet, "/markets/xyz-01/deals", "").wantProblem(t, http.StatusNotFound, `unknown market "xyz-01"`)
	do(t, h, http.MethodPost, "/deals?product_ids=p1001", "").wantProblem(t, http.StatusMethodNotAllowed, "POST")
	do(t, h, http.MethodGet, "/markets/ber-01", "").wantProblem(t, http.StatusNotFound, "no such endpoint")
}

package demo

import (
	"cmp"
	"fmt"
	"math"
	"net/http"
	"slices"
	"time"
)

// dateLayout is the ISO 8601 calendar date of valid_from and valid_until.
const dateLayout = "2006-01-02"

// deal is one offer as the deals backend answers it.
type deal struct {
	ID              string  `json:"id"`
	MarketID        string  `json:"market_id"`
	ProductID       string  `json:"product_id"`
	Price           float64 `json:"price"`
	RegularPrice    float64 `json:"regular_price"`
	DiscountPercent int     `json:"discount_percent"`
	ValidFrom       string  `json:"valid_from"`
	ValidUntil      string  `json:"valid_until"`
}

// marketDealList is the answer of GET /markets/{id}/deals.
type marketDealList struct {
	MarketID string `json:"market_id"`
	Deals    []deal `json:"deals"`
}

// dealList is the answer of GET /deals.
type dealList struct {
	Deals []deal `json:"deals"`
}

// today is the current day at midnight UTC.
func today(now time.Time) time.Time {
	return now.UTC().Truncate(24 * time.Hour)
}

// cents turns a EUR amount into whole cents.
func cents(eur float64) int64 { return int64(math.Round(eur * 100)) }

// discountPercent is the saving of price against regular, in whole percent
// rounded half up.
func discountPercent(price, regular float64) int {
	p, r := cents(price), cents(regular)
	if r <= 0 || p >= r {
		return 0
	}
	return int((200*(r-p) + r) / (2 * r))
}

// dealsOf materializes a market's deals for the given day.
func dealsOf(md marketDeals, day time.Time) []deal {
	out := make([]deal, 0, len(md.deals))
	for i, s := range md.deals {
		regular := productsByID[s.product].Price
		out = append(out, deal{
			ID:              fmt.Sprintf("%s-d%d", md.market, i+1),
			MarketID:        md.market,
			ProductID:       s.product,
			Price:           s.price,
			RegularPrice:    regular,
			DiscountPercent: discountPercent(s.price, regular),
			ValidFrom:       day.AddDate(0, 0, -s.daysAgo).Format(dateLayout),
			ValidUntil:      day.AddDate(0, 0, s.daysLeft).Format(dateLayout),
		})
	}
	return out
}

// allDeals is every deal of every market for the given day, in market order.
func allDeals(day time.Time) []deal {
	var out []deal
	for _, md := range dealSpecs {
		out = append(out, dealsOf(md, day)...)
	}
	return out
}

// DealsHandler serves the deals backend:
//
//	GET /markets/{id}/deals              a market's current deals (404 unknown market)
//	GET /deals?product_ids=p1001,p1002   deals on those products in every market, best discount first
//
// Validity dates are relative to the current day (UTC): every deal is valid today.
func DealsHandler() http.Handler {
	return wrap(dealsMux(time.Now), 0)
}

func dealsMux(now func() time.Time) *http.ServeMux {
	mux := newMux()
	handle(mux, http.MethodGet, "/markets/{id}/deals", func(w http.ResponseWriter, r *http.Request) {
		id := normalizeID(r.PathValue("id"))
		if _, ok := marketsByID[id]; !ok {
			writeProblem(w, http.StatusNotFound, fmt.Sprintf("unknown market %q", r.PathValue("id")))
			return
		}
		out := []deal{}
		for _, md := range dealSpecs {
			if md.market == id {
				out = dealsOf(md, today(now()))
				break
			}
		}
		writeJSON(w, http.StatusOK, marketDealList{MarketID: id, Deals: out})
	})
	handle(mux, http.MethodGet, "/deals", func(w http.ResponseWriter, r *http.Request) {
		wanted := map[string]bool{}
		for _, id := range listParam(r.URL.Query(), "product_ids") {
			wanted[id] = true
		}
		out := []deal{}
		if len(wanted) > 0 {
			for _, d := range allDeals(today(now())) {
				if wanted[d.ProductID] {
					out = append(out, d)
				}
			}
		}
		slices.SortFunc(out, func(a, b deal) int {
			return cmp.Or(cmp.Compare(b.DiscountPercent, a.DiscountPercent), cmp.Compare(a.ID, b.ID))
		})
		writeJSON(w, http.StatusOK, dealList{Deals: out})
	})
	handleOrders(mux, now)
	return mux
}

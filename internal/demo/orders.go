package demo

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// Order limits of the demo backend.
const (
	maxOrderItems    = 50
	maxOrderQuantity = 99
)

type orderItemRequest struct {
	ProductID string `json:"product_id"`
	Quantity  int    `json:"quantity"`
}

type orderRequest struct {
	MarketID string             `json:"market_id"`
	Items    []orderItemRequest `json:"items"`
	Customer string             `json:"customer"`
}

type orderLine struct {
	ProductID string  `json:"product_id"`
	Name      string  `json:"name"`
	Quantity  int     `json:"quantity"`
	UnitPrice float64 `json:"unit_price"`
	Deal      bool    `json:"deal"`
	LineTotal float64 `json:"line_total"`
}

type order struct {
	ID       string      `json:"id"`
	MarketID string      `json:"market_id"`
	Customer string      `json:"customer,omitempty"`
	Items    []orderLine `json:"items"`
	Total    float64     `json:"total"`
	Currency string      `json:"currency"`
	Status   string      `json:"status"`
	PlacedAt string      `json:"placed_at"`
}

// handleOrders registers POST /orders on the deals backend: an order at a
// market, priced at today's deal price where the market has one, else at
// the regular price. Orders are numbered, not stored.
//
//	POST /orders {"market_id":"ber-01","items":[{"product_id":"p1001","quantity":2}]}
//	          -> 201 {"id":"ord-1","market_id":"ber-01","items":[...],"total":1.98,...}
func handleOrders(mux *http.ServeMux, now func() time.Time) {
	var seq atomic.Int64
	handle(mux, http.MethodPost, "/orders", func(w http.ResponseWriter, r *http.Request) {
		var req orderRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			writeProblem(w, http.StatusBadRequest, `malformed JSON body: want {"market_id":"ber-01","items":[{"product_id":"p1001","quantity":2}]}`)
			return
		}
		id := normalizeID(req.MarketID)
		if _, ok := marketsByID[id]; !ok {
			writeProblem(w, http.StatusNotFound, fmt.Sprintf("unknown market %q", req.MarketID))
			return
		}
		lines, problemText := priceOrder(id, req.Items, today(now()))
		if problemText != "" {
			writeProblem(w, http.StatusBadRequest, problemText)
			return
		}
		o := order{
			ID: fmt.Sprintf("ord-%d", seq.Add(1)), MarketID: id, Customer: req.Customer,
			Items: lines, Currency: "EUR", Status: "placed", PlacedAt: now().UTC().Format(time.RFC3339),
		}
		for _, l := range lines {
			o.Total += l.LineTotal
		}
		o.Total = math.Round(o.Total*100) / 100
		writeJSON(w, http.StatusCreated, o)
	})
}

// priceOrder prices each item at market on day, or says what is wrong.
func priceOrder(market string, items []orderItemRequest, day time.Time) ([]orderLine, string) {
	if len(items) == 0 || len(items) > maxOrderItems {
		return nil, fmt.Sprintf("an order has 1 to %d items", maxOrderItems)
	}
	deals := map[string]float64{}
	for _, md := range dealSpecs {
		if md.market == market {
			for _, d := range dealsOf(md, day) {
				deals[d.ProductID] = d.Price
			}
		}
	}
	lines := make([]orderLine, 0, len(items))
	for _, it := range items {
		p, ok := productsByID[strings.ToLower(strings.TrimSpace(it.ProductID))]
		switch {
		case !ok:
			return nil, fmt.Sprintf("unknown product %q", it.ProductID)
		case it.Quantity < 1 || it.Quantity > maxOrderQuantity:
			return nil, fmt.Sprintf("quantity of %s must be 1 to %d", p.ID, maxOrderQuantity)
		}
		price, deal := deals[p.ID]
		if !deal {
			price = p.Price
		}
		lines = append(lines, orderLine{
			ProductID: p.ID, Name: p.Name, Quantity: it.Quantity, UnitPrice: price, Deal: deal,
			LineTotal: math.Round(price*float64(it.Quantity)*100) / 100,
		})
	}
	return lines, ""
}

package demo

import (
	"fmt"
	"net/http"
	"strings"
)

const (
	searchLimitDefault = 10
	searchLimitMax     = 50
)

// productsByID indexes the catalogue.
var productsByID = func() map[string]product {
	m := make(map[string]product, len(products))
	for _, p := range products {
		m[p.ID] = p
	}
	return m
}()

// productList is the answer of the list and search endpoints.
type productList struct {
	Products []product `json:"products"`
}

// ProductsHandler serves the products backend:
//
//	GET /products?ids=p1001,p1002          products in the order of ids, unknown ids skipped
//	GET /products/search?q=milk&limit=10   substring match on name, category or brand
//	GET /products/{id}                     one product, or 404
func ProductsHandler() http.Handler {
	return wrap(productsMux(), 0)
}

func productsMux() *http.ServeMux {
	mux := newMux()
	handle(mux, http.MethodGet, "/products", listProducts)
	handle(mux, http.MethodGet, "/products/search", searchProducts)
	handle(mux, http.MethodGet, "/products/{id}", getProduct)
	return mux
}

func listProducts(w http.ResponseWriter, r *http.Request) {
	out := []product{}
	for _, id := range listParam(r.URL.Query(), "ids") {
		if p, ok := productsByID[id]; ok {
			out = append(out, p)
		}
	}
	writeJSON(w, http.StatusOK, productList{Products: out})
}

func searchProducts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	term := strings.ToLower(strings.TrimSpace(q.Get("q")))
	if term == "" {
		writeProblem(w, http.StatusBadRequest, "q is required: the text to search for in product names, categories and brands")
		return
	}
	limit, err := intParam(q, "limit", searchLimitDefault, searchLimitMax)
	if err != nil {
		writeProblem(w, http.StatusBadRequest, err.Error())
		return
	}
	out := []product{}
	for _, p := range products {
		if len(out) == limit {
			break
		}
		if strings.Contains(strings.ToLower(p.Name), term) ||
			strings.Contains(strings.ToLower(p.Category), term) ||
			strings.Contains(strings.ToLower(p.Brand), term) {
			out = append(out, p)
		}
	}
	writeJSON(w, http.StatusOK, productList{Products: out})
}

func getProduct(w http.ResponseWriter, r *http.Request) {
	id := normalizeID(r.PathValue("id"))
	p, ok := productsByID[id]
	if !ok {
		writeProblem(w, http.StatusNotFound, fmt.Sprintf("unknown product %q", r.PathValue("id")))
		return
	}
	writeJSON(w, http.StatusOK, p)
}

package demo

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

func productID(p product) string { return p.ID }

func TestProductsList(t *testing.T) {
	h := ProductsHandler()
	tests := []struct {
		name   string
		target string
		want   []string
	}{
		{"in the order asked", "/products?ids=p1009,p1001", []string{"p1009", "p1001"}},
		{"unknown ids skipped", "/products?ids=p1001,p9999,nope,p1002", []string{"p1001", "p1002"}},
		{"spaces, case, duplicates", "/products?ids=%20P1003%20,p1003,,p1004", []string{"p1003", "p1004"}},
		{"repeated parameter", "/products?ids=p1005&ids=p1006", []string{"p1005", "p1006"}},
		{"missing ids", "/products", []string{}},
		{"empty ids", "/products?ids=", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got productList
			do(t, h, http.MethodGet, tt.target, "").wantJSON(t, &got)
			if got.Products == nil {
				t.Fatal(`"products" is null, want an array`)
			}
			if ids := ids(got.Products, productID); !slices.Equal(ids, tt.want) {
				t.Errorf("ids = %v, want %v", ids, tt.want)
			}
		})
	}
}

func TestProductsListFields(t *testing.T) {
	a := do(t, ProductsHandler(), http.MethodGet, "/products?ids=p1001", "")
	var raw map[string][]map[string]any
	a.wantJSON(t, &raw)
	want := map[string]any{
		"id": "p1001", "name": "Whole Milk", "category": "dairy",
		"brand": "Weihenstephan", "unit": "1 l", "price": 1.29,
	}
	if len(raw["products"]) != 1 {
		t.Fatalf("products = %v", raw["products"])
	}
	for k, v := range want {
		if raw["products"][0][k] != v {
			t.Errorf("%s = %v, want %v", k, raw["products"][0][k], v)
		}
	}
}

func TestProductsSearch(t *testing.T) {
	h := ProductsHandler()
	tests := []struct {
		name    string
		target  string
		check   func(t *testing.T, ps []product)
		wantLen int // -1: don't check
	}{
		{"name, case-insensitive", "/products/search?q=MILK", func(t *testing.T, ps []product) {
			for _, p := range ps {
				if !strings.Contains(strings.ToLower(p.Name), "milk") {
					t.Errorf("%s %q does not match milk", p.ID, p.Name)
				}
			}
		}, 2},
		{"category", "/products/search?q=frozen&limit=50", func(t *testing.T, ps []product) {
			for _, p := range ps {
				if p.Category != "frozen" {
					t.Errorf("%s is %s", p.ID, p.Category)
				}
			}
		}, 4},
		{"brand", "/products/search?q=zewa", nil, 2},
		{"default limit 10", "/products/search?q=a", nil, 10},
		{"limit", "/products/search?q=a&limit=3", nil, 3},
		{"limit capped at 50", "/products/search?q=e&limit=500", func(t *testing.T, ps []product) {
			if len(ps) > 50 {
				t.Errorf("%d results, want at most 50", len(ps))
			}
		}, -1},
		{"no match", "/products/search?q=caviar", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got productList
			do(t, h, http.MethodGet, tt.target, "").wantJSON(t, &got)
			if got.Products == nil {
				t.Fatal(`"products" is null, want an array`)
			}
			if tt.wantLen >= 0 && len(got.Products) != tt.wantLen {
				t.Errorf("%d results, want %d: %v", len(got.Products), tt.wantLen, ids(got.Products, productID))
			}
			if tt.check != nil {
				tt.check(t, got.Products)
			}
		})
	}
}

func TestProductsErrors(t *testing.T) {
	h := ProductsHandler()
	tests := []struct {
		method, target string
		status         int
		detail         string
	}{
		{http.MethodGet, "/products/search", http.StatusBadRequest, "q is required"},
		{http.MethodGet, "/products/search?q=%20%20", http.StatusBadRequest, "q is required"},
		{http.MethodGet, "/products/search?q=milk&limit=0", http.StatusBadRequest, "limit"},
		{http.MethodGet, "/products/search?q=milk&limit=ten", http.StatusBadRequest, "limit"},
		{http.MethodGet, "/products/p9999", http.StatusNotFound, `unknown product "p9999"`},
		{http.MethodGet, "/nothing-here", http.StatusNotFound, "/nothing-here"},
		{http.MethodPost, "/products?ids=p1001", http.StatusMethodNotAllowed, "POST"},
		{http.MethodDelete, "/products/p1001", http.StatusMethodNotAllowed, "DELETE"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			do(t, h, tt.method, tt.target, "").wantProblem(t, tt.status, tt.detail)
		})
	}
}

func TestProductGet(t *testing.T) {
	h := ProductsHandler()
	for _, target := range []string{"/products/p1009", "/products/P1009"} {
		var p product
		do(t, h, http.MethodGet, target, "").wantJSON(t, &p)
		if p.ID != "p1009" || p.Name != "Sourdough Bread" || p.Price != 2.79 {
			t.Errorf("GET %s = %+v", target, p)
		}
	}
	if a := do(t, h, http.MethodHead, "/products/p1009", ""); a.status != http.StatusOK {
		t.Errorf("HEAD status = %d", a.status)
	}
}

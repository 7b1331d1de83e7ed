package openapi

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/manifoldgw/manifold/internal/problem"
)

// TestUnknownQueryRejectsOtherParamsNames: with unknown_query: reject, a
// query parameter is known only by a query param's wire name: the name of
// a path or header parameter, or a query param's key where its wire name
// differs, given in the query is refused, naming it.
func TestUnknownQueryRejectsOtherParamsNames(t *testing.T) {
	sp := generate(t, planOf(t, map[string]string{"shop.yaml": `
name: shop
path: /shops/{shop}
unknown_query: reject
params:
  shop: {in: path, type: string}
  tenant: {in: header, type: string, name: X_Tenant}
  lang: {in: query, type: string, name: hl}
steps:
  s: {upstream: api, path: /shops}
`}))
	p := sp.Plan.Pipeline("shop")
	check := func(query string) error {
		r := httptest.NewRequest(http.MethodGet, "/shops/berlin"+query, nil)
		r.SetPathValue("shop", "berlin")
		return sp.Check(r, r.URL.Query(), p)
	}
	if err := check("?hl=de"); err != nil {
		t.Fatalf("the declared query parameter: %v", err)
	}
	for query, name := range map[string]string{"?shop=x": "shop", "?X_Tenant=x": "X_Tenant", "?tenant=x": "tenant", "?lang=de": "lang"} {
		err := check(query)
		var pe *problem.Error
		if !errors.As(err, &pe) || pe.P.Status != http.StatusBadRequest {
			t.Errorf("%s: %v, want a 400", query, err)
			continue
		}
		if got, want := fmtEntries(pe.P.Errors), "[{query "+name+" unknown parameter}]"; got != want {
			t.Errorf("%s: errors %s, want %s", query, got, want)
		}
	}
}

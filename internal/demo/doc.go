// Package demo holds the four backends that `manifold demo` starts on
// loopback so that the demo pipelines have something real to fan out to:
// a product catalogue, supermarkets in Berlin, Hamburg, Madrid and Paris,
// their current deals, and a small translation service.
//
// The data is fixed Go literals, the same on every run, except that deal
// validity dates are relative to the current day (UTC), so every deal is
// valid today. Prices are in EUR.
//
// Endpoints (all answers are JSON; errors are RFC 9457
// application/problem+json documents with type, title, status and detail):
//
//	products     GET  /products?ids=p1001,p1002
//	             GET  /products/search?q=milk&limit=10
//	             GET  /products/{id}
//	markets      GET  /markets?city=Berlin&limit=5
//	             GET  /markets/nearest?lat=52.52&lon=13.40&radius_km=5&limit=10
//	             GET  /markets/{id}
//	deals        GET  /markets/{id}/deals
//	             GET  /deals?product_ids=p1001,p1002
//	             POST /orders {"market_id":"ber-01","items":[{"product_id":"p1001","quantity":2}]}
//	translation  POST /translate {"target":"de","q":["Whole Milk"],"source":"en"}
//
// Start runs all four on their own http.Servers; Backends.Env gives their
// base URLs as the MANIFOLD_DEMO_*_URL variables that the demo gateway.yaml
// reads. ProductsHandler, MarketsHandler, DealsHandler and TranslationHandler
// serve the same routes for use with net/http/httptest.
package demo

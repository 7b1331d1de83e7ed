package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

const (
	geoKey       = "geo-key-5f1c0e2a9b"
	clientSecret = "client-secret-77d3a1"
	basicPass    = "basic-pass-0c9e44"
)

// credentialBackends are a geocoder that wants an api key in the query,
// a weather API that wants a client-credentials token, an OAuth2 token
// endpoint, and a stations API behind basic auth. Each refuses a call
// without its credential.
type credentialBackends struct {
	geo, weather, idp, stations *httptest.Server
	tokens                      atomic.Int32
	idpDown                     atomic.Bool
}

func startCredentialBackends(t *testing.T) *credentialBackends {
	t.Helper()
	b := &credentialBackends{}
	b.geo = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("key") != geoKey {
			http.Error(w, `{"error":"bad key"}`, http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, `{"results":[{"name":%q,"lat":52.52,"lon":13.4}]}`, r.URL.Query().Get("name"))
	}))
	b.idp = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		id, secret, _ := r.BasicAuth()
		if b.idpDown.Load() || id != "gateway" || secret != clientSecret || r.PostForm.Get("audience") != "weather-api" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"error":"invalid_client","error_description":"secret %s refused"}`, clientSecret)
			return
		}
		n := b.tokens.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"weather-token-%d","token_type":"Bearer","expires_in":3600}`, n)
	}))
	b.weather = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer weather-token-") {
			http.Error(w, "{}", http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, `{"current":{"temperature":21.5}}`)
	}))
	b.stations = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, _ := r.BasicAuth(); u != "svc" || p != basicPass {
			http.Error(w, "{}", http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, `{"stations":["Mitte"]}`)
	}))
	for _, s := range []*httptest.Server{b.geo, b.idp, b.weather, b.stations} {
		t.Cleanup(s.Close)
	}
	t.Setenv("GEO_KEY", geoKey)
	t.Setenv("WEATHER_CLIENT_SECRET", clientSecret)
	t.Setenv("STATIONS_PASSWORD", basicPass)
	return b
}

func (b *credentialBackends) files() map[string]string {
	return map[string]string{
		"gateway.yaml": fmt.Sprintf(`
audit: {nats: "off"}
upstreams:
  geo:
    url: %s
    auth: {type: api_key, in: query, name: key, value: "${GEO_KEY}"}
    query: {format: json}
  weather:
    url: %s
    auth: {type: oauth2_client_credentials, token_url: "%s/oauth/token", client_id: gateway,
           client_secret: "${WEATHER_CLIENT_SECRET}", scopes: [read], audience: weather-api}
  stations:
    url: %s
    auth: {type: basic, username: svc, password: "${STATIONS_PASSWORD}"}
`, b.geo.URL, b.weather.URL, b.idp.URL, b.stations.URL),
		"forecast.yaml": `
name: forecast
path: /v1/forecast
params: {city: {in: query, type: string, required: true}}
steps:
  place:    {upstream: geo, path: /v1/search, query: {name: "${ .params.city }"}, select: ".results[0]"}
  weather:  {upstream: weather, needs: [place], path: /v1/forecast, query: {lat: "${ .place.lat }", lon: "${ .place.lon }"}}
  stations: {upstream: stations, path: /stations}
output: '{city: .place.name, temperature: .weather.current.temperature, stations: .stations.stations}'
`,
	}
}

// TestUpstreamCredentialsREST calls three upstreams that each need their
// own credential; the api key in the query is shown REDACTED nowhere,
// since the gateway never shows it at all.
func TestUpstreamCredentialsREST(t *testing.T) {
	b := startCredentialBackends(t)
	base, _ := serveDir(t, b.files())
	for range 3 {
		a := get(t, base+"/v1/forecast?city=Berlin")
		if a.status != http.StatusOK || string(a.body) != `{"city":"Berlin","stations":["Mitte"],"temperature":21.5}` {
			t.Fatalf("got %d %s", a.status, a.body)
		}
	}
	if n := b.tokens.Load(); n != 1 {
		t.Errorf("token endpoint called %d times for 3 requests, want 1", n)
	}
	r := graphql(t, base, `{ run(pipeline: "forecast", params: {city: "Berlin"}) { status steps { name url } } }`, nil, "")
	if len(r.Errors) > 0 || !strings.Contains(string(r.Data), "/v1/search?name=Berlin") {
		t.Fatalf("GraphQL run: %s %+v", r.Data, r.Errors)
	}
	for _, secret := range []string{geoKey, clientSecret, basicPass, "weather-token-"} {
		if strings.Contains(string(r.Data), secret) {
			t.Errorf("GraphQL step URLs show a credential: %s", r.Data)
		}
	}
	res := callTool(t, connect(t, base, headers{}, nil), "forecast", map[string]any{"city": "Berlin"})
	if res.IsError || !strings.Contains(text(res), "21.5") {
		t.Errorf("MCP forecast: %s", text(res))
	}
}

// TestTokenEndpointDown: the gateway cannot get its token; the caller gets
// a 502 naming the upstream, with neither the secret nor the endpoint's
// words.
func TestTokenEndpointDown(t *testing.T) {
	b := startCredentialBackends(t)
	b.idpDown.Store(true)
	base, _ := serveDir(t, b.files())
	a := get(t, base+"/v1/forecast?city=Berlin")
	var p map[string]any
	if err := json.Unmarshal(a.body, &p); err != nil || a.status != http.StatusBadGateway {
		t.Fatalf("got %d %s", a.status, a.body)
	}
	want := "step weather: no credential for upstream weather: its token endpoint answered 401 (invalid_client)"
	if p["type"] != "urn:manifold:problem:upstream-auth-failed" {
		t.Errorf("type %v, want upstream-auth-failed", p["type"])
	}
	if p["detail"] != want || p["upstream"] != "weather" || a.header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("problem %s (%s), want detail %q", a.body, a.header.Get("Content-Type"), want)
	}
	if strings.Contains(string(a.body), clientSecret) || strings.Contains(string(a.body), "refused") {
		t.Errorf("problem quotes the token endpoint: %s", a.body)
	}
}

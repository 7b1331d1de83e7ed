package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRunTraceShowsFullURLWithSecretsRedacted checks that --trace shows
// each step's call, method, path and query, with the values gateway.yaml
// took from the environment (an upstream URL, an API key wherever it
// turns up) REDACTED, and query parameters named like credentials too.
func TestRunTraceShowsFullURLWithSecretsRedacted(t *testing.T) {
	var gotQuery string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotQuery = r.URL.RawQuery + " " + r.Header.Get("X-Api-Key")
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok": true}`)
	}))
	defer backend.Close()
	t.Setenv("TRACE_TEST_BASE", backend.URL)
	t.Setenv("TRACE_TEST_APPID", "appid-s3cr3t-value")
	dir := writeDir(t, map[string]string{
		"gateway.yaml": "upstreams:\n  meteo: {url: \"${TRACE_TEST_BASE}/v1\", headers: {X-Api-Key: \"${TRACE_TEST_APPID}\"}}\n",
		"w.yaml": `
name: weather
path: /weather
params: {city: {type: string, required: true}, echo: {type: string}}
steps:
  forecast:
    upstream: meteo
    path: /forecast/${ .params.city }
    query: {name: "${ .params.city }", days: 3, access_token: "${ .params.city }", echo: "${ .params.echo }"}
`,
	})
	_, stderr, err := execute(t, "run", dir, "weather", "--param", "city=Berlin", "--param", "echo=appid-s3cr3t-value", "--trace")
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	if want := "access_token=Berlin&days=3&echo=appid-s3cr3t-value&name=Berlin appid-s3cr3t-value"; gotQuery != want {
		t.Fatalf("the upstream got %q, want %q", gotQuery, want)
	}
	want := "GET REDACTED/v1/forecast/Berlin?access_token=REDACTED&days=3&echo=REDACTED&name=Berlin"
	if !strings.Contains(stderr, want) {
		t.Errorf("trace lacks %q:\n%s", want, stderr)
	}
	for _, leak := range []string{"appid-s3cr3t-value", backend.URL, strings.TrimPrefix(backend.URL, "http://")} {
		if strings.Contains(stderr, leak) {
			t.Errorf("trace shows the secret %q:\n%s", leak, stderr)
		}
	}
	if !strings.HasPrefix(stderr, fmt.Sprintf("%-10s", "STEP")) {
		t.Errorf("trace header:\n%s", stderr)
	}
}

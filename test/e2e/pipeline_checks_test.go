package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// getProblem GETs url and decodes the problem it answers.
func getProblem(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var p map[string]any
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("%d %s: %v", resp.StatusCode, b, err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Errorf("content type %q, want a problem", ct)
	}
	return resp.StatusCode, p
}

// TestPipelineBugIsPipelineError runs a pipeline whose foreach meets a
// string at run time (a healthy upstream answered as documented): every
// surface answers a 500 pipeline-error naming the step, the expression
// and where it is written, never a 4xx blaming the caller nor a 502
// blaming the upstream, and the upstream's value is not quoted.
func TestPipelineBugIsPipelineError(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"markets": "Berlin-Mitte"}`)
	}))
	defer up.Close()
	base, _ := serveDir(t, map[string]string{
		"gateway.yaml": fmt.Sprintf("upstreams:\n  markets: {url: %q}\n", up.URL),
		"deals.yaml": `name: deals
path: /deals
steps:
  markets:
    upstream: markets
    path: /markets
    select: .markets
  deals:
    upstream: markets
    needs: [markets]
    foreach: |
      .markets
      | .[]
    path: /deals/${ .item.id }
`,
	})
	const (
		expression = "steps.deals.foreach"
		at         = "deals.yaml:11:14"
		detail     = `step deals: steps.deals.foreach failed: cannot iterate over: string at line 2 of the expression: "| .[]"`
	)
	t.Run("REST", func(t *testing.T) {
		status, p := getProblem(t, base+"/deals")
		if status != 500 || p["type"] != "urn:manifold:problem:pipeline-error" || p["step"] != "deals" ||
			p["expression"] != expression || p["at"] != at || p["detail"] != detail {
			t.Errorf("problem %v\nwant a 500 pipeline-error, step deals, expression %s at %s, detail %q", p, expression, at, detail)
		}
		if b, _ := json.Marshal(p); strings.Contains(string(b), "Berlin-Mitte") {
			t.Errorf("the problem quotes the upstream's value: %s", b)
		}
	})
	t.Run("GraphQL", func(t *testing.T) {
		r := graphql(t, base, `{ run(pipeline: "deals") { status data } }`, nil, "")
		if len(r.Errors) != 1 {
			t.Fatalf("errors: %+v (data %s)", r.Errors, r.Data)
		}
		e := r.Errors[0]
		if e.Message != detail || e.Extensions["type"] != "urn:manifold:problem:pipeline-error" ||
			e.Extensions["step"] != "deals" || e.Extensions["expression"] != expression || e.Extensions["at"] != at || e.Extensions["status"] != float64(500) {
			t.Errorf("message %q, extensions %v; want the pipeline-error", e.Message, e.Extensions)
		}
	})
	t.Run("MCP", func(t *testing.T) {
		res := callTool(t, connect(t, base, headers{}, nil), "deals", map[string]any{})
		got := text(res)
		first, _, _ := strings.Cut(got, "\n")
		if !res.IsError || first != "Error 500 Internal Server Error: "+detail ||
			!strings.Contains(got, `"expression":"`+expression+`"`) || !strings.Contains(got, `"type":"urn:manifold:problem:pipeline-error"`) {
			t.Errorf("tool error text:\n%s", got)
		}
	})
}

// TestUpstreamReasonReachesUpstreamDetail checks that an Open-Meteo style
// error body ({"error": true, "reason": ...}) gives its reason to the
// problem's upstream_detail (never its detail), and that error_detail:
// false keeps it to the gateway.
func TestUpstreamReasonReachesUpstreamDetail(t *testing.T) {
	const reason = "Latitude must be in range of -90 to 90°. Given: 91.0."
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = fmt.Fprintf(w, `{"error": true, "reason": %q}`, reason)
	}))
	defer up.Close()
	base, _ := serveDir(t, map[string]string{
		"gateway.yaml": fmt.Sprintf("upstreams:\n  meteo: {url: %q}\n  quiet: {url: %q, error_detail: false}\n", up.URL, up.URL),
		"forecast.yaml": `name: forecast
path: /forecast
params: {latitude: {type: number, required: true}}
steps:
  forecast: {upstream: meteo, path: /v1/forecast, query: {latitude: "${ .params.latitude }"}}
`,
		"quiet.yaml": `name: quiet
path: /quiet
steps:
  forecast: {upstream: quiet, path: /v1/forecast}
`,
	})
	status, p := getProblem(t, base+"/forecast?latitude=91")
	if status != 400 || p["upstream_detail"] != reason || strings.Contains(fmt.Sprint(p["detail"]), "Latitude") {
		t.Errorf("problem %v; want a 400 with the reason in upstream_detail only", p)
	}
	status, p = getProblem(t, base+"/quiet")
	if _, ok := p["upstream_detail"]; status != 400 || ok || p["detail"] != `upstream "quiet" rejected the request (400)` {
		t.Errorf("problem %v; want a 400 without upstream_detail (error_detail: false)", p)
	}
}

// TestTimelineShowsPathAndQuery checks the GraphQL timeline: each call's
// path and query in full, the upstream URL taken from the environment
// REDACTED, and a credential-named query value too.
func TestTimelineShowsPathAndQuery(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok": true}`)
	}))
	defer up.Close()
	t.Setenv("E2E_METEO_URL", up.URL+"/api")
	base, _ := serveDir(t, map[string]string{
		"gateway.yaml": "upstreams:\n  meteo: {url: \"${E2E_METEO_URL}\"}\n",
		"w.yaml": `name: weather
path: /weather
params: {city: {type: string, required: true}}
steps:
  forecast: {upstream: meteo, path: "/v1/forecast/${ .params.city }", query: {name: "${ .params.city }", days: 3, api_key: demo}}
`,
	})
	r := graphql(t, base, `{ run(pipeline: "weather", params: {city: "Berlin"}) { status steps { name url } } }`, nil, "")
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	const want = `"url":"REDACTED/v1/forecast/Berlin?api_key=REDACTED\u0026days=3\u0026name=Berlin"`
	if !strings.Contains(string(r.Data), want) || strings.Contains(string(r.Data), strings.TrimPrefix(up.URL, "http://")) {
		t.Errorf("timeline %s\nwant %s", r.Data, want)
	}
}

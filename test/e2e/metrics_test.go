package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/manifoldgw/manifold/internal/launch"
)

// scrape reads /metrics and parses the Prometheus text format.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: status %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics is not the Prometheus text format: %v", err)
	}
	return families
}

// value is the value of the series of family whose labels include
// labels (a counter, a gauge, or a histogram's count); -1 when there is
// none.
func value(families map[string]*dto.MetricFamily, family string, labels map[string]string) float64 {
	f := families[family]
	if f == nil {
		return -1
	}
	total, found := 0.0, false
	for _, m := range f.Metric {
		if !hasLabels(m, labels) {
			continue
		}
		found = true
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Histogram != nil:
			total += float64(m.Histogram.GetSampleCount())
		}
	}
	if !found {
		return -1
	}
	return total
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	have := map[string]string{}
	for _, l := range m.Label {
		have[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// TestMetricsAfterKnownTraffic sends a known mix of requests and checks
// the counters /metrics shows, and that no label holds a raw path.
func TestMetricsAfterKnownTraffic(t *testing.T) {
	ok := newCounting(t, `{"v":1}`)
	down := newCounting(t, `{}`)
	down.fail.Store(true)
	g := serveOps(t, map[string]string{
		"gateway.yaml": fmt.Sprintf("upstreams:\n  ok: {url: %q}\n  down: {url: %q, breaker: {failures: 2, cooldown: 1h}}\n", ok.URL, down.URL),
		"cached.yaml":  "name: cached\npath: /cached/{id}\nparams: {id: {in: path, type: string}}\ncache: 1m\nsteps:\n  s: {upstream: ok, path: /x, cache: 1m}\n",
		"broken.yaml":  "name: broken\npath: /broken\nsteps:\n  s: {upstream: down, path: /y}\n",
		"limited.yaml": "name: limited\npath: /limited\naccess: {public: true, rate: 1/hour}\nsteps:\n  s: {upstream: ok, path: /z}\n",
	}, nil, launch.Options{})

	for i := range 5 {
		fetch(t, fmt.Sprintf("%s/cached/%d", g.base, i%2)) // ids 0,1,0,1,0: 2 misses, 3 hits
	}
	for range 4 {
		fetch(t, g.base+"/broken") // 2 failures open the breaker, 2 fail fast
	}
	for range 3 {
		fetch(t, g.base+"/limited") // 1 allowed, 2 refused
	}
	fetch(t, g.base+"/nowhere")
	m := scrape(t, g.base)

	cases := []struct {
		family string
		labels map[string]string
		want   float64
	}{
		{"http_server_request_duration_seconds", map[string]string{"http_route": "/cached/{id}", "http_response_status_code": "200"}, 5},
		{"http_server_request_duration_seconds", map[string]string{"http_route": "/broken", "manifold_status_class": "5xx"}, 4},
		{"http_server_request_duration_seconds", map[string]string{"http_route": "", "http_response_status_code": "404"}, 1},
		{"manifold_pipeline_duration_seconds", map[string]string{"manifold_pipeline": "cached", "manifold_status_class": "2xx", "manifold_surface": "rest"}, 5},
		{"manifold_pipeline_duration_seconds", map[string]string{"manifold_pipeline": "broken", "manifold_status_class": "5xx"}, 4},
		{"manifold_cache_lookups_total", map[string]string{"manifold_cache_layer": "response", "manifold_cache_name": "cached", "manifold_cache_outcome": "hit"}, 3},
		{"manifold_cache_lookups_total", map[string]string{"manifold_cache_layer": "response", "manifold_cache_name": "cached", "manifold_cache_outcome": "miss"}, 2},
		// The two runs make the same upstream call: a miss, then a hit.
		{"manifold_cache_lookups_total", map[string]string{"manifold_cache_layer": "step", "manifold_cache_name": "ok", "manifold_cache_outcome": "miss"}, 1},
		{"manifold_cache_lookups_total", map[string]string{"manifold_cache_layer": "step", "manifold_cache_name": "ok", "manifold_cache_outcome": "hit"}, 1},
		{"manifold_upstream_duration_seconds", map[string]string{"manifold_upstream": "ok"}, 3}, // 2 for cached, 1 for limited
		{"manifold_upstream_errors_total", map[string]string{"manifold_upstream": "down", "error_type": "503"}, 2},
		{"manifold_upstream_errors_total", map[string]string{"manifold_upstream": "down", "error_type": "breaker_open"}, 2},
		{"manifold_upstream_breaker_state", map[string]string{"manifold_upstream": "down", "manifold_breaker_state": "open"}, 1},
		{"manifold_upstream_breaker_state", map[string]string{"manifold_upstream": "ok", "manifold_breaker_state": "closed"}, 1},
		{"manifold_upstream_inflight", map[string]string{"manifold_upstream": "ok"}, 0},
		{"manifold_ratelimit_rejections_total", map[string]string{"manifold_pipeline": "limited"}, 2},
		{"manifold_config_last_reload_successful", nil, 1},
	}
	for _, c := range cases {
		t.Run(c.family+fmt.Sprint(c.labels), func(t *testing.T) {
			if got := value(m, c.family, c.labels); got != c.want {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
	if down.calls.Load() != 2 {
		t.Errorf("the failing upstream was called %d times, want 2", down.calls.Load())
	}
	for name, f := range m {
		for _, metric := range f.Metric {
			for _, l := range metric.Label {
				if strings.Contains(l.GetValue(), "/cached/0") || strings.Contains(l.GetValue(), "/nowhere") {
					t.Errorf("%s has a raw path in label %s=%q", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
}

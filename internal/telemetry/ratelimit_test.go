package telemetry

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/manifoldgw/manifold/internal/gateway"
)

// TestRateLimitClusterGauges: an operator sees how many replicas share
// the rate limits and whether this one enforces its share alone.
func TestRateLimitClusterGauges(t *testing.T) {
	var buf bytes.Buffer
	tel, _ := newTest(t, gateway.Telemetry{ServiceName: "manifold"}, &buf)
	tel.Metrics.WatchRateLimit(func() (int, bool) { return 3, true })
	rec := httptest.NewRecorder()
	tel.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{"manifold_ratelimit_cluster_replicas 3", "manifold_ratelimit_cluster_fallback 1"} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

package resolvers

import (
	"errors"
	"fmt"
	"testing"
	"testing/fstest"
	"time"

	"github.com/manifoldgw/manifold/connectors"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// TestURLsHideSecrets: upstream and step URLs never show credentials,
// values taken from the environment, or sensitive query values.
func TestURLsHideSecrets(t *testing.T) {
	env := map[string]string{
		"PASS":     "hunter2-pass",
		"TOKEN":    "tok-8f2e9c",
		"HOOK_URL": "https://hooks.example.com/services/T0/B0/XXXX",
	}
	fsys := fstest.MapFS{"gateway.yaml": {Data: []byte(`
upstreams:
  basic: {url: "https://svc:${PASS}@api.example.com/v1"}
  pathkey: {url: "https://api.example.com/${TOKEN}/v2/"}
  hook: {url: "${HOOK_URL}"}
`)}}
	plan, err := pipeline.Load(fsys, ".", pipeline.LoadOptions{LookupEnv: func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}})
	if err != nil {
		t.Fatal(err)
	}
	tr := tracer{gw: plan.Gateway}
	cases := []struct {
		name, upstream, rel, want string
	}{
		{"userinfo dropped", "basic", "/items?id=7", "https://api.example.com/v1/items?id=7"},
		{"secret in the path", "pathkey", "/items", "https://api.example.com/REDACTED/v2/items"},
		{"URL from the environment hidden whole", "hook", "", "REDACTED"},
		{"sensitive query names", "basic", "/x?api_key=abc&access_token=def&q=milk", "https://api.example.com/v1/x?access_token=REDACTED&api_key=REDACTED&q=milk"},
		{"secret value in the query", "basic", "/x?q=tok-8f2e9c", "https://api.example.com/v1/x?q=REDACTED"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := tr.url(c.upstream, c.rel); got != c.want {
				t.Errorf("got %s, want %s", got, c.want)
			}
		})
	}
	if got := baseURL(plan.Gateway.Upstreams["basic"].URL, plan.Gateway.Secrets()); got != "https://api.example.com/v1" {
		t.Errorf("upstream URL %s", got)
	}
}

// TestStepConversion turns a trace into a timeline entry.
func TestStepConversion(t *testing.T) {
	cause := &pipeline.StepError{Step: "search", Upstream: "products", Err: &connectors.StatusError{Status: 503}}
	cases := []struct {
		name string
		tr   pipeline.StepTrace
		want RunStep
	}{
		{"called", pipeline.StepTrace{Name: "search", Upstream: "products", Method: "GET", URL: "/s?q=a", Status: 200, Calls: 1, Attempts: 1,
			Cache: "hit", Breaker: "half-open", Start: 2 * time.Millisecond, Duration: 1500 * time.Microsecond, Parallel: true},
			RunStep{Name: "search", Upstream: "products", Method: ptr("GET"), URL: ptr("/s?q=a"), Status: ptr(200), Calls: 1, Attempts: 1,
				Cache: ptr(CacheOutcomeHit), Breaker: ptr(BreakerStateHalfOpen), StartedAtMs: 2, DurationMs: 1.5, Parallel: true}},
		{"skipped", pipeline.StepTrace{Name: "translate", Upstream: "translation", Method: "POST", Skipped: true, Optional: true},
			RunStep{Name: "translate", Upstream: "translation", Skipped: true, Optional: true}},
		{"failed", pipeline.StepTrace{Name: "search", Upstream: "products", Method: "GET", URL: "/s", Status: 503, Calls: 1, Attempts: 2, Breaker: "closed", Err: cause},
			RunStep{Name: "search", Upstream: "products", Method: ptr("GET"), URL: ptr("/s"), Status: ptr(503), Calls: 1, Attempts: 2,
				Breaker: ptr(BreakerStateClosed), Error: ptr("step search: upstream products answered 503")}},
		{"not run", pipeline.StepTrace{Name: "deals", Upstream: "deals", Err: cause},
			RunStep{Name: "deals", Upstream: "deals", Error: ptr("not run: step search failed")}},
		{"internal text hidden", pipeline.StepTrace{Name: "x", Upstream: "u", Err: errors.New("open /etc/secret: permission denied")},
			RunStep{Name: "x", Upstream: "u", Error: ptr("step x: upstream u failed")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := tracer{}.step(c.tr)
			if g, w := show(got), show(&c.want); g != w {
				t.Errorf("got  %s\nwant %s", g, w)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// show prints a step with its pointers followed.
func show(s *RunStep) string {
	str := func(p *string) string {
		if p == nil {
			return "-"
		}
		return *p
	}
	n := func(p *int) int {
		if p == nil {
			return -1
		}
		return *p
	}
	c, b := "-", "-"
	if s.Cache != nil {
		c = string(*s.Cache)
	}
	if s.Breaker != nil {
		b = string(*s.Breaker)
	}
	return fmt.Sprintf("%s %s %s %s %d calls=%d attempts=%d %s %s %.1f+%.1f skipped=%t optional=%t parallel=%t err=%s",
		s.Name, s.Upstream, str(s.Method), str(s.URL), n(s.Status), s.Calls, s.Attempts, c, b, s.StartedAtMs, s.DurationMs,
		s.Skipped, s.Optional, s.Parallel, str(s.Error))
}

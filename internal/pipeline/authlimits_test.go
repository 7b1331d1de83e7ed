package pipeline

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// TestAuthLimitsConfig: auth.max_failures defaults to 20/min and takes
// the rate syntax; an admin key shorter than gateway.MinAdminKey is a located
// error naming admin.key and the rule, without echoing the key.
func TestAuthLimitsConfig(t *testing.T) {
	const pipe = "name: p\npath: /p\nsteps:\n  s: {upstream: products, path: /s}\n"
	loadGW := func(extra string) (*Plan, error) {
		return Load(mapFS(map[string]string{"gateway.yaml": minimalGateway + extra, "p.yaml": pipe}), "", LoadOptions{LookupEnv: lookupTestEnv})
	}
	plan, err := loadGW("")
	if err != nil {
		t.Fatal(err)
	}
	if r := plan.Gateway.Auth.MaxFailures; r == nil || r.Count != 20 || r.Per != time.Minute || r.String() != gateway.DefaultMaxFailures {
		t.Errorf("default auth.max_failures = %+v, want 20/min", r)
	}
	plan, err = loadGW("auth: {max_failures: 5/sec burst 10}\nadmin: {key: " + strings.Repeat("k", gateway.MinAdminKey) + "}\n")
	if err != nil {
		t.Fatal(err)
	}
	if r := plan.Gateway.Auth.MaxFailures; r.Count != 5 || r.Per != time.Second || r.Burst != 10 {
		t.Errorf("auth.max_failures = %+v, want 5/sec burst 10", r)
	}
	for _, c := range []struct{ name, yaml, want string }{
		{"short admin key", "admin: {key: short-admin-key}\n", "admin.key: 15 characters is too short: an admin key needs at least 24"},
		{"bad max_failures", "auth: {max_failures: lots}\n", "invalid rate"},
		{"unknown auth key", "auth: {max_failure: 5/min}\n", "max_failure"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := loadGW(c.yaml)
			var errs yamlconf.Errors
			if !errors.As(err, &errs) || len(errs) != 1 || !strings.Contains(errs[0].Error(), c.want) {
				t.Fatalf("got %v, want one error saying %q", err, c.want)
			}
			if strings.Contains(err.Error(), "short-admin-key") {
				t.Errorf("the error shows the key: %v", err)
			}
			if !strings.Contains(errs[0].Error(), "gateway.yaml:") {
				t.Errorf("the error is not located: %v", errs[0])
			}
		})
	}
}

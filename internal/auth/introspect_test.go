package auth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/problem"
)

// TestIntrospection checks opaque tokens at an RFC 7662 endpoint: active
// tokens name their caller and scopes, answers are cached for a short
// time, and an endpoint outage is a 503, not a 401.
func TestIntrospection(t *testing.T) {
	var calls atomic.Int64
	var down atomic.Bool
	now := time.Now()
	clock := func() time.Time { return now }
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		id, secret, _ := r.BasicAuth()
		if down.Load() || id != "gw" || secret != "s3cret" || r.PostFormValue("token_type_hint") != "access_token" {
			http.Error(w, "no", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.PostFormValue("token") {
		case "good-token":
			_, _ = w.Write([]byte(`{"active":true,"sub":"bob","scope":"orders:read orders:write","exp":` + itoa(now.Add(time.Hour).Unix()) + `}`))
		case "short-token":
			_, _ = w.Write([]byte(`{"active":true,"client_id":"svc","scope":"x","exp":` + itoa(now.Add(5*time.Second).Unix()) + `}`))
		default:
			_, _ = w.Write([]byte(`{"active":false}`))
		}
	}))
	defer idp.Close()
	gw := &pipeline.Gateway{Auth: pipeline.Auth{Introspection: &pipeline.IntrospectionAuth{
		URL: idp.URL, ClientID: "gw", ClientSecret: "s3cret", RolesClaim: "scope",
		Cache: pipeline.Duration(30 * time.Second), Timeout: pipeline.Duration(time.Second),
	}}}
	a := newAuth(t, gw, Options{Now: clock})

	id, err := a.Authenticate(bearer("good-token"))
	if err != nil || id.Name != "bob" || !slices.Equal(id.Roles, []string{"orders:read", "orders:write"}) {
		t.Fatalf("active token: %+v, %v", id, err)
	}
	for range 3 {
		_, _ = a.Authenticate(bearer("good-token"))
	}
	if calls.Load() != 1 {
		t.Errorf("4 checks of one token made %d introspection calls, want 1 (cached)", calls.Load())
	}
	if _, err := a.Authenticate(bearer("revoked-token")); status(err) != 401 {
		t.Errorf("inactive token: %v, want 401", err)
	}
	if id, err := a.Authenticate(bearer("short-token")); err != nil || id.Name != "svc" {
		t.Fatalf("client credentials token: %+v, %v", id, err)
	}

	down.Store(true)
	now = now.Add(10 * time.Second) // short-token expired; good-token still cached
	if _, err := a.Authenticate(bearer("good-token")); err != nil {
		t.Errorf("cached answer during an outage: %v", err)
	}
	if _, err := a.Authenticate(bearer("short-token")); status(err) != 503 {
		t.Errorf("expired cache entry during an outage: %v, want 503", err)
	}
}

func status(err error) int {
	var pe *problem.Error
	if errors.As(err, &pe) {
		return pe.P.Status
	}
	return 0
}

func itoa(n int64) string {
	b := []byte{}
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

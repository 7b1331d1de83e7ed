package auth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/problem"
	"github.com/manifoldgw/manifold/internal/yamlconf"
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
	gw := &gateway.Config{Auth: gateway.Auth{Introspection: &gateway.IntrospectionAuth{
		URL: idp.URL, ClientID: "gw", ClientSecret: "s3cret", RolesClaim: "scope",
		Cache: yamlconf.Duration(30 * time.Second), Timeout: yamlconf.Duration(time.Second),
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

// TestIntrospectionFloodIsBounded sends many random opaque tokens at once:
// no more than MaxIntrospections reach the authorization server together,
// and the excess is answered 503 at once instead of queueing.
func TestIntrospectionFloodIsBounded(t *testing.T) {
	var inFlight, peak atomic.Int64
	release := make(chan struct{})
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := peak.Load(); n > m && !peak.CompareAndSwap(m, n); m = peak.Load() {
		}
		<-release
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"active":false}`))
	}))
	defer idp.Close()
	gw := &gateway.Config{Auth: gateway.Auth{Introspection: &gateway.IntrospectionAuth{
		URL: idp.URL, ClientID: "gw", ClientSecret: "s", Cache: yamlconf.Duration(30 * time.Second), Timeout: yamlconf.Duration(5 * time.Second),
	}}}
	a := newAuth(t, gw, Options{})
	const n = 3 * MaxIntrospections
	statuses := make(chan int, n)
	for i := range n {
		go func() {
			_, err := a.Authenticate(bearer("random-" + itoa(int64(i))))
			statuses <- status(err)
		}()
	}
	busy := 0
	for deadline := time.Now().Add(5 * time.Second); busy < n-MaxIntrospections; {
		select {
		case s := <-statuses:
			if s != 503 {
				t.Fatalf("a token past the bound got %d, want 503", s)
			}
			busy++
		case <-time.After(time.Until(deadline)):
			t.Fatalf("only %d of %d excess tokens were refused at once", busy, n-MaxIntrospections)
		}
	}
	close(release)
	for range MaxIntrospections {
		if s := <-statuses; s != 401 {
			t.Errorf("an introspected inactive token got %d, want 401", s)
		}
	}
	if p := peak.Load(); p > MaxIntrospections {
		t.Errorf("%d introspections in flight at once, bound is %d", p, MaxIntrospections)
	}
}

// TestIntrospectionChecksAudience: an active token the authorization
// server issued for another API is not accepted.
func TestIntrospectionChecksAudience(t *testing.T) {
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.PostFormValue("token") {
		case "ours":
			_, _ = w.Write([]byte(`{"active":true,"sub":"bob","aud":["other-api","deals-api"],"iss":"https://idp.example.com"}`))
		case "theirs":
			_, _ = w.Write([]byte(`{"active":true,"sub":"bob","aud":"other-api","iss":"https://idp.example.com"}`))
		case "foreign-issuer":
			_, _ = w.Write([]byte(`{"active":true,"sub":"bob","aud":"deals-api","iss":"https://evil.example.com"}`))
		}
	}))
	defer idp.Close()
	gw := &gateway.Config{Auth: gateway.Auth{Introspection: &gateway.IntrospectionAuth{
		URL: idp.URL, ClientID: "gw", ClientSecret: "s", Cache: yamlconf.Duration(30 * time.Second), Timeout: yamlconf.Duration(time.Second),
		Audience: "deals-api", Issuer: "https://idp.example.com",
	}}}
	a := newAuth(t, gw, Options{})
	for token, want := range map[string]int{"ours": 0, "theirs": 401, "foreign-issuer": 401} {
		id, err := a.Authenticate(bearer(token))
		if got := status(err); got != want || (want == 0 && (id == nil || id.Name != "bob")) {
			t.Errorf("%s: status %d identity %+v, want %d", token, got, id, want)
		}
	}
}

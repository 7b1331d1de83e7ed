package auth

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
)

// TestVerifiedCacheHonoursExpiry: a token verified once is refused at
// exp + leeway + 1s although the verified-token cache would still keep it
// (its lifetime is a minute), and accepted just inside the leeway.
func TestVerifiedCacheHonoursExpiry(t *testing.T) {
	is := newTestIssuer(t)
	k1, _ := rsaKey(t, "k1")
	is.publish(k1)
	start := time.Now().Truncate(time.Second)
	var offset atomic.Int64 // the fake clock, as an offset from start
	clock := func() time.Time { return start.Add(time.Duration(offset.Load())) }
	gw := jwtGateway(is.srv.URL) // leeway 30s
	leeway := gw.Auth.JWT.Leeway.D()
	a := newAuth(t, gw, Options{Now: clock})
	exp := start.Add(10 * time.Second)
	tok := sign(t, claims{exp: exp}, jwa.RS256(), k1)
	if _, err := a.Authenticate(bearer(tok)); err != nil {
		t.Fatal(err)
	}
	if exp.Add(leeway+time.Second).Sub(start) >= verifiedTTL {
		t.Fatal("the test's times must fall inside the cache lifetime")
	}
	offset.Store(int64(exp.Add(leeway - time.Second).Sub(start)))
	if _, err := a.Authenticate(bearer(tok)); err != nil {
		t.Errorf("at exp + leeway - 1s: %v, want accepted", err)
	}
	offset.Store(int64(exp.Add(leeway + time.Second).Sub(start)))
	if _, err := a.Authenticate(bearer(tok)); status(err) != 401 {
		t.Errorf("at exp + leeway + 1s, inside the cache lifetime: %v, want 401", err)
	}
}

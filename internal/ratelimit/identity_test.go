package ratelimit

import (
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/pipeline"
)

// TestTokenSubjectIsNotAConsumer is the attack of a JWT whose sub is an
// API-key consumer's name: it must not share (nor drain) that consumer's
// per-caller bucket.
func TestTokenSubjectIsNotAConsumer(t *testing.T) {
	c := &clock{now: time.Unix(1_700_000_000, 0)}
	l := New(nil, Options{Now: c.Now})
	p := compiled("search", perRate(1, time.Minute, 1))
	consumer := &pipeline.Identity{Name: "chatgpt", Source: pipeline.IdentityKey}
	impostor := &pipeline.Identity{Name: "chatgpt", Source: pipeline.IdentityJWT}
	if _, err := l.Allow(t.Context(), p, impostor, "198.51.100.1"); err != nil {
		t.Fatalf("the token's first call: %v", err)
	}
	if _, err := l.Allow(t.Context(), p, consumer, "198.51.100.2"); err != nil {
		t.Errorf("the consumer was refused after a token named like it called: %v", err)
	}
	if _, err := l.Allow(t.Context(), p, impostor, "198.51.100.1"); err == nil {
		t.Error("the token's own bucket is not applied")
	}
}

// TestFailures: a budget of failures per address (an IPv6 /64), whose
// Retry-After counts the time to the next failure allowed.
func TestFailures(t *testing.T) {
	c := &clock{now: time.Unix(1_700_000_000, 0)}
	f := NewFailures(0, c.Now)
	r := perRate(2, time.Minute, 2)
	for range 2 {
		if _, over := f.Exhausted(r, "2001:db8::1"); over {
			t.Fatal("exhausted within the budget")
		}
		f.Fail(r, "2001:db8::1")
	}
	if wait, over := f.Exhausted(r, "2001:db8::2"); !over || wait != 30 {
		t.Errorf("same /64 after 2 failures: %ds, %v; want exhausted, retry in 30s", wait, over)
	}
	if _, over := f.Exhausted(r, "2001:db8:0:1::1"); over {
		t.Error("another /64 is exhausted")
	}
	c.advance(30 * time.Second)
	if _, over := f.Exhausted(r, "2001:db8::1"); over {
		t.Error("still exhausted after Retry-After")
	}
}

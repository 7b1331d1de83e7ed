package ratelimit

import (
	"errors"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/problem"
)

// TestRetryAfterRoundsUp: a refused call is told to wait whole seconds,
// rounded up, never 0: retrying after Retry-After always finds a token.
func TestRetryAfterRoundsUp(t *testing.T) {
	c := &clock{now: time.Unix(1_700_000_000, 0)}
	l := New(nil, Options{Now: c.Now})
	p := compiled("search", perRate(2, 3*time.Second, 1)) // a token every 1.5s
	cases := []struct {
		advance time.Duration // before the refused call
		want    int           // Retry-After, for a wait of 1.5s - advance
		wantT   string        // the RateLimit field's t
	}{
		{0, 2, "t=2"},                      // 1.5s
		{400 * time.Millisecond, 2, "t=2"}, // 1.1s
		{600 * time.Millisecond, 1, "t=1"}, // 0.5s
		{450 * time.Millisecond, 1, "t=1"}, // 0.05s
	}
	if _, err := l.Allow(t.Context(), p, nil, "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		c.advance(tc.advance)
		h, err := l.Allow(t.Context(), p, nil, "10.0.0.1")
		var pe *problem.Error
		if !errors.As(err, &pe) {
			t.Fatalf("after %v: %v, want refused", tc.advance, err)
		}
		if pe.P.RetryAfter != tc.want || !strings.Contains(h.Get("Ratelimit"), tc.wantT) {
			t.Errorf("after %v: Retry-After %d, RateLimit %q; want %d and %s", tc.advance, pe.P.RetryAfter, h.Get("Ratelimit"), tc.want, tc.wantT)
		}
		w := httptest.NewRecorder()
		problem.Write(w, pe.P)
		if got := w.Header().Get("Retry-After"); got != strconv.Itoa(tc.want) {
			t.Errorf("after %v: header Retry-After %q", tc.advance, got)
		}
	}
	c.advance(50 * time.Millisecond)
	if _, err := l.Allow(t.Context(), p, nil, "10.0.0.1"); err != nil {
		t.Errorf("at the moment the token is back: %v", err)
	}
}

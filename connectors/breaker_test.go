package connectors

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/logtest"
	"github.com/manifoldgw/manifold/internal/waittest"
)

// TestBreakerTripsOnRefusedConnection: refused connections open the
// breaker, and an open breaker answers without trying the network (its
// speed is measured by BenchmarkOpenBreaker, not here).
func TestBreakerTripsOnRefusedConnection(t *testing.T) {
	cfg := config(t, refusedURL(t))
	cfg.Breaker = BreakerConfig{Failures: 3, Cooldown: time.Hour}
	var exchanges atomic.Int64
	u := newUpstream(t, cfg, Options{Transport: func(_ string, pool http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			exchanges.Add(1)
			return pool.RoundTrip(r)
		})
	}})
	for i := range 3 {
		if _, err := u.Do(context.Background(), &Request{Method: "GET", Path: "/"}); err == nil || errors.Is(err, ErrBreakerOpen) {
			t.Fatalf("call %d: got %v, want a connection error", i, err)
		}
	}
	if got := u.BreakerState(); got != "open" {
		t.Fatalf("breaker %s after 3 failures, want open", got)
	}
	tried := exchanges.Load()
	for range 100 {
		resp, err := u.Do(context.Background(), &Request{Method: "GET", Path: "/"})
		if !errors.Is(err, ErrBreakerOpen) || resp.Breaker != "open" || resp.Attempts != 0 {
			t.Fatalf("got %v, breaker %q, attempts %d; want ErrBreakerOpen, open, 0", err, resp.Breaker, resp.Attempts)
		}
	}
	if n := exchanges.Load() - tried; n != 0 {
		t.Errorf("the open breaker tried the network %d times in 100 calls, want 0", n)
	}
}

func TestOpenBreakerDoesNotCallUpstream(t *testing.T) {
	var calls atomic.Int64
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	})
	cfg := config(t, srv.URL)
	cfg.Breaker = BreakerConfig{Failures: 2, Cooldown: time.Hour}
	u := newUpstream(t, cfg, Options{})
	for range 10 {
		u.Do(context.Background(), &Request{Method: "GET", Path: "/"})
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("upstream called %d times, want 2 (then the breaker opens)", n)
	}
	if c := u.Counts(); c.ConsecutiveFailures != 0 || c.Requests != 0 {
		t.Errorf("counts %+v, want a fresh window after opening", c)
	}
}

func TestBreakerClosesAfterProbe(t *testing.T) {
	var calls atomic.Int64
	var healthy atomic.Bool
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	cfg := config(t, srv.URL)
	cfg.Breaker = BreakerConfig{Failures: 1, Cooldown: 50 * time.Millisecond}
	u := newUpstream(t, cfg, Options{})
	u.Do(context.Background(), &Request{Method: "GET", Path: "/"})
	if got := u.BreakerState(); got != "open" {
		t.Fatalf("breaker %s, want open", got)
	}
	healthy.Store(true)
	waittest.Until(t, "the breaker is half-open", func() bool { return u.BreakerState() == "half-open" })
	resp, err := u.Do(context.Background(), &Request{Method: "GET", Path: "/"})
	if err != nil || resp.Breaker != "half-open" {
		t.Fatalf("probe: %v, breaker %q; want success while half-open", err, resp.Breaker)
	}
	if got := u.BreakerState(); got != "closed" {
		t.Errorf("breaker %s after a good probe, want closed", got)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("upstream called %d times, want 2 (failure, probe)", n)
	}
}

// TestProbeOutlivesItsCaller: a half-open probe whose caller leaves (its
// deadline, a failed sibling) still runs to its end, and its success
// closes the breaker. Cancelled, it would leave the breaker half-open, and
// a pipeline calling the upstream several times at once would cancel
// every probe it makes: the calls refused beside it fail the run. A POST
// probe too: it was sent, and is only not cut off.
func TestProbeOutlivesItsCaller(t *testing.T) {
	const probeTakes = 300 * time.Millisecond // the caller leaves after 10 ms
	var healthy atomic.Bool
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		time.Sleep(probeTakes)
		w.Write([]byte(`{}`))
	})
	cfg := config(t, srv.URL)
	cfg.Breaker = BreakerConfig{Failures: 1, Cooldown: 50 * time.Millisecond}
	u := newUpstream(t, cfg, Options{})
	reopen := func() {
		t.Helper()
		healthy.Store(false)
		u.Do(context.Background(), &Request{Method: "GET", Path: "/"}) // a failure: open
		if got := u.BreakerState(); got != "open" {
			t.Fatalf("breaker %s, want open", got)
		}
		healthy.Store(true)
		waittest.Until(t, "the breaker is half-open", func() bool { return u.BreakerState() == "half-open" })
	}
	leave := func(method string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := u.Do(ctx, &Request{Method: method, Path: "/" + method})
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > probeTakes/2 {
			t.Fatalf("%s: %v after %s, want the caller's deadline, at once", method, err, time.Since(start))
		}
	}
	for _, method := range []string{"GET", "PUT", "POST"} { // coalesced, idempotent, neither
		reopen()
		leave(method)
		waittest.Until(t, "the "+method+" probe has closed the breaker", func() bool { return u.BreakerState() == "closed" })
	}
}

func TestAnswersDoNotTripBreaker(t *testing.T) {
	tests := []struct {
		name, kind, body string
		status           int
	}{
		{"404", KindHTTP, `{}`, http.StatusNotFound},
		{"429", KindHTTP, `{}`, http.StatusTooManyRequests},
		{"graphql errors", KindGraphQL, `{"errors":[{"message":"no"}]}`, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := server(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			})
			cfg := config(t, srv.URL)
			cfg.Kind = tt.kind
			cfg.Breaker = BreakerConfig{Failures: 2}
			u := newUpstream(t, cfg, Options{})
			for range 5 {
				if _, err := u.Do(context.Background(), &Request{Method: "POST", Path: "/", Body: []byte(`{"query":"{a}"}`)}); err == nil {
					t.Fatal("want an error")
				}
			}
			if got, c := u.BreakerState(), u.Counts(); got != "closed" || c.Successes != 5 {
				t.Errorf("breaker %s with counts %+v, want closed with 5 successes", got, c)
			}
		})
	}
}

func TestBreakerLogsStateChanges(t *testing.T) {
	var buf logtest.Buffer
	cfg := config(t, refusedURL(t))
	cfg.Name = "markets"
	cfg.Breaker = BreakerConfig{Failures: 1}
	u := newUpstream(t, cfg, Options{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	u.Do(context.Background(), &Request{Method: "GET", Path: "/"})
	line := buf.String()
	for _, want := range []string{"level=WARN", "upstream=markets", "from=closed", "to=open"} {
		if !strings.Contains(line, want) {
			t.Errorf("log %q lacks %q", line, want)
		}
	}
}

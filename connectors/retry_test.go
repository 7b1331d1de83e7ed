package connectors

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRetry(t *testing.T) {
	tests := []struct {
		name         string
		method       string
		statuses     []int // answers in order; the last one repeats
		maxResponse  int64
		wantAttempts int
		wantStatus   int // of the final StatusError, 0 for success
	}{
		{"503 then 200", "GET", []int{503, 200}, 0, 2, 0},
		{"502, 504 then 200", "GET", []int{502, 504, 200}, 0, 3, 0},
		{"503 until retries run out", "GET", []int{503}, 0, 3, 503},
		{"no retry on POST", "POST", []int{503, 200}, 0, 1, 503},
		{"retry on PUT", "PUT", []int{503, 200}, 0, 2, 0},
		{"no retry on 4xx", "GET", []int{404, 200}, 0, 1, 404},
		{"no retry on 500", "GET", []int{500, 200}, 0, 1, 500},
		{"no retry on too large", "GET", []int{200}, 1, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int64
			srv := server(t, func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1))
				w.WriteHeader(tt.statuses[min(n, len(tt.statuses))-1])
				w.Write([]byte(`{"ok":true}`))
			})
			cfg := config(t, srv.URL)
			cfg.Retries, cfg.MaxResponse = 2, tt.maxResponse
			u := newUpstream(t, cfg, Options{})
			resp, err := u.Do(context.Background(), &Request{Method: tt.method, Path: "/"})
			if resp.Attempts != tt.wantAttempts || int(calls.Load()) != tt.wantAttempts {
				t.Errorf("attempts %d, upstream calls %d; want %d", resp.Attempts, calls.Load(), tt.wantAttempts)
			}
			var serr *StatusError
			switch {
			case tt.maxResponse > 0:
				if !errors.Is(err, ErrResponseTooLarge) {
					t.Errorf("got %v, want ErrResponseTooLarge", err)
				}
			case tt.wantStatus == 0 && err != nil:
				t.Errorf("got %v, want success", err)
			case tt.wantStatus != 0 && (!errors.As(err, &serr) || serr.Status != tt.wantStatus):
				t.Errorf("got %v, want status %d", err, tt.wantStatus)
			}
		})
	}
}

func TestRetryRefusedConnection(t *testing.T) {
	cfg := config(t, refusedURL(t))
	cfg.Retries = 2
	u := newUpstream(t, cfg, Options{})
	resp, err := u.Do(context.Background(), &Request{Method: "GET", Path: "/"})
	if err == nil || resp.Attempts != 3 {
		t.Errorf("got %v after %d attempts, want an error after 3", err, resp.Attempts)
	}
	if c := u.Counts(); c.Failures != 1 {
		t.Errorf("breaker counted %d failures, want 1 per call", c.Failures)
	}
}

// scripted answers 503 with Retry-After, then 200.
type scripted struct {
	retryAfter string
	calls      int
}

func (s *scripted) Do(ctx context.Context, req *Request) (*Response, error) {
	s.calls++
	if s.calls == 1 {
		h := http.Header{"Retry-After": {s.retryAfter}}
		return &Response{Status: 503, Header: h, Attempts: 1}, &StatusError{Status: 503}
	}
	return &Response{Status: 200, Attempts: 1}, nil
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name, retryAfter string
		min, max         time.Duration
	}{
		{"seconds", "2", 2 * time.Second, 2 * time.Second},
		{"http date", time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat), time.Second, 3 * time.Second},
		{"past date", "Mon, 02 Jan 2006 15:04:05 GMT", 0, 0},
		{"invalid: backoff", "soon", 0, backoffBase},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var waited []time.Duration
			r := retrier{retries: 1, sleep: func(_ context.Context, d time.Duration) error {
				waited = append(waited, d)
				return nil
			}}
			resp, err := r.wrap(&scripted{retryAfter: tt.retryAfter}).Do(context.Background(), &Request{Method: "GET"})
			if err != nil || resp.Attempts != 2 {
				t.Fatalf("got %v after %d attempts, want success after 2", err, resp.Attempts)
			}
			if len(waited) != 1 || waited[0] < tt.min || waited[0] > tt.max {
				t.Errorf("waited %v, want one wait in [%s, %s]", waited, tt.min, tt.max)
			}
		})
	}
}

func TestRetryAfterPastDeadline(t *testing.T) {
	var calls atomic.Int64
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	cfg := config(t, srv.URL)
	cfg.Retries, cfg.Timeout = 3, 200*time.Millisecond
	u := newUpstream(t, cfg, Options{})
	start := time.Now()
	resp, err := u.Do(context.Background(), &Request{Method: "GET", Path: "/"})
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("took %s, want to give up at once", elapsed)
	}
	var serr *StatusError
	if !errors.As(err, &serr) || serr.Status != 503 || resp.Attempts != 1 || calls.Load() != 1 {
		t.Errorf("got %v after %d attempts, want the 503 after 1", err, resp.Attempts)
	}
	if strings.Contains(err.Error(), "timed out") {
		t.Errorf("error %q blames a timeout, want the upstream's 503", err)
	}
}

func TestBackoffBounds(t *testing.T) {
	for i := range 8 {
		bound := min(backoffCap, backoffBase<<i)
		for range 200 {
			if d := backoff(i); d < 0 || d > bound {
				t.Fatalf("backoff(%d) = %s, want within [0, %s]", i, d, bound)
			}
		}
	}
	if d := backoff(100); d > backoffCap {
		t.Errorf("backoff(100) = %s, want at most %s", d, backoffCap)
	}
}

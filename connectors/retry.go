package connectors

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Backoff between attempts: full jitter over an exponential bound
// (aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter).
const (
	backoffBase = 50 * time.Millisecond
	backoffCap  = time.Second
)

// retrier is the retry layer: up to retries more attempts of an idempotent
// call (RFC 9110, section 9.2.2) after a connection error or a 502, 503 or
// 504, waiting a jittered backoff or the upstream's Retry-After. It never
// waits past the call's deadline: then it returns the last error.
type retrier struct {
	retries int
	// sleep waits d or until ctx ends; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

func (r retrier) wrap(next Connector) Connector {
	if r.retries <= 0 {
		return next
	}
	return connectorFunc(func(ctx context.Context, req *Request) (*Response, error) {
		resp, err := next.Do(ctx, req)
		if !req.Idempotent() {
			return resp, err
		}
		attempts := attemptsOf(resp)
		for i := 0; i < r.retries && retryable(ctx, err); i++ {
			wait := backoff(i)
			if after, ok := retryAfter(resp); ok {
				wait = after
			}
			if deadline, ok := ctx.Deadline(); ok && time.Now().Add(wait).After(deadline) {
				break
			}
			if r.sleep(ctx, wait) != nil {
				break
			}
			discard(resp) // the answer given up for another attempt
			resp, err = next.Do(ctx, req)
			attempts += attemptsOf(resp)
		}
		if resp == nil {
			resp = &Response{}
		}
		resp.Attempts = attempts
		return resp, err
	})
}

func attemptsOf(r *Response) int {
	if r == nil {
		return 0
	}
	return r.Attempts
}

// retryable reports whether another attempt may succeed: the upstream was
// unreachable or said it is (502, 503, 504), and the call still has time.
func retryable(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	var serr *StatusError
	if errors.As(err, &serr) {
		switch serr.Status {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	var gerr *GraphQLError
	return !errors.As(err, &gerr) &&
		!errors.Is(err, ErrResponseTooLarge) && !errors.Is(err, ErrInvalidRequest) &&
		!errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled)
}

// backoff is the wait before retry i (0-based): uniform in [0, min(cap, base·2^i)].
func backoff(i int) time.Duration {
	bound := backoffCap
	if i < 16 {
		bound = min(backoffCap, backoffBase<<i)
	}
	return rand.N(bound + 1)
}

// retryAfter reads the Retry-After of an answer, in seconds or as an
// HTTP-date (RFC 9110, section 10.2.3).
func retryAfter(r *Response) (time.Duration, bool) {
	if r == nil {
		return 0, false
	}
	v := r.Header.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 32); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

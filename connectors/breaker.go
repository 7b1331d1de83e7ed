package connectors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
)

// Defaults for the zero values of BreakerConfig.
const (
	DefaultBreakerFailures = 5
	DefaultBreakerWindow   = 10 * time.Second
	DefaultBreakerCooldown = 15 * time.Second
)

// BreakerCounts are an upstream breaker's counts in its current window;
// they restart at every state change and every Window while closed.
type BreakerCounts struct {
	Requests            uint32
	Successes           uint32
	Failures            uint32
	ConsecutiveFailures uint32
}

// breaker is the circuit breaker layer (sony/gobreaker). It opens after
// Failures consecutive failures within Window; while open it answers
// ErrBreakerOpen at once, without network; after Cooldown it lets one probe
// through (half-open), whose outcome closes or reopens it.
type breaker struct {
	cb      engine
	openErr error
	// forced is an operator's override (admin API): forceAuto leaves the
	// state to gobreaker, which has no manual override of its own.
	forced atomic.Int32
	log    *slog.Logger
	name   string
}

// Breaker overrides, as (*Upstream).ForceBreaker takes them.
const (
	// BreakerAuto leaves the breaker to its failure counts.
	BreakerAuto = "auto"
	// BreakerOpen fails every call at once with ErrBreakerOpen.
	BreakerOpen = "open"
	// BreakerClosed lets every call through, whatever the failures.
	BreakerClosed = "closed"
)

const (
	forceAuto int32 = iota
	forceOpen
	forceClosed
)

// ErrBreakerMode is returned by ForceBreaker for an unknown override.
var ErrBreakerMode = errors.New("breaker override must be auto, open or closed")

// engine is the state machine of a breaker: gobreaker's CircuitBreaker,
// or a sharedEngine for `shared: true`.
type engine interface {
	Execute(req func() (*Response, error)) (*Response, error)
	State() gobreaker.State
	Counts() gobreaker.Counts
}

func newBreaker(cfg Config, opts Options) *breaker {
	log := logger(opts)
	failures := uint32(DefaultBreakerFailures)
	if cfg.Breaker.Failures > 0 {
		failures = uint32(cfg.Breaker.Failures)
	}
	st := gobreaker.Settings{
		Name:        cfg.Name,
		MaxRequests: 1, // one probe when half-open
		Interval:    orDefault(cfg.Breaker.Window, DefaultBreakerWindow),
		Timeout:     orDefault(cfg.Breaker.Cooldown, DefaultBreakerCooldown),
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= failures },
		// Failures are upstream failures: unreachable, timeouts, 5xx,
		// oversized answers. A 4xx or GraphQL errors mean it works.
		IsSuccessful: func(err error) bool { return err == nil || upstreamAnswered(err) },
		// Neither success nor failure: the engine's mistakes, our own
		// saturation, and callers that gave up before their deadline.
		IsExcluded: func(err error) bool {
			if err == nil { // most calls: errors.As's targets would escape for nothing
				return false
			}
			// A token endpoint's failure is not the upstream's.
			var gone *callerGone
			var auth *AuthError
			return errors.Is(err, ErrInvalidRequest) || errors.Is(err, ErrBulkheadFull) || errors.As(err, &gone) || errors.As(err, &auth) ||
				errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
		},
		OnStateChange: func(name string, from, to gobreaker.State) {
			level := slog.LevelInfo
			if to == gobreaker.StateOpen {
				level = slog.LevelWarn
			}
			log.Log(context.Background(), level, "upstream breaker changed state",
				"upstream", name, "from", from.String(), "to", to.String())
		},
	}
	var cb engine = gobreaker.NewCircuitBreaker[*Response](st)
	if cfg.Breaker.Shared {
		cb = sharedOrLocal(cfg, opts, st, cb.(*gobreaker.CircuitBreaker[*Response]))
	}
	return &breaker{
		cb:      cb,
		openErr: fmt.Errorf("upstream %q: %w", cfg.Name, ErrBreakerOpen),
		log:     log,
		name:    cfg.Name,
	}
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func (b *breaker) wrap(next Connector) Connector {
	return connectorFunc(func(ctx context.Context, req *Request) (*Response, error) {
		switch b.forced.Load() {
		case forceOpen:
			return &Response{Breaker: gobreaker.StateOpen.String()}, b.openErr
		case forceClosed: // bypass gobreaker: its counts stay as they were
			resp, err := next.Do(ctx, req)
			if resp == nil {
				resp = &Response{}
			}
			resp.Breaker = gobreaker.StateClosed.String()
			return resp, err
		}
		state := b.cb.State()
		if state == gobreaker.StateHalfOpen {
			return b.probe(ctx, next, req)
		}
		return b.call(ctx, next, req, state)
	})
}

// call makes one call through gobreaker; state is the breaker's before it.
func (b *breaker) call(ctx context.Context, next Connector, req *Request, state gobreaker.State) (*Response, error) {
	resp, err := b.cb.Execute(func() (*Response, error) {
		resp, err := next.Do(ctx, req)
		if err != nil && ctx.Err() != nil && !errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
			// The caller gave up (or a sibling step failed): whatever
			// the error says, the upstream is not to blame.
			return resp, &callerGone{err}
		}
		return resp, err
	})
	if err != nil {
		var gone *callerGone
		if errors.As(err, &gone) {
			err = gone.err
		}
	}
	switch {
	case errors.Is(err, gobreaker.ErrOpenState):
		return &Response{Breaker: gobreaker.StateOpen.String()}, b.openErr
	case errors.Is(err, gobreaker.ErrTooManyRequests): // the half-open probe is out
		return &Response{Breaker: gobreaker.StateHalfOpen.String()}, b.openErr
	}
	if resp == nil {
		resp = &Response{}
	}
	resp.Breaker = state.String()
	return resp, err
}

// probe makes a call while the breaker is half-open: the probe, whose
// outcome closes or reopens the breaker, or a call refused at once because
// the probe is out. The probe runs to its end, within the upstream's
// timeout, even if its caller leaves first. Cancelled, it would count as
// neither success nor failure, and the next call would probe instead;
// where each request calls the upstream several times at once (a foreach,
// two steps), the refused calls fail the run, the run cancels its probe,
// and the breaker would stay half-open for as long as requests come. This
// holds for every method: a POST probe was sent while its caller waited,
// and is only not cut off (the upstream may have acted on it anyway); it
// is never sent again, as retries are not.
func (b *breaker) probe(ctx context.Context, next Connector, req *Request) (*Response, error) {
	type outcome struct {
		resp *Response
		err  error
	}
	done := make(chan outcome, 1)
	go func() {
		resp, err := b.call(context.WithoutCancel(ctx), next, req, gobreaker.StateHalfOpen)
		done <- outcome{resp, err}
	}()
	select {
	case o := <-done:
		return o.resp, o.err
	case <-ctx.Done():
		go func() { // nobody reads the probe's answer
			if o := <-done; o.resp != nil && o.resp.Stream != nil {
				o.resp.Stream.Close()
			}
		}()
		return &Response{Breaker: gobreaker.StateHalfOpen.String()}, fmt.Errorf("upstream %q: %w", b.name, context.Cause(ctx))
	}
}

// state is "closed", "open" or "half-open", an override included.
func (b *breaker) state() string {
	switch b.forced.Load() {
	case forceOpen:
		return gobreaker.StateOpen.String()
	case forceClosed:
		return gobreaker.StateClosed.String()
	}
	return b.cb.State().String()
}

// force sets the operator's override.
func (b *breaker) force(mode string) error {
	var f int32
	switch mode {
	case BreakerAuto:
		f = forceAuto
	case BreakerOpen:
		f = forceOpen
	case BreakerClosed:
		f = forceClosed
	default:
		return fmt.Errorf("%q: %w", mode, ErrBreakerMode)
	}
	if old := b.forced.Swap(f); old != f {
		b.log.Warn("upstream breaker override changed", "upstream", b.name, "override", mode)
	}
	return nil
}

// override is the operator's override: auto, open or closed.
func (b *breaker) override() string {
	switch b.forced.Load() {
	case forceOpen:
		return BreakerOpen
	case forceClosed:
		return BreakerClosed
	}
	return BreakerAuto
}

func (b *breaker) counts() BreakerCounts {
	c := b.cb.Counts()
	return BreakerCounts{
		Requests:            c.Requests,
		Successes:           c.TotalSuccesses,
		Failures:            c.TotalFailures,
		ConsecutiveFailures: c.ConsecutiveFailures,
	}
}

// callerGone marks an error that came after the caller's context ended
// for a reason other than its deadline; the breaker ignores it.
type callerGone struct{ err error }

func (e *callerGone) Error() string { return e.err.Error() }
func (e *callerGone) Unwrap() error { return e.err }

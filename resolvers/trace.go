package resolvers

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/manifoldgw/manifold/connectors"
	"github.com/manifoldgw/manifold/internal/event"
	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/problem"
)

// tracer turns step traces into the timeline the view shows, with URLs
// made absolute and cleaned of credentials and secrets.
type tracer struct {
	gw *gateway.Config
}

func (t tracer) steps(trs []pipeline.StepTrace) []*RunStep {
	out := make([]*RunStep, len(trs))
	for i, tr := range trs {
		out[i] = t.step(tr)
	}
	return out
}

func (t tracer) step(tr pipeline.StepTrace) *RunStep {
	s := &RunStep{
		Name:        tr.Name,
		Upstream:    tr.Upstream,
		Calls:       tr.Calls,
		Attempts:    tr.Attempts,
		Cache:       cacheOutcome(tr.Cache),
		Breaker:     breakerState(tr.Breaker),
		StartedAtMs: ms(tr.Start),
		DurationMs:  ms(tr.Duration),
		Skipped:     tr.Skipped,
		Optional:    tr.Optional,
		Parallel:    tr.Parallel,
	}
	if tr.Calls > 0 {
		s.Method = optString(tr.Method)
		s.URL = optString(t.url(tr.Upstream, tr.URL))
	}
	if tr.Status != 0 {
		st := tr.Status
		s.Status = &st
	}
	if tr.Err != nil {
		s.Error = optString(stepError(tr))
	}
	return s
}

// url is the call's full URL, path and query, with what must not be
// shown REDACTED (see connectors.TraceURL).
func (t tracer) url(upstream, rel string) string {
	if t.gw == nil {
		return connectors.TraceURL("", rel, nil)
	}
	base := ""
	if u := t.gw.Upstreams[upstream]; u != nil {
		base = u.URL
	}
	return connectors.TraceURL(base, rel, t.gw.Secrets())
}

// stepError is why a step failed, in the words of the problem mapper:
// the step, the upstream and what it answered, never an internal text.
func stepError(tr pipeline.StepTrace) string {
	var cancelled *pipeline.CancelledError
	switch {
	case errors.As(tr.Err, &cancelled) && tr.Calls == 0:
		return "not run: step " + cancelled.Step + " failed"
	case errors.As(tr.Err, &cancelled):
		return "cancelled: step " + cancelled.Step + " failed"
	case errors.Is(tr.Err, context.Canceled):
		return "cancelled: the caller went away"
	}
	err := tr.Err
	var se *pipeline.StepError
	switch {
	case !errors.As(err, &se):
		err = &pipeline.StepError{Step: tr.Name, Upstream: tr.Upstream, Err: err}
	case se.Step != tr.Name: // the run was cancelled by another step's failure
		return "not run: step " + se.Step + " failed"
	}
	p := problem.From(err)
	if p.Detail != "" {
		return p.Detail
	}
	return p.Title
}

func cacheOutcome(s string) *CacheOutcome {
	var c CacheOutcome
	switch s {
	case "hit":
		c = CacheOutcomeHit
	case "miss":
		c = CacheOutcomeMiss
	case "stale":
		c = CacheOutcomeStale
	case "bypass":
		c = CacheOutcomeBypass
	default:
		return nil
	}
	return &c
}

// toRunEvent is a finished call as the runs subscription shows it.
func (t tracer) event(c *event.Call) *RunEvent {
	ev := &RunEvent{
		RequestID:  c.RequestID,
		Surface:    Surface(strings.ToUpper(c.Surface)),
		Pipeline:   c.Pipeline,
		Method:     c.Method,
		Path:       c.Path,
		Status:     c.Status,
		Complete:   c.Complete,
		Missing:    nonNil(c.Missing),
		Stale:      nonNil(c.Stale),
		Cache:      cacheOutcome(c.Cache),
		StartedAt:  c.Start,
		DurationMs: ms(c.Duration),
		Steps:      t.steps(c.Steps),
	}
	if !ev.Surface.IsValid() {
		ev.Surface = SurfaceRest
	}
	if c.Status >= 400 {
		code := CodeFor(c.Status)
		ev.ErrorCode = &code
	}
	return ev
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func sinceMs(t time.Time) float64 { return ms(time.Since(t)) }

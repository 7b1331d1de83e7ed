package pipeline

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/manifoldgw/manifold/connectors"
)

// Span attribute keys of runs and steps. A run is one span ("pipeline
// <name>"), each step a child span ("step <name>"); the connectors add a
// span per upstream call and per attempt below it.
const (
	attrPipeline = attribute.Key("manifold.pipeline")
	attrStep     = attribute.Key("manifold.step")
	attrUpstream = attribute.Key("manifold.upstream")
	attrStatus   = attribute.Key("http.response.status_code")
	attrCache    = attribute.Key("manifold.cache")
	attrBreaker  = attribute.Key("manifold.breaker")
	attrAttempts = attribute.Key("manifold.attempts")
	attrCalls    = attribute.Key("manifold.calls")
	attrSkipped  = attribute.Key("manifold.skipped")
	attrOptional = attribute.Key("manifold.optional")
	attrMissing  = attribute.Key("manifold.missing")
	attrStale    = attribute.Key("manifold.stale")
)

// startRun starts a run's span. Under a span that is neither sampled nor
// recording (connectors.Unsampled) it starts none: the run's span and its
// steps' would be dropped too, and each would still cost an id, a
// sampling decision, a name and its attributes. The caller's span, which
// records nothing, stands in for it then.
func (e *Engine) startRun(ctx context.Context, p *Compiled) (context.Context, trace.Span) {
	if connectors.Unsampled(ctx) {
		return ctx, trace.SpanFromContext(ctx)
	}
	return e.tracer.Start(ctx, "pipeline "+p.Name, trace.WithAttributes(attrPipeline.String(p.Name)))
}

// startStep starts a step's span, as startRun does a run's.
func (e *Engine) startStep(ctx context.Context, st *step) (context.Context, trace.Span) {
	if connectors.Unsampled(ctx) {
		return ctx, trace.SpanFromContext(ctx)
	}
	return e.tracer.Start(ctx, "step "+st.name)
}

// endRun finishes a run's span with what the run produced.
func endRun(span trace.Span, res *Result, err error) {
	defer span.End()
	if !span.IsRecording() {
		return
	}
	if res != nil && len(res.Missing) > 0 {
		span.SetAttributes(attrMissing.StringSlice(res.Missing))
	}
	if res != nil && len(res.Stale) > 0 {
		span.SetAttributes(attrStale.StringSlice(res.Stale))
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "pipeline failed")
	}
}

// endStep finishes a step's span with the step's trace.
func (r *run) endStep(span trace.Span, st *step) {
	defer span.End()
	if !span.IsRecording() {
		return
	}
	r.mu.Lock()
	tr := r.traces[st.index]
	r.mu.Unlock()
	span.SetAttributes(
		attrPipeline.String(r.p.Name), attrStep.String(st.name), attrUpstream.String(st.upstream), attrOptional.Bool(st.cfg.Optional),
		attrCache.String(tr.Cache), attrBreaker.String(tr.Breaker),
		attrAttempts.Int(tr.Attempts), attrCalls.Int(tr.Calls), attrSkipped.Bool(tr.Skipped),
	)
	if tr.Status != 0 {
		span.SetAttributes(attrStatus.Int(tr.Status))
	}
	if tr.Err != nil {
		span.RecordError(tr.Err)
		span.SetStatus(codes.Error, "step failed")
	}
}

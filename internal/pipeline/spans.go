package pipeline

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
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

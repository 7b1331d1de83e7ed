package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/manifoldgw/manifold/internal/cache"
	"github.com/manifoldgw/manifold/internal/event"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/problem"
)

// Call is one invocation of a pipeline, whatever the surface it came
// through: REST, GraphQL and MCP all end in Invoke, so they share the same
// checks, cache and run.
type Call struct {
	Pipeline  *pipeline.Compiled
	Surface   string // event.SurfaceREST, ...
	Input     pipeline.Input
	Method    string // request method and path, for the record
	Path      string
	Client    string // client address
	RequestID string
	// Header holds headers for the answer set before the run (rate limits).
	Header http.Header
}

// Outcome is what Invoke produced: an answer (JSON, from the run or the
// response cache) or an error for the problem mapper.
type Outcome struct {
	Result *pipeline.Result // nil on a cache hit or an error before the run
	JSON   []byte
	Cache  string        // response cache: hit, miss, stale or "" when the pipeline has no cache
	Age    time.Duration // age of a cached answer
	Err    error
	Start  time.Time
}

// Data returns the answer as JSON values, decoding a cached answer.
func (o *Outcome) Data() (any, error) {
	if o.Result != nil {
		return o.Result.Data, nil
	}
	var v any
	err := json.Unmarshal(o.JSON, &v)
	return v, err
}

// Missing lists the optional steps that failed.
func (o *Outcome) Missing() []string {
	if o.Result == nil {
		return nil
	}
	return o.Result.Missing
}

// Stale lists the steps served from stale cache entries.
func (o *Outcome) Stale() []string {
	if o.Result == nil {
		return nil
	}
	return o.Result.Stale
}

// Invoke runs a call: response cache, coalescing of identical runs, then
// the engine. The whole-response cache key is the pipeline and its typed
// params, plus the consumer when the pipeline's expressions read it.
func (rt *Runtime) Invoke(ctx context.Context, c *Call) *Outcome {
	start := time.Now()
	p := c.Pipeline
	if p.Cache <= 0 || rt.cache == nil {
		res, err := rt.Engine.Run(ctx, p, c.Input)
		return withStale(&Outcome{Result: res, JSON: jsonOf(res, err), Err: err, Start: start})
	}
	key := rt.responseKey(c)
	if e, fresh, ok := rt.cache.Get(key); ok && fresh {
		return &Outcome{JSON: e.Value, Cache: "hit", Age: e.Age(time.Now()), Start: start}
	}
	// Identical concurrent runs are made once. The run is detached from
	// any one caller, so a caller leaving does not fail the others; it
	// still ends at the pipeline's timeout.
	ch := rt.flight.DoChan(key, func() (any, error) {
		res, err := rt.Engine.Run(context.WithoutCancel(ctx), p, c.Input)
		if err == nil && res.Complete() && len(res.Stale) == 0 {
			now := time.Now()
			rt.cache.Set(key, &cache.Entry{Value: res.JSON, StoredAt: now, FreshUntil: now.Add(p.Cache.D())})
			// Make the entry visible before this flight ends, so that a
			// request arriving just after it is a hit, not a second run.
			rt.cache.Wait()
		}
		return res, err
	})
	select {
	case <-ctx.Done():
		return &Outcome{Err: ctx.Err(), Start: start, Cache: "miss"}
	case r := <-ch:
		res, _ := r.Val.(*pipeline.Result)
		return withStale(&Outcome{Result: res, JSON: jsonOf(res, r.Err), Err: r.Err, Cache: "miss", Start: start})
	}
}

func withStale(o *Outcome) *Outcome {
	if o.Err == nil && len(o.Stale()) > 0 {
		o.Cache = "stale"
	}
	return o
}

func jsonOf(res *pipeline.Result, err error) []byte {
	if err != nil || res == nil {
		return nil
	}
	return res.JSON
}

// responseKey is the whole-response cache key of a call.
func (rt *Runtime) responseKey(c *Call) string {
	params, _ := json.Marshal(c.Input.Params) // map keys are sorted: canonical
	consumer := ""
	if c.Pipeline.UsesConsumer() && c.Input.Consumer != nil {
		consumer = c.Input.Consumer.Name
	}
	return rt.cache.Key(ResponseNamespace(c.Pipeline.Name), params, []byte(consumer))
}

// ResponseNamespace is the cache namespace of a pipeline's answers, for
// purging them.
func ResponseNamespace(pipeline string) string { return "pipeline:" + pipeline }

// WriteOutcome writes an outcome as an HTTP answer: the JSON with the
// completeness and cache headers, or a problem document.
func WriteOutcome(w http.ResponseWriter, o *Outcome) int {
	if o.Err != nil {
		p := problem.From(o.Err)
		problem.Write(w, p)
		return p.Status
	}
	h := w.Header()
	if m := o.Missing(); len(m) > 0 {
		h.Set("Manifold-Incomplete", strings.Join(m, ","))
	}
	if s := o.Stale(); len(s) > 0 {
		h.Set("Manifold-Stale", strings.Join(s, ","))
	}
	if o.Cache != "" {
		h.Set("Manifold-Cache", o.Cache)
	}
	if o.Cache == "hit" {
		h.Set("Age", strconv.Itoa(int(o.Age/time.Second)))
	}
	writeJSON(w, o.JSON)
	return http.StatusOK
}

// record hands the finished call to the recorders.
func (s *Server) record(ctx context.Context, c *Call, o *Outcome, status int) {
	ev := &event.Call{
		RequestID: c.RequestID,
		Surface:   c.Surface,
		Pipeline:  c.Pipeline.Name,
		Method:    c.Method,
		Path:      c.Path,
		Status:    status,
		Start:     o.Start,
		Duration:  time.Since(o.Start),
		Client:    c.Client,
		Cache:     o.Cache,
		Complete:  o.Err == nil && len(o.Missing()) == 0,
		Missing:   o.Missing(),
		Stale:     o.Stale(),
	}
	if c.Input.Consumer != nil {
		ev.Consumer = c.Input.Consumer.Name
	}
	if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
		ev.TraceID = sc.TraceID().String()
	}
	note(ctx, ev.Pipeline, ev.Consumer, ev.Cache)
	if o.Result != nil {
		ev.Steps = o.Result.Steps
	}
	if o.Err != nil {
		ev.Problem = problem.From(o.Err).Type
	}
	if s.opts.Recorder != nil {
		s.opts.Recorder.Record(context.WithoutCancel(ctx), ev)
	}
}

package server

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
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
	// Header holds the headers the pipeline's steps relay (relay_headers).
	Header http.Header
	Cache  string        // response cache: hit, miss, stale or "" when the pipeline has no cache
	Age    time.Duration // age of a cached answer
	Err    error
	Start  time.Time
}

// Data returns the answer as JSON values, decoding a cached answer.
func (o *Outcome) Data() (any, error) {
	if o.Result != nil {
		return o.Result.Value()
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
// the engine. The whole-response cache key is the pipeline, its typed
// params and the caller (name and roles, and claims when the pipeline's
// expressions read them).
func (rt *Runtime) Invoke(ctx context.Context, c *Call) *Outcome {
	start := time.Now()
	p := c.Pipeline
	if p.Cache <= 0 || rt.cache == nil {
		res, err := rt.Engine.Run(ctx, p, c.Input)
		return withStale(&Outcome{Result: res, JSON: jsonOf(res, err), Err: err, Start: start})
	}
	key := rt.responseKey(c)
	if e, fresh, ok := rt.cache.Get(key); ok && fresh {
		return &Outcome{JSON: e.Value, Header: e.Header.Clone(), Cache: "hit", Age: e.Age(rt.cache.Now()), Start: start}
	}
	f := rt.join(ctx, key, c)
	select {
	case <-ctx.Done():
		rt.leave(key, f)
		return &Outcome{Err: ctx.Err(), Start: start, Cache: "miss"}
	case <-f.done:
		rt.leave(key, f)
		return withStale(&Outcome{Result: f.res, JSON: jsonOf(f.res, f.err), Err: f.err, Cache: "miss", Start: start})
	}
}

// flight is one run of a cached pipeline shared by identical concurrent
// calls. It is cancelled when its last waiter leaves, and it holds its
// Runtime, so a reload's drain waits for it.
type flight struct {
	done    chan struct{}
	res     *pipeline.Result
	err     error
	waiters int
	cancel  context.CancelFunc
}

// join returns the flight for key, starting it if there is none.
func (rt *Runtime) join(caller context.Context, key string, c *Call) *flight {
	rt.flightsMu.Lock()
	defer rt.flightsMu.Unlock()
	if f := rt.flights[key]; f != nil {
		f.waiters++
		return f
	}
	// Detached from the first caller's cancellation (a caller leaving must
	// not fail the others) but not from its values (trace, identity). The
	// run ends at the pipeline's timeout, or when the last waiter leaves.
	ctx, cancel := context.WithCancel(context.WithoutCancel(caller))
	f := &flight{done: make(chan struct{}), waiters: 1, cancel: cancel}
	if rt.flights == nil {
		rt.flights = map[string]*flight{}
	}
	rt.flights[key] = f
	rt.active.Add(1)
	go func() {
		defer rt.release()
		defer cancel()
		f.res, f.err = rt.Engine.Run(ctx, c.Pipeline, c.Input)
		if f.err == nil && f.res.Complete() && len(f.res.Stale) == 0 {
			now := rt.cache.Now()
			rt.cache.Set(key, &cache.Entry{Value: f.res.JSON, Header: storable(f.res.Header), StoredAt: now, FreshUntil: now.Add(c.Pipeline.Cache.D())})
			// Visible before the flight ends: a request arriving just
			// after it is a hit, not a second run.
			rt.cache.Wait()
		}
		rt.flightsMu.Lock()
		if rt.flights[key] == f {
			delete(rt.flights, key)
		}
		rt.flightsMu.Unlock()
		close(f.done)
	}()
	return f
}

// leave drops a waiter; the last one to leave before the run ends cancels
// it, and a later identical call starts afresh.
func (rt *Runtime) leave(key string, f *flight) {
	rt.flightsMu.Lock()
	defer rt.flightsMu.Unlock()
	f.waiters--
	if f.waiters == 0 {
		select {
		case <-f.done:
		default:
			f.cancel()
			if rt.flights[key] == f {
				delete(rt.flights, key)
			}
		}
	}
}

func withStale(o *Outcome) *Outcome {
	if o.Result != nil {
		o.Header = o.Result.Header
	}
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
	// The caller is always part of the key: an expression can read
	// .consumer in ways no text search finds (output: .), and one caller
	// must never get another's answer.
	var who []byte
	if id := c.Input.Consumer; id != nil {
		roles := slices.Clone(id.Roles)
		slices.Sort(roles)
		who, _ = json.Marshal([]any{id.Key(), roles}) // "jwt:x" never meets "key:x"
		if c.Pipeline.ReadsClaims() {
			// Two tokens of one subject may name two tenants.
			claims, _ := json.Marshal(id.Claims) // keys sorted: canonical
			who = append(who, claims...)
		}
	}
	// The caller's headers the steps forward (Accept-Language) can change
	// the answer as much as a param.
	var fwd, query []byte
	if h := c.Pipeline.ForwardedHeaders(c.Input.Header); len(h) > 0 {
		fwd, _ = json.Marshal(h) // sorted keys
	}
	// So can the query parameters of unknown_query: forward.
	if len(c.Input.Query) > 0 {
		query, _ = json.Marshal(c.Input.Query) // sorted keys, values in order
	}
	return rt.cache.Key(ResponseNamespace(c.Pipeline.Name), params, who, fwd, query)
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
	relay(h, o.Header)
	if m := o.Missing(); len(m) > 0 {
		h.Set("Manifold-Incomplete", strings.Join(m, ","))
	}
	if s := o.Stale(); len(s) > 0 {
		h.Set("Manifold-Stale", strings.Join(s, ","))
	}
	if v, ok := cacheOutcomes[o.Cache]; ok {
		h["Manifold-Cache"] = v
	} else if o.Cache != "" {
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
		ev.Consumer = c.Input.Consumer.Key()
	}
	if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
		if h := holdOf(ctx); h != nil && h.trace.id == sc.TraceID() {
			ev.TraceID = h.trace.hex // the request's, made once
		} else {
			ev.TraceID = sc.TraceID().String()
		}
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

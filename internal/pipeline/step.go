package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/itchyny/gojq"

	"golang.org/x/sync/errgroup"

	"github.com/manifoldgw/manifold/connectors"
)

// StepTrace is what one step did, for `manifold run --trace`, the audit
// event and the GraphQL view.
type StepTrace struct {
	Name     string
	Upstream string
	Method   string
	URL      string // path and query of the last call, relative to the upstream; absolute when redirected
	Status   int    // HTTP status of the last answer (0: none)
	Calls    int    // upstream calls made (foreach: one per element)
	Attempts int    // transport attempts, retries included
	Cache    string // hit, miss, stale, bypass or empty
	Breaker  string // breaker state at call time
	Start    time.Duration
	Duration time.Duration
	Skipped  bool // `when` was false
	Optional bool
	Parallel bool // overlapped another step
	Err      error
	// CallTraces are the step's upstream calls, one per call (a foreach
	// makes several), at most MaxCallTraces, in the order they ended.
	CallTraces []CallTrace
}

// MaxCallTraces bounds the calls a StepTrace lists one by one; Calls
// counts them all.
const MaxCallTraces = 64

// CallTrace is one upstream call of a step: when it started (since the
// run's start), how long it took and how it went.
type CallTrace struct {
	Start, Duration time.Duration
	Status          int // HTTP status of the answer (0: none)
	Attempts        int
	Cache, Breaker  string
	Failed          bool
}

// exec runs one step once its needs are done.
func (r *run) exec(ctx context.Context, st *step) {
	tr := &r.traces[st.index]
	tr.Name, tr.Upstream, tr.Optional, tr.Method = st.name, st.upstream, st.cfg.Optional, st.method
	for _, n := range st.needs {
		select {
		case <-r.done[n]:
		case <-ctx.Done():
			r.fail(st, context.Cause(ctx))
			return
		}
	}
	if ctx.Err() != nil {
		r.fail(st, context.Cause(ctx))
		return
	}
	tr.Start = time.Since(r.start)
	ctx, span := r.e.startStep(withStep(ctx, st.name), st)
	defer func() {
		tr.Duration = time.Since(r.start) - tr.Start
		r.endStep(span, st)
	}()
	v, err := r.step(ctx, st)
	if err != nil {
		r.fail(st, err)
		return
	}
	r.results[st.index] = v
}

// fail records a step's error; a required step's error cancels the run.
func (r *run) fail(st *step, err error) {
	var se *StepError
	if !errors.As(err, &se) || se.Step != st.name {
		err = &StepError{Step: st.name, Upstream: st.upstream, Err: err}
	}
	r.errs[st.index], r.traces[st.index].Err = err, err
	if !st.cfg.Optional || isChosen(err) {
		// The siblings are cancelled with a plain context.Canceled: were
		// they given this step's error, their upstreams' breakers would
		// count it as their own failure.
		r.cancel(siblingFailed(st.name))
	}
}

// siblingFailed is the cause given to calls cancelled because another step
// or foreach element failed.
func siblingFailed(name string) error { return &CancelledError{Step: name} }

// CancelledError is why a step was cancelled or never ran: another step
// (or foreach element) failed. It is a context.Canceled, so that breakers
// do not count it against the cancelled call's upstream.
type CancelledError struct {
	Step string // the step that failed, e.g. "markets" or "deals[3]"
}

func (e *CancelledError) Error() string { return "cancelled: step " + e.Step + " failed" }

// Is makes a CancelledError match context.Canceled.
func (e *CancelledError) Is(target error) bool { return target == context.Canceled }

// input is what a step's expressions see: params, body, consumer and the
// results of the steps it needs, transitively.
func (r *run) input(st *step) map[string]any {
	if len(st.sees) == 0 && !st.seesOptional {
		return r.base // read only, as every input
	}
	m := make(map[string]any, len(r.base)+len(st.sees))
	for k, v := range r.base {
		m[k] = v
	}
	for _, name := range st.sees {
		i := r.p.stepIndex(name)
		m[name] = r.results[i]
	}
	if st.seesOptional {
		m["errors"] = r.failures(st.sees)
	}
	return m
}

func (r *run) step(ctx context.Context, st *step) (any, error) {
	in := r.input(st)
	if st.when != nil {
		ok, err := st.when.eval(ctx, in)
		if err != nil {
			return nil, err
		}
		if !truthy(ok) {
			r.traces[st.index].Skipped = true
			return nil, nil
		}
	}
	if st.foreach == nil {
		if err := r.reserve(st, 1); err != nil {
			return nil, err
		}
		return r.call(ctx, st, in)
	}
	items, err := st.foreach.eval(ctx, in)
	if err != nil {
		return nil, err
	}
	list, ok := items.([]any)
	if items == nil {
		list, ok = []any{}, true
	}
	if !ok {
		return nil, st.foreach.errorf("gave %s, not an array", withArticle(gojq.TypeOf(items)))
	}
	if list, err = r.bound(st, list); err != nil {
		return nil, err
	}
	if err := r.reserve(st, len(list)); err != nil {
		return nil, err
	}
	return r.forEach(ctx, st, in, list)
}

// forEach calls once per element, at most `concurrency` at a time, and
// returns the results in input order. The first failure cancels the rest.
func (r *run) forEach(ctx context.Context, st *step, in map[string]any, items []any) (any, error) {
	out := make([]any, len(items))
	// Not errgroup.WithContext: it would cancel the other elements with
	// the failing element's error, which their breakers would count.
	ictx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		g     errgroup.Group
		once  sync.Once
		first error
	)
	g.SetLimit(st.cfg.Concurrency)
	for i, item := range items {
		if ictx.Err() != nil {
			break
		}
		g.Go(func() error {
			itemIn := make(map[string]any, len(in)+2)
			for k, v := range in {
				itemIn[k] = v
			}
			itemIn["item"], itemIn["index"] = item, i
			v, err := r.call(ictx, st, itemIn)
			if err != nil {
				once.Do(func() {
					first = err
					cancel(siblingFailed(fmt.Sprintf("%s[%d]", st.name, i)))
				})
				return err
			}
			out[i] = v
			return nil
		})
	}
	err := g.Wait()
	if first != nil {
		return nil, first
	}
	if err == nil {
		err = context.Cause(ictx) // the loop stopped early: ctx ended
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// call renders one request, sends it and selects from the answer.
func (r *run) call(ctx context.Context, st *step, in map[string]any) (any, error) {
	req, err := st.render(ctx, in)
	if err != nil {
		return nil, err
	}
	r.callerParts(st, req)
	start := time.Since(r.start)
	resp, err := r.e.upstreams[st.upstream].Do(ctx, req)
	r.record(st, req, resp, err, CallTrace{Start: start, Duration: time.Since(r.start) - start, Failed: err != nil})
	if err != nil {
		return st.onStatus(err)
	}
	r.relay(st, resp)
	if r.p.Proxy { // GraphQL and MCP: they need a value, not bytes
		return decodeRelayed(r.p.Name, resp)
	}
	if st.raw {
		body, err := rawBody(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("upstream answered invalid JSON: %w", err)
		}
		return body, nil
	}
	var body any
	if len(resp.Body) > 0 {
		if err := json.Unmarshal(resp.Body, &body); err != nil {
			return nil, fmt.Errorf("upstream answered invalid JSON: %w", err)
		}
	}
	if st.sel == nil {
		return body, nil
	}
	return st.sel.eval(ctx, body)
}

// record adds one call's outcome to the step's trace.
func (r *run) record(st *step, req *connectors.Request, resp *connectors.Response, err error, ct CallTrace) {
	r.mu.Lock()
	defer r.mu.Unlock()
	tr := &r.traces[st.index]
	tr.Calls++
	if len(tr.CallTraces) < MaxCallTraces {
		tr.CallTraces = append(tr.CallTraces, callTrace(ct, resp, err))
	}
	tr.URL = req.Path
	if len(req.Query) > 0 {
		tr.URL += "?" + req.Query.Encode()
	}
	var se *connectors.StatusError
	if errors.As(err, &se) {
		tr.Status = se.Status
	}
	if resp == nil {
		if errors.Is(err, connectors.ErrBreakerOpen) {
			tr.Breaker = "open"
		}
		return
	}
	if resp.URL != "" { // redirected: where the answer came from
		tr.URL = resp.URL
	}
	tr.Status, tr.Attempts, tr.Breaker = resp.Status, tr.Attempts+resp.Attempts, resp.Breaker
	tr.Cache = mergeCache(tr.Cache, resp.Cache)
	if resp.Cache == connectors.CacheStale {
		r.stale[st.index] = true
	}
}

// callTrace completes ct with the call's outcome.
func callTrace(ct CallTrace, resp *connectors.Response, err error) CallTrace {
	var se *connectors.StatusError
	if errors.As(err, &se) {
		ct.Status = se.Status
	}
	if errors.Is(err, connectors.ErrBreakerOpen) {
		ct.Breaker = "open"
	}
	if resp != nil {
		ct.Status, ct.Attempts, ct.Cache, ct.Breaker = resp.Status, resp.Attempts, resp.Cache, resp.Breaker
	}
	return ct
}

// mergeCache summarises the cache outcomes of a foreach: stale beats miss
// beats bypass beats hit.
func mergeCache(a, b string) string {
	if cacheRank(b) > cacheRank(a) {
		return b
	}
	return a
}

func cacheRank(outcome string) int {
	switch outcome {
	case connectors.CacheHit:
		return 1
	case connectors.CacheBypass:
		return 2
	case connectors.CacheMiss:
		return 3
	case connectors.CacheStale:
		return 4
	}
	return 0
}

// render builds the upstream request from the step's templates.
func (st *step) render(ctx context.Context, in map[string]any) (*connectors.Request, error) {
	req := &connectors.Request{
		Method:   st.method,
		Header:   http.Header{},
		CacheTTL: st.cacheTTL,
		StaleTTL: st.staleTTL,
	}
	if st.graphql {
		return req, st.renderGraphQL(ctx, in, req)
	}
	path, err := st.path.renderPath(ctx, in)
	if err != nil {
		return nil, err
	}
	req.Path = path
	if len(st.query) > 0 {
		req.Query = url.Values{}
	}
	for _, q := range st.query {
		v, err := q.t.render(ctx, in)
		if err != nil {
			return nil, err
		}
		addQuery(req.Query, q.name, v)
	}
	for _, h := range st.headers {
		v, err := h.t.render(ctx, in)
		if err != nil {
			return nil, err
		}
		s := stringify(v)
		if strings.ContainsAny(s, "\r\n") {
			return nil, &HeaderValueError{Header: h.name}
		}
		if s != "" {
			req.Header.Set(h.name, s)
		}
	}
	if st.body != nil {
		v, err := st.body.render(ctx, in)
		if err != nil {
			return nil, err
		}
		if req.Body, err = json.Marshal(v); err != nil {
			return nil, fmt.Errorf("body: %w", err)
		}
	}
	return req, nil
}

func (st *step) renderGraphQL(ctx context.Context, in map[string]any, req *connectors.Request) error {
	env := map[string]any{"query": st.document}
	if st.variables != nil {
		v, err := st.variables.render(ctx, in)
		if err != nil {
			return err
		}
		env["variables"] = v
	}
	var err error
	req.Body, err = json.Marshal(env)
	return err
}

// addQuery adds a rendered value: null is left out, an array repeats the
// parameter, anything else is stringified.
func addQuery(q url.Values, name string, v any) {
	switch x := v.(type) {
	case nil:
	case []any:
		for _, e := range x {
			if e != nil {
				q.Add(name, stringify(e))
			}
		}
	default:
		q.Add(name, stringify(x))
	}
}

// stepIndex returns the index of a step by name.
func (c *Compiled) stepIndex(name string) int {
	for _, st := range c.steps {
		if st.name == name {
			return st.index
		}
	}
	return -1
}

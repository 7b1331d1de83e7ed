package pipeline

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/manifoldgw/manifold/connectors"
	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/workers"
)

// Engine runs compiled pipelines against upstream connectors. It holds no
// per-request state and is safe for concurrent use.
type Engine struct {
	upstreams   map[string]connectors.Connector
	maxResponse int
	tracer      trace.Tracer
	steps       *workers.Pool // runs the steps that do not run on the caller's goroutine
}

// stepWorkers bounds an Engine's step workers: enough for 32 concurrent
// runs of a 9-step fan-out (one step of a run runs on its caller's
// goroutine). Past it, a step runs on a goroutine of its own.
const stepWorkers = 256

// EngineOptions configure an Engine.
type EngineOptions struct {
	// MaxResponse caps the encoded answer in bytes (0: gateway.DefaultMaxResponse).
	MaxResponse int
	// TracerProvider makes a span per run and one per step; nil: none.
	TracerProvider trace.TracerProvider
}

// NewEngine returns an Engine that calls upstreams by name.
func NewEngine(upstreams map[string]connectors.Connector, opts EngineOptions) *Engine {
	if opts.MaxResponse <= 0 {
		opts.MaxResponse = gateway.DefaultMaxResponse
	}
	tp := opts.TracerProvider
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	return &Engine{upstreams: upstreams, maxResponse: opts.MaxResponse,
		tracer: tp.Tracer("github.com/manifoldgw/manifold/internal/pipeline"),
		steps:  workers.New(stepWorkers, 0)}
}

// Close ends the Engine's idle step workers. A run started after Close
// still completes, on goroutines of its own.
func (e *Engine) Close() { e.steps.Close() }

// Identity is the authenticated caller, as expressions see it in .consumer.
type Identity struct {
	Name  string
	Roles []string
	// Source says which credential vouched for the caller: IdentityKey,
	// IdentityJWT or IdentityIntrospection. Names from different sources
	// never meet: see Key.
	Source string
	// Expires is when the credential stops being valid (a token's exp);
	// zero when it does not expire (an API key). Long-lived streams end
	// there.
	Expires time.Time
	// Claims are the verified credential's claims, as expressions see them
	// in .consumer.claims: every claim of a verified JWT, every member of
	// an active introspection answer, or an API-key consumer's static
	// claims. JSON values only; read-only (identities are shared).
	Claims map[string]any
}

// Sources of an Identity.
const (
	IdentityKey           = "key"
	IdentityJWT           = "jwt"
	IdentityIntrospection = "introspection"
)

// Key is the identity as rate-limit buckets, cache keys and audit events
// know it: its name prefixed by its source ("key:chatgpt", "jwt:alice"),
// so that a token's subject can never pass for an API-key consumer.
func (id *Identity) Key() string {
	if id == nil {
		return ""
	}
	if id.Source == "" {
		return id.Name
	}
	return id.Source + ":" + id.Name
}

// Input is everything a run sees besides the upstreams' answers.
type Input struct {
	Params   map[string]any // typed and defaulted (see ParseParams)
	Body     any            // the decoded JSON request body, or nil
	Consumer *Identity      // nil for anonymous callers
	// Header is the caller's request headers, which steps forward as
	// their forward_headers say (nil: none).
	Header http.Header
	// Via gives X-Forwarded-For, -Host, -Proto and Forwarded as the server
	// builds them from server.trusted_proxies (nil: none are sent). It is
	// called only when a step calls an upstream that takes them, so that
	// an answer from the cache builds none.
	Via func() http.Header
	// Query holds the undeclared query parameters of a pipeline with
	// unknown_query: forward (see UndeclaredQuery), sent to every http
	// step.
	Query url.Values
}

// Result is the outcome of a run.
type Result struct {
	Data    any    // the answer
	JSON    []byte // the answer, encoded, within the size cap
	Missing []string
	Stale   []string
	// Truncated lists the foreach steps that called for only their first
	// max_items elements (truncate_items).
	Truncated []string
	Steps     []StepTrace // in declaration order
	Duration  time.Duration
	// Header holds the headers steps relay to the caller (relay_headers);
	// nil when none.
	Header http.Header
}

// Complete reports whether every step contributed to the answer.
func (r *Result) Complete() bool { return len(r.Missing) == 0 }

// run is the state of one pipeline run. Each step writes only its own
// slot, so the merge is deterministic whatever the arrival order.
type run struct {
	e       *Engine
	p       *Compiled
	in      Input
	start   time.Time
	base    map[string]any // params, body, consumer
	results []any
	errs    []error
	traces  []StepTrace
	done    []chan struct{}
	cancel  context.CancelCauseFunc
	mu      sync.Mutex
	stale   []bool
	relayed http.Header // guarded by mu
	// calls counts the upstream calls made or reserved, for max_calls;
	// truncated marks the foreach steps cut to their max_items.
	calls     atomic.Int64
	truncated []bool
}

// Run executes a compiled pipeline. It never outlives p's timeout, and
// ctx's cancellation reaches every in-flight upstream call. The Result is
// returned even with an error, so that its Steps can be shown.
func (e *Engine) Run(ctx context.Context, p *Compiled, in Input) (res *Result, err error) {
	ctx, span := e.startRun(ctx, p)
	defer func() { endRun(span, res, err) }()
	n := len(p.steps)
	r := &run{
		e: e, p: p, in: in, start: time.Now(),
		results: make([]any, n), errs: make([]error, n), traces: make([]StepTrace, n),
		done: make([]chan struct{}, n), stale: make([]bool, n), truncated: make([]bool, n),
		base: baseInput(in, p.readsClaims),
	}
	runCtx, cancelTimeout := context.WithTimeout(ctx, p.Timeout.D())
	defer cancelTimeout()
	runCtx, r.cancel = context.WithCancelCause(runCtx)
	defer r.cancel(nil)

	for i := range p.steps {
		r.done[i] = make(chan struct{})
	}
	// One step that needs nothing runs on this goroutine, the others on
	// the Engine's workers, whose stacks have already grown to what a step
	// needs (a fresh goroutine would grow its stack two or three times,
	// copying it each time, on the way to the upstream).
	inline := p.firstRoot()
	var wg sync.WaitGroup
	jobs := make([]stepJob, n)
	for i := range p.steps {
		if i == inline {
			continue
		}
		wg.Add(1)
		jobs[i] = stepJob{r: r, ctx: runCtx, i: i, wg: &wg}
		e.steps.Go(&jobs[i])
	}
	r.exec(runCtx, p.steps[inline])
	close(r.done[inline])
	wg.Wait()
	res = r.result()
	if err := r.failure(ctx, runCtx); err != nil {
		return res, err
	}
	if err := r.answer(ctx, res); err != nil {
		return res, err
	}
	res.Duration = time.Since(r.start)
	return res, nil
}

// stepJob runs one step of a run on a step worker.
type stepJob struct {
	r   *run
	ctx context.Context
	i   int
	wg  *sync.WaitGroup
}

func (j *stepJob) Run() {
	defer j.wg.Done()
	defer close(j.r.done[j.i])
	j.r.exec(j.ctx, j.r.p.steps[j.i])
}

// answer runs output. jq there (output, truncate) gets its own short
// budget: a run that reached its deadline with only optional steps
// missing still answers.
func (r *run) answer(ctx context.Context, res *Result) error {
	if r.p.output == nil && r.p.truncate == nil {
		return r.output(ctx, res) // no jq: nothing to bound
	}
	outCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel) // but not past the caller leaving
	defer stop()
	return r.output(outCtx, res)
}

// baseInput is what every expression sees. The consumer's claims are there
// only for a pipeline whose expressions may read them (see readsClaims), so
// that a pipeline that does not is never cached per claim.
func baseInput(in Input, claims bool) map[string]any {
	params := in.Params
	if params == nil {
		params = map[string]any{}
	}
	m := map[string]any{"params": params, "body": in.Body, "consumer": nil}
	if c := in.Consumer; c != nil {
		roles := make([]any, len(c.Roles))
		for i, r := range c.Roles {
			roles[i] = r
		}
		consumer := map[string]any{"name": c.Name, "roles": roles}
		if claims {
			consumer["claims"] = claimsOf(c)
		}
		m["consumer"] = consumer
	}
	return m
}

// failure decides whether the run failed: a required step's error, the
// run's deadline, or the caller going away.
func (r *run) failure(parent, runCtx context.Context) error {
	if err := parent.Err(); err != nil {
		return err
	}
	deadline := errors.Is(runCtx.Err(), context.DeadlineExceeded)
	var pending []string
	var first, fallback error
	if err := r.chosen(); err != nil {
		return err
	}
	for i, st := range r.p.steps {
		if r.errs[i] == nil || st.cfg.Optional {
			continue
		}
		if deadline {
			pending = append(pending, st.name)
		}
		if fallback == nil {
			fallback = r.errs[i]
		}
		// Siblings cancelled by the failure report context.Canceled: the
		// failure itself is the root cause.
		if first == nil && !errors.Is(r.errs[i], context.Canceled) {
			first = r.errs[i]
		}
	}
	if deadline && len(pending) > 0 {
		return &TimeoutError{Pipeline: r.p.Name, Timeout: r.p.Timeout.D(), Pending: pending}
	}
	if first == nil {
		return fallback
	}
	return first
}

// result collects traces and the lists of missing and stale steps.
func (r *run) result() *Result {
	res := &Result{Steps: r.traces, Duration: time.Since(r.start), Header: r.relayed}
	markParallel(res.Steps)
	r.markTruncated(res)
	for i, st := range r.p.steps {
		if r.errs[i] != nil && st.cfg.Optional {
			res.Missing = append(res.Missing, st.name)
		}
		if r.stale[i] {
			res.Stale = append(res.Stale, st.name)
		}
	}
	return res
}

// output builds the answer from the step results and encodes it.
func (r *run) output(ctx context.Context, res *Result) error {
	if r.p.groupOrder != nil {
		return r.outputGroup(res)
	}
	var data any
	switch {
	case r.p.Proxy: // the one step's answer, as it is
		data = r.results[0]
	case r.p.output != nil:
		v, err := r.p.output.eval(ctx, r.fullInput())
		if err != nil {
			return &OutputError{Pipeline: r.p.Name, Err: err}
		}
		data = v
	case r.p.Merge == "deep":
		var merged any
		for _, v := range r.results {
			merged = deepMerge(merged, v)
		}
		data = merged
	default:
		data = r.groupData()
	}
	body, err := encodeJSON(data)
	if err != nil {
		return &OutputError{Pipeline: r.p.Name, Err: err}
	}
	if len(body) > r.e.maxResponse && r.p.truncate != nil {
		if data, err = r.p.truncate.eval(ctx, data); err != nil {
			return &OutputError{Pipeline: r.p.Name, Err: err}
		}
		if body, err = encodeJSON(data); err != nil {
			return &OutputError{Pipeline: r.p.Name, Err: err}
		}
	}
	if len(body) > r.e.maxResponse {
		return &TooLargeError{Pipeline: r.p.Name, Size: len(body), Limit: r.e.maxResponse}
	}
	res.Data, res.JSON = data, body
	return nil
}

// outputGroup is output for a pipeline with raw steps (see markRaw): the
// default merge, encoded from the answers' bytes where they were kept.
func (r *run) outputGroup(res *Result) error {
	body, raw, err := r.group()
	if err != nil {
		return &OutputError{Pipeline: r.p.Name, Err: err}
	}
	if len(body) > r.e.maxResponse {
		return &TooLargeError{Pipeline: r.p.Name, Size: len(body), Limit: r.e.maxResponse}
	}
	if !raw {
		res.Data = r.groupData()
	}
	res.JSON = body
	return nil
}

// fullInput is what output sees: the base input and every step's result.
func (r *run) fullInput() map[string]any {
	m := make(map[string]any, len(r.base)+len(r.results))
	for k, v := range r.base {
		m[k] = v
	}
	for i, st := range r.p.steps {
		m[st.name] = r.results[i]
	}
	if r.p.optional {
		m["errors"] = r.failures(r.p.StepOrder)
	}
	return m
}

// deepMerge merges b into a: objects key by key, recursively; anything
// else in b replaces a, except null, which leaves a as it is.
func deepMerge(a, b any) any {
	if b == nil {
		return a
	}
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if !aok || !bok {
		return b
	}
	out := make(map[string]any, len(am)+len(bm))
	for k, v := range am {
		out[k] = v
	}
	for k, v := range bm {
		out[k] = deepMerge(out[k], v)
	}
	return out
}

// markParallel flags the steps whose call interval overlapped another's.
func markParallel(ts []StepTrace) {
	for i := range ts {
		for j := range ts {
			if i == j || ts[i].Calls == 0 || ts[j].Calls == 0 {
				continue
			}
			a, b := ts[i], ts[j]
			if a.Start < b.Start+b.Duration && b.Start < a.Start+a.Duration {
				ts[i].Parallel = true
				break
			}
		}
	}
}

// firstRoot is the index of the first step that needs no other (there is
// one: needs cycles are load errors).
func (c *Compiled) firstRoot() int {
	for i, st := range c.steps {
		if len(st.needs) == 0 {
			return i
		}
	}
	return 0
}

package connectors

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Observer is told about every call an Upstream finished, after the whole
// stack (cache, breaker, retries) had its say: the telemetry records
// durations, errors and cache outcomes from it.
type Observer interface {
	ObserveCall(ctx context.Context, upstream string, resp *Response, err error, took time.Duration)
}

// Span attribute keys; the http.* and server.* ones are OpenTelemetry's
// HTTP semantic conventions.
const (
	AttrUpstream    = attribute.Key("manifold.upstream")
	AttrCache       = attribute.Key("manifold.cache")
	AttrBreaker     = attribute.Key("manifold.breaker")
	AttrAttempts    = attribute.Key("manifold.attempts")
	AttrAttempt     = attribute.Key("manifold.attempt")
	attrMethod      = attribute.Key("http.request.method")
	attrStatus      = attribute.Key("http.response.status_code")
	attrResendCount = attribute.Key("http.request.resend_count")
	attrServerAddr  = attribute.Key("server.address")
	attrServerPort  = attribute.Key("server.port")
	attrURLPath     = attribute.Key("url.path")
	attrErrorType   = attribute.Key("error.type")
)

// tracing is the outermost layer and the innermost one: a span per call
// (what the stack did: cache, breaker, attempts) and a client span per
// attempt that reaches the transport, whose context is sent upstream as a
// W3C traceparent. The header is added below the cache and coalescing
// layers, so it never changes a cache or coalescing key.
type tracing struct {
	traced   bool // a TracerProvider or a Propagator was given
	name     string
	callName string // "upstream <name>"
	tracer   trace.Tracer
	prop     propagation.TextMapPropagator
	obs      Observer
	host     string
	port     int
	breaker  func() string
}

func newTracing(cfg Config, opts Options, breaker func() string) *tracing {
	tp := opts.TracerProvider
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	t := &tracing{
		traced:   opts.TracerProvider != nil || opts.Propagator != nil,
		name:     cfg.Name,
		callName: "upstream " + cfg.Name,
		tracer:   tp.Tracer("github.com/manifoldgw/manifold/connectors"),
		prop:     opts.Propagator,
		obs:      opts.Observer,
		breaker:  breaker,
	}
	if cfg.URL != nil {
		t.host = cfg.URL.Hostname()
		t.port, _ = strconv.Atoi(cfg.URL.Port())
		if t.port == 0 && cfg.URL.Scheme == "https" {
			t.port = 443
		} else if t.port == 0 {
			t.port = 80
		}
	}
	return t
}

type attemptsKey struct{}

var clientKind = trace.WithSpanKind(trace.SpanKindClient)

// call wraps the whole stack: one span per call, and the observer.
func (t *tracing) call(next Connector) Connector {
	if !t.traced && t.obs == nil {
		return next
	}
	return connectorFunc(func(ctx context.Context, req *Request) (*Response, error) {
		start := time.Now()
		var span trace.Span
		if !Unsampled(ctx) {
			ctx, span = t.tracer.Start(ctx, t.callName)
			// The attempts' spans number themselves; under an unsampled
			// parent there are none to number.
			ctx = context.WithValue(ctx, attemptsKey{}, new(atomic.Int32))
		}
		resp, err := next.Do(ctx, req)
		if resp == nil {
			resp = &Response{}
		}
		if resp.Breaker == "" { // answered from cache: the breaker was not asked
			resp.Breaker = t.breaker()
		}
		if span != nil {
			if span.IsRecording() { // attributes cost allocations: only for spans kept
				span.SetAttributes(AttrUpstream.String(t.name), attrMethod.String(method(req)),
					AttrCache.String(resp.Cache), AttrBreaker.String(resp.Breaker), AttrAttempts.Int(resp.Attempts))
				if resp.Status != 0 {
					span.SetAttributes(attrStatus.Int(resp.Status))
				}
				failed(span, err)
			}
			span.End()
		}
		if t.obs != nil {
			t.obs.ObserveCall(ctx, t.name, resp, err, time.Since(start))
		}
		return resp, err
	})
}

// attempt wraps the transport: one client span per attempt, propagated.
func (t *tracing) attempt(next Connector) Connector {
	if !t.traced {
		return next
	}
	return connectorFunc(func(ctx context.Context, req *Request) (*Response, error) {
		n := 1
		if c, ok := ctx.Value(attemptsKey{}).(*atomic.Int32); ok {
			n = int(c.Add(1))
		}
		var span trace.Span // nil: none started under an unsampled parent
		if !Unsampled(ctx) {
			ctx, span = t.tracer.Start(ctx, method(req), clientKind)
			defer span.End()
		}
		recording := span != nil && span.IsRecording()
		if recording {
			span.SetAttributes(attrMethod.String(method(req)), AttrUpstream.String(t.name), AttrAttempt.Int(n),
				attrServerAddr.String(t.host), attrServerPort.Int(t.port), attrURLPath.String(req.Path))
			if n > 1 {
				span.SetAttributes(attrResendCount.Int(n - 1))
			}
		}
		if t.prop != nil {
			out := *req
			out.Header = req.Header.Clone()
			if out.Header == nil {
				out.Header = http.Header{}
			}
			t.prop.Inject(ctx, propagation.HeaderCarrier(out.Header))
			req = &out
		}
		resp, err := next.Do(ctx, req)
		if recording {
			if resp != nil && resp.Status != 0 {
				span.SetAttributes(attrStatus.Int(resp.Status))
			}
			failed(span, err)
		}
		return resp, err
	})
}

// Unsampled reports whether ctx carries a span that is neither sampled
// nor recording (a dropped one). Under a parent-based sampler (the
// gateway's, and the SDK's default) a child would be dropped too, so none
// is started, here and in the pipeline engine: starting one costs an id,
// a sampling decision and a grown goroutine stack, for each run, step,
// call and attempt. The parent's context is what is propagated upstream
// then, still unsampled. A parent that records without being sampled (a
// RecordOnly decision) gets its children as before.
func Unsampled(ctx context.Context) bool {
	sc := trace.SpanContextFromContext(ctx)
	return sc.IsValid() && !sc.IsSampled() && !trace.SpanFromContext(ctx).IsRecording()
}

// failed marks a span as failed with err's type.
func failed(span trace.Span, err error) {
	if err == nil {
		return
	}
	span.SetAttributes(attrErrorType.String(ErrorType(err)))
	span.RecordError(err)
	span.SetStatus(codes.Error, ErrorType(err))
}

func method(req *Request) string {
	if req.Method == "" {
		return http.MethodGet
	}
	return req.Method
}

// ErrorType names the kind of a call's error in a small, fixed set, for
// metric labels and span attributes (OpenTelemetry's error.type): the
// upstream's status code, or one of breaker_open, bulkhead_full, timeout,
// canceled, too_large, graphql, invalid_request, upstream_auth, redirect,
// format, connection.
func ErrorType(err error) string {
	var serr *StatusError
	var gerr *GraphQLError
	var nerr net.Error
	var aerr *AuthError
	var rerr *RedirectError
	var ferr *FormatError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &serr):
		return strconv.Itoa(serr.Status)
	case errors.As(err, &aerr):
		return "upstream_auth"
	case errors.As(err, &rerr):
		return "redirect"
	case errors.As(err, &ferr):
		return "format"
	case errors.Is(err, ErrBreakerOpen):
		return "breaker_open"
	case errors.Is(err, ErrBulkheadFull):
		return "bulkhead_full"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, ErrResponseTooLarge):
		return "too_large"
	case errors.As(err, &gerr):
		return "graphql"
	case errors.Is(err, ErrInvalidRequest):
		return "invalid_request"
	case errors.As(err, &nerr) && nerr.Timeout():
		return "timeout"
	}
	return "connection"
}

// Redacted replaces a secret wherever a call is shown.
const Redacted = "REDACTED"

// sensitiveQuery matches query parameter names whose values a trace never
// shows, whatever put them there.
var sensitiveQuery = regexp.MustCompile(`(?i)(key|token|secret|password|passwd|pwd|signature|sig|auth|credential|session)`)

// TraceURL is a call as traces show it (`manifold run --trace`, the
// GraphQL timeline): the upstream's base URL joined with the call's path
// and query (rel, as the engine records it), the base URL's own query
// parameters first, as the call sent them. What must not be shown is
// REDACTED: the user part of the base URL, the value of every query
// parameter named like a credential, and every secret value (those
// gateway.yaml took from the environment); an upstream URL taken from
// the environment is hidden whole, since it may name internal hosts.
func TraceURL(base, rel string, secrets []string) string {
	if strings.Contains(rel, "://") {
		base = "" // redirected: rel is the final URL, already absolute
	}
	shown := ""
	query := url.Values{}
	if u, err := url.Parse(base); err == nil && base != "" {
		clean := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
		shown = strings.TrimSuffix(clean.String(), "/")
		query, _ = url.ParseQuery(u.RawQuery)
	}
	path, rawQuery, _ := strings.Cut(rel, "?")
	callQuery, _ := url.ParseQuery(rawQuery)
	for name, vs := range callQuery {
		query[name] = append(query[name], vs...)
	}
	for name := range query {
		if sensitiveQuery.MatchString(name) {
			query[name] = []string{Redacted}
		}
	}
	out := shown + path
	if len(query) > 0 {
		out += "?" + query.Encode()
	}
	return RedactSecrets(out, secrets)
}

// RedactSecrets replaces each secret value in s, as written or escaped
// for a path or a query, with REDACTED. A URL-valued secret is replaced
// whole (and without its user part, as TraceURL shows it); other values
// shorter than 4 bytes are left alone, as they would redact ordinary text.
func RedactSecrets(s string, secrets []string) string {
	for _, v := range secrets {
		if u, err := url.Parse(v); err == nil && u.Scheme != "" && u.Host != "" {
			u.User = nil
			for _, form := range []string{strings.TrimSuffix(v, "/"), strings.TrimSuffix(u.String(), "/")} {
				s = strings.ReplaceAll(s, form, Redacted)
			}
			continue
		}
		if len(v) >= 4 {
			for _, form := range []string{v, url.PathEscape(v), url.QueryEscape(v)} {
				s = strings.ReplaceAll(s, form, Redacted)
			}
		}
	}
	return s
}

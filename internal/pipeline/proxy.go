package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/manifoldgw/manifold/connectors"
)

// Passthrough is the answer of a proxy pipeline's upstream, to relay as
// it is: its status, the headers its step relays, and its body unread.
type Passthrough struct {
	Status int
	Header http.Header // the relayed headers only
	Length int64       // of Body, -1 when unknown
	// Body is the upstream's body, bounded by the gateway's max_response
	// and the pipeline's timeout. A failed read is an error for
	// problem.From (*TooLargeError, *TimeoutError or *StepError). The
	// caller must Close it: the run ends then.
	Body  io.ReadCloser
	Steps []StepTrace // the one step, for the record
}

// Proxy runs a proxy pipeline: its one step's call, with the body left
// unread. Everything but the decoding is as in Run: the upstream's
// resilience stack, the pipeline's timeout (which bounds the body too),
// the size cap. On error the Passthrough still holds the step's trace.
func (e *Engine) Proxy(ctx context.Context, p *Compiled, in Input) (*Passthrough, error) {
	ctx, span := e.startRun(ctx, p)
	runCtx, cancel := context.WithTimeout(ctx, p.Timeout.D())
	r := &run{e: e, p: p, in: in, start: time.Now(), base: baseInput(in, p.readsClaims),
		results: make([]any, 1), errs: make([]error, 1), traces: make([]StepTrace, 1), stale: make([]bool, 1)}
	runCtx, r.cancel = context.WithCancelCause(runCtx)
	resp, err := r.passthrough(runCtx, p.steps[0])
	out := &Passthrough{Steps: r.traces}
	if err != nil {
		cancel()
		err = r.proxyFailure(ctx, runCtx, err)
		endRun(span, &Result{}, err)
		return out, err
	}
	if resp.Length > int64(e.maxResponse) {
		resp.Stream.Close()
		cancel()
		err := &TooLargeError{Pipeline: p.Name, Size: int(resp.Length), Limit: e.maxResponse}
		endRun(span, &Result{}, err)
		return out, err
	}
	out.Status, out.Length = resp.Status, resp.Length
	out.Header = relayed(resp.Header, p.steps[0].relay)
	out.Body = &relayBody{body: resp.Stream, left: int64(e.maxResponse), r: r, st: p.steps[0], ctx: ctx, runCtx: runCtx,
		end: func(err error) { cancel(); endRun(span, &Result{}, err) }}
	return out, nil
}

// passthrough makes the step's call, asking for the body unread. An
// upstream's answer outside 2xx is relayed too: it is no error here.
func (r *run) passthrough(ctx context.Context, st *step) (*connectors.Response, error) {
	tr := &r.traces[0]
	tr.Name, tr.Upstream, tr.Method, tr.Start = st.name, st.upstream, st.method, time.Since(r.start)
	ctx, span := r.e.startStep(ctx, st)
	defer func() {
		tr.Duration = time.Since(r.start) - tr.Start
		r.endStep(span, st)
	}()
	req, err := st.render(ctx, r.input(st))
	if err != nil {
		r.fail(st, err)
		return nil, r.errs[0]
	}
	req.Stream = true
	r.callerParts(st, req) // as for any step: a pass-through is no anonymous client
	start := time.Since(r.start)
	resp, err := r.e.upstreams[st.upstream].Do(ctx, req)
	r.record(st, req, resp, err, CallTrace{Start: start, Duration: time.Since(r.start) - start, Failed: err != nil})
	var status *connectors.StatusError
	if err != nil && (resp == nil || resp.Stream == nil || !errors.As(err, &status)) {
		if resp != nil && resp.Stream != nil {
			resp.Stream.Close()
		}
		r.fail(st, err)
		return nil, r.errs[0]
	}
	return resp, nil
}

// proxyFailure is what a failed call means for the caller, as in Run:
// the caller gone, the pipeline's timeout, or the step's own error.
func (r *run) proxyFailure(parent, runCtx context.Context, err error) error {
	if perr := parent.Err(); perr != nil {
		return perr
	}
	if errors.Is(runCtx.Err(), context.DeadlineExceeded) {
		return &TimeoutError{Pipeline: r.p.Name, Timeout: r.p.Timeout.D(), Pending: []string{r.p.steps[0].name}}
	}
	return err
}

// relayBody is a relayed body: bounded by the gateway's max_response, its
// read errors mapped as a run's, and the run ended when it is closed.
type relayBody struct {
	body io.ReadCloser
	left int64
	r    *run
	st   *step
	// The caller's and the run's, to tell the caller's end and the
	// pipeline's timeout from the upstream's failure.
	ctx, runCtx context.Context
	err         error
	done        bool
	end         func(error)
}

func (b *relayBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		var probe [1]byte
		if n, err := b.body.Read(probe[:]); n == 0 {
			return 0, b.fail(err)
		}
		limit := b.r.e.maxResponse
		return 0, b.fail(&TooLargeError{Pipeline: b.r.p.Name, Size: limit + 1, Limit: limit})
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.body.Read(p)
	b.left -= int64(n)
	return n, b.fail(err)
}

// fail maps a read error (io.EOF is none) and keeps it for the span.
func (b *relayBody) fail(err error) error {
	if err == nil || errors.Is(err, io.EOF) {
		return err
	}
	var tooLarge *TooLargeError
	if !errors.As(err, &tooLarge) {
		err = b.r.proxyFailure(b.ctx, b.runCtx, &StepError{Step: b.st.name, Upstream: b.st.upstream, Err: err})
	}
	b.err = err
	return err
}

// Close ends the call and the run.
func (b *relayBody) Close() error {
	err := b.body.Close()
	if !b.done {
		b.done = true
		b.end(b.err)
	}
	return err
}

// relay keeps the headers a step relays to the caller.
func (r *run) relay(st *step, resp *connectors.Response) {
	h := relayed(resp.Header, st.relay)
	if h == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.relayed == nil {
		r.relayed = make(http.Header, len(h))
	}
	for k, vs := range h {
		r.relayed[k] = vs
	}
}

// acceptAnything makes a proxy's call accept any media type, unless the
// step says otherwise: the body is relayed, not decoded.
func acceptAnything(headers []named) []named {
	for _, h := range headers {
		if http.CanonicalHeaderKey(h.name) == "Accept" {
			return headers
		}
	}
	return append(headers, named{"Accept", constT{v: "*/*"}})
}

// decodeRelayed is a proxy's answer for the surfaces that need a value
// (GraphQL, MCP): JSON decoded, text as a string. Other bytes cannot be
// given to them.
func decodeRelayed(pipeline string, resp *connectors.Response) (any, error) {
	if len(resp.Body) == 0 {
		return nil, nil
	}
	ct := resp.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	isJSON := mt == "application/json" || strings.HasSuffix(mt, "+json")
	if isJSON || mt == "" && json.Valid(resp.Body) {
		var v any
		if err := json.Unmarshal(resp.Body, &v); err != nil {
			return nil, fmt.Errorf("upstream answered invalid JSON: %w", err)
		}
		return v, nil
	}
	if utf8.Valid(resp.Body) && (mt == "" || textual(mt)) {
		return string(resp.Body), nil
	}
	return nil, &NotRelayableError{Pipeline: pipeline, ContentType: ct}
}

// textual reports whether a media type is text a caller can read as a
// string.
func textual(mt string) bool {
	return strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "+xml") ||
		mt == "application/xml" || mt == "application/javascript" || mt == "application/x-www-form-urlencoded"
}

// NotRelayableError is a proxy pipeline's binary answer asked for through
// a surface that needs JSON (GraphQL, MCP): only REST relays bytes.
type NotRelayableError struct {
	Pipeline    string
	ContentType string
}

func (e *NotRelayableError) Error() string {
	return fmt.Sprintf("pipeline %s answers %s, which only its REST endpoint relays", e.Pipeline, e.ContentType)
}

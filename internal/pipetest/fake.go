package pipetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/manifoldgw/manifold/internal/pipeline"
)

// noAnswer is Made.Failure for a call no canned answer matched.
const noAnswer = "no canned answer"

// Made is one exchange the gateway had with an upstream during a test.
type Made struct {
	Upstream string
	Step     string // the step that made it ("" if unknown)
	Method   string
	Path     string // below the upstream's base path, decoded
	Query    url.Values
	Body     []byte
	Status   int    // the answer's status; 0 when the exchange failed
	Failure  string // why it failed: "connection", "timeout", or no answer
	answer   *Answer

	// What a real upstream said, with --record.
	header http.Header
	resp   []byte
}

// String is the call as -v shows it.
func (m *Made) String() string {
	target := m.Path
	if len(m.Query) > 0 {
		target += "?" + m.Query.Encode()
	}
	out := fmt.Sprintf("%s %s %s", m.Upstream, m.Method, target)
	if m.Step != "" {
		out += " (step " + m.Step + ")"
	}
	switch {
	case m.Status != 0:
		return out + " -> " + strconv.Itoa(m.Status)
	case m.Failure == noAnswer:
		return out
	}
	return out + " -> " + m.Failure
}

// exchanges fakes (or, recording, watches) every upstream exchange of one
// test. It is the round tripper below each upstream's resilience stack.
type exchanges struct {
	answers []*Answer
	bodies  map[*Answer][]byte // each answer's JSON body, rendered once
	bases   map[string]string  // upstream -> its URL's path, without trailing /
	record  bool

	mu   sync.Mutex
	made []*Made
}

func newExchanges(plan *pipeline.Plan, t *Test, record bool) (*exchanges, error) {
	x := &exchanges{answers: t.Answers, bodies: map[*Answer][]byte{}, bases: map[string]string{}, record: record}
	for name, u := range plan.Gateway.Upstreams {
		if parsed, err := url.Parse(u.URL); err == nil {
			x.bases[name] = strings.TrimSuffix(parsed.Path, "/")
		}
	}
	for _, a := range t.Answers {
		if !a.hasBody {
			continue
		}
		v, err := normalize(a.Body)
		if err != nil {
			return nil, fmt.Errorf("line %d: body: %w", a.line, err)
		}
		x.bodies[a], _ = json.Marshal(v)
	}
	return x, nil
}

// transport is the server.BuildOptions.Transport of a test.
func (x *exchanges) transport(upstream string, pool http.RoundTripper) http.RoundTripper {
	return roundTripper(func(r *http.Request) (*http.Response, error) { return x.roundTrip(upstream, pool, r) })
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (x *exchanges) roundTrip(upstream string, pool http.RoundTripper, r *http.Request) (*http.Response, error) {
	m := &Made{Upstream: upstream, Step: pipeline.StepFrom(r.Context()), Method: r.Method,
		Path: strings.TrimPrefix(r.URL.Path, x.bases[upstream]), Query: r.URL.Query()}
	if r.Body != nil {
		m.Body, _ = io.ReadAll(r.Body)
		_ = r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(m.Body))
	}
	x.mu.Lock()
	x.made = append(x.made, m)
	x.mu.Unlock()
	if x.record {
		return x.recordExchange(pool, r, m)
	}
	for _, a := range x.answers {
		if a.matches(m) {
			m.answer = a
			return x.answer(r.Context(), a, m)
		}
	}
	m.Failure = noAnswer
	return nil, fmt.Errorf("manifold test: no canned answer for %s", m)
}

// answer plays a canned answer: its delay (cut by the call's deadline,
// as a slow upstream is), its failure, or its status, headers and body.
func (x *exchanges) answer(ctx context.Context, a *Answer, m *Made) (*http.Response, error) {
	if d := a.Delay.D(); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			m.Failure = "timeout"
			return nil, ctx.Err()
		}
	}
	switch a.Fail {
	case "connection":
		m.Failure = "connection"
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	case "timeout":
		<-ctx.Done()
		m.Failure = "timeout"
		return nil, ctx.Err()
	}
	status := a.Status
	if status == 0 {
		status = http.StatusOK
	}
	h := http.Header{}
	var body []byte
	switch {
	case a.Text != nil:
		body = []byte(*a.Text)
		h.Set("Content-Type", "text/plain; charset=utf-8")
	case a.hasBody:
		body = x.bodies[a]
		h.Set("Content-Type", "application/json")
	}
	for k, v := range a.Headers {
		h.Set(k, v)
	}
	m.Status = status
	return &http.Response{StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: h,
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body))}, nil
}

// recordExchange sends the call to the real upstream and keeps its answer.
func (x *exchanges) recordExchange(pool http.RoundTripper, r *http.Request, m *Made) (*http.Response, error) {
	resp, err := pool.RoundTrip(r)
	if err != nil {
		m.Failure = "connection"
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		m.Failure = "connection"
		return nil, err
	}
	m.Status, m.header, m.resp = resp.StatusCode, resp.Header, body
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// calls returns the exchanges made so far, sorted by upstream, path and
// query (steps run concurrently: the order they were made in varies),
// retries kept in the order they were made.
func (x *exchanges) calls() []*Made {
	x.mu.Lock()
	out := append([]*Made(nil), x.made...)
	x.mu.Unlock()
	key := func(m *Made) string { return m.Upstream + " " + m.Path + "?" + m.Query.Encode() }
	sort.SliceStable(out, func(i, j int) bool { return key(out[i]) < key(out[j]) })
	return out
}

// matches reports whether a answers the call m.
func (a *Answer) matches(m *Made) bool {
	return (a.Step == "" || a.Step == m.Step) &&
		(a.Upstream == "" || a.Upstream == m.Upstream) &&
		(a.Method == "" || a.Method == m.Method) &&
		(a.Path == "" || a.Path == m.Path) &&
		queryHas(m.Query, a.Query) == ""
}

// queryHas says how q differs from the parameters want lists ("" when it
// has them all, with these values); other parameters may be present.
func queryHas(q url.Values, want map[string]any) string {
	for name, v := range want {
		got, ok := q[name]
		if !ok {
			return fmt.Sprintf("query parameter %s missing", name)
		}
		if w := scalars(v); strings.Join(got, "\x00") != strings.Join(w, "\x00") {
			return fmt.Sprintf("query parameter %s is %q, want %q", name, strings.Join(got, ","), strings.Join(w, ","))
		}
	}
	return ""
}

// scalars renders an expected query value as the strings it is sent as;
// a list is a repeated parameter.
func scalars(v any) []string {
	if list, ok := v.([]any); ok {
		out := make([]string, len(list))
		for i, e := range list {
			out[i] = fmt.Sprint(e)
		}
		return out
	}
	return []string{fmt.Sprint(v)}
}

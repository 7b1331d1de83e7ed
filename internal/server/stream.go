package server

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/manifoldgw/manifold/internal/problem"
)

// Long-lived streams (a GraphQL subscription over WebSocket or SSE, an MCP
// event stream) are bounded apart from server.max_concurrent: a request
// counts as a single answer, under the listener's read and write
// deadlines and against max_concurrent, until the surface has read what it
// needs and sets the stream up: OpenStream (SSE) or UpgradeStream
// (WebSocket) gives back the max_concurrent slot and takes one of
// server.max_streams, at most server.max_streams_per_client of them for
// one client address; the deadlines are lifted only then (for a
// WebSocket, once the connection is hijacked). So a header alone
// (Upgrade, Accept: text/event-stream) lifts nothing, and streams never
// starve single answers.

// ErrTooManyStreams is returned when the gateway, or the client, has as
// many streams open as it may. It carries a 503 problem with Retry-After.
var ErrTooManyStreams = errors.New("too many streams")

// Names under which stream refusals are counted (refusal.Counts).
const (
	RefusedStreams          = "server.max_streams"
	RefusedStreamsPerClient = "server.max_streams_per_client"
)

// Stream is one open long-lived stream. Its Context ends with the
// request, when the caller's credential expires, or when a reload removes
// the caller; Close gives its slot back.
type Stream struct {
	ctx    context.Context
	cancel context.CancelFunc
	close  func()
	once   sync.Once
}

// Context is the stream's context: serve the stream with it.
func (st *Stream) Context() context.Context { return st.ctx }

// Close ends the stream and gives its slot back. It may be called more
// than once.
func (st *Stream) Close() { st.once.Do(st.close) }

// streams counts the open streams, in all and per client, and remembers
// them so that a reload can end those whose caller it removed.
type streams struct {
	quota Quota
	mu    sync.Mutex
	open  map[*Stream]func() bool // false once the caller is no longer valid
}

// OpenStream sets up a long-lived stream on r: call it once the request
// has been read and the stream is about to start (for SSE, before the
// first event is written). It refuses with ErrTooManyStreams (a 503
// problem, counted) when the gateway or the client has as many streams as
// it may.
func (s *Server) OpenStream(w http.ResponseWriter, r *http.Request) (*Stream, error) {
	st, err := s.admitStream(r)
	if err != nil {
		return nil, err
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	return st, nil
}

// UpgradeStream admits a WebSocket stream before the upgrade, so that a
// refusal (ErrTooManyStreams) is still a plain 503 problem, and returns the
// writer to hand the upgrader: the connection's deadlines are lifted when
// it hijacks the connection, the stream is closed when the connection
// closes, and the connection is closed when the stream's context ends
// (credential expired, caller removed). Close the stream when the upgrade
// handler returns, whether or not it upgraded.
func (s *Server) UpgradeStream(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *Stream, error) {
	st, err := s.admitStream(r)
	if err != nil {
		return nil, nil, err
	}
	return &upgradeWriter{ResponseWriter: w, st: st}, st, nil
}

// admitStream takes a stream slot for r's client, gives back r's
// max_concurrent slot and detaches r from its Runtime.
func (s *Server) admitStream(r *http.Request) (*Stream, error) {
	cfg := s.Runtime().Plan.Gateway.Server
	release, over := s.streams.quota.Take(s.opts.ClientIP(r), cfg.MaxStreams, cfg.MaxStreamsPerClient)
	if over != Taken {
		refused := RefusedStreams
		if over == OverClient {
			refused = RefusedStreamsPerClient
		}
		s.opts.Refusals.Add(refused)
		p := problem.New("too-many-streams", http.StatusServiceUnavailable,
			"the gateway holds as many long-lived streams as "+refused+" allows; close one or retry later")
		p.RetryAfter = 5
		return nil, &problem.Error{P: p, Err: ErrTooManyStreams}
	}
	ctx, cancel := context.WithCancel(r.Context())
	st := &Stream{ctx: ctx, cancel: cancel}
	id := IdentityFrom(r.Context())
	var stop func() bool
	if id != nil && !id.Expires.IsZero() {
		t := time.AfterFunc(time.Until(id.Expires), cancel)
		stop = t.Stop
	}
	check := func() bool { return true }
	if c, ok := s.opts.Auth.(IdentityChecker); ok && id != nil {
		check = func() bool { return c.StillValid(id) }
	}
	s.streams.mu.Lock()
	if s.streams.open == nil {
		s.streams.open = map[*Stream]func() bool{}
	}
	s.streams.open[st] = check
	s.streams.mu.Unlock()
	st.close = func() {
		cancel()
		if stop != nil {
			stop()
		}
		s.streams.mu.Lock()
		delete(s.streams.open, st)
		s.streams.mu.Unlock()
		release()
	}
	releaseSlot(r.Context())
	Detach(r.Context())
	return st, nil
}

// recheckStreams ends the streams whose caller the plan now served no
// longer admits (called after a reload).
func (s *Server) recheckStreams() {
	s.streams.mu.Lock()
	var gone []*Stream
	for st, stillValid := range s.streams.open {
		if !stillValid() {
			gone = append(gone, st)
		}
	}
	s.streams.mu.Unlock()
	for _, st := range gone {
		st.cancel()
	}
}

// StreamCount returns the streams open now (for tests and the admin API).
func (s *Server) StreamCount() int { return s.streams.quota.Held() }

// upgradeWriter lifts the deadlines of the connection it hijacks.
type upgradeWriter struct {
	http.ResponseWriter
	st *Stream
}

func (u *upgradeWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(u.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	sc := &streamConn{Conn: conn, st: u.st}
	go func() {
		<-u.st.ctx.Done()
		_ = sc.Close()
	}()
	return sc, rw, nil
}

// Unwrap gives http.ResponseController the writer underneath.
func (u *upgradeWriter) Unwrap() http.ResponseWriter { return u.ResponseWriter }

// streamConn gives the stream's slot back when the connection closes.
type streamConn struct {
	net.Conn
	st *Stream
}

func (c *streamConn) Close() error {
	err := c.Conn.Close()
	c.st.Close()
	return err
}

// slotKey holds the release of a request's max_concurrent slot.
type slotKey struct{}

// releaseSlot gives back the max_concurrent slot of the request of ctx,
// once; a request without one (no limit) is left as is.
func releaseSlot(ctx context.Context) {
	if f, ok := ctx.Value(slotKey{}).(func()); ok {
		f()
	}
}

package server

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/problem"
)

// proxyCall serves a REST call of a proxy pipeline: the same checks as
// any call, then the upstream's status, relayed headers and body, copied
// as they come. It returns nil once it has answered and recorded the
// call, or the Outcome of a failure before anything was relayed, for the
// caller to write as a problem.
//
// A failure after the status was sent (the body passing max_response
// without a Content-Length, the upstream or the timeout cutting it) can
// no longer become a problem: the connection is aborted, as reverse
// proxies do, so that the caller sees an incomplete answer, never a short
// one that looks whole. The record keeps the relayed status and the
// problem type.
func (s *Server) proxyCall(w http.ResponseWriter, r *http.Request, rt *Runtime, call *Call, maxBody int64) *Outcome {
	start := time.Now()
	if err := s.restInput(w, r, rt, call, maxBody); err != nil {
		return &Outcome{Err: err, Start: start}
	}
	pt, err := rt.Engine.Proxy(r.Context(), call.Pipeline, call.Input)
	o := &Outcome{Result: &pipeline.Result{Steps: pt.Steps}, Err: err, Start: start}
	if err != nil {
		return o
	}
	return s.relayAnswer(w, r, call, pt, o)
}

// relayAnswer sends a Passthrough's status, headers and body, and records
// the call; see proxyCall.
func (s *Server) relayAnswer(w http.ResponseWriter, r *http.Request, call *Call, pt *pipeline.Passthrough, o *Outcome) *Outcome {
	src := &readErr{r: pt.Body}
	defer pt.Body.Close()
	buf := s.peekBuffer()
	defer s.bufs.Put(buf)
	n, err := io.ReadFull(src, *buf)
	if src.err != nil { // nothing is sent yet: a problem can still say why
		o.Err = src.err
		return o
	}
	if err != nil { // the whole body is in buf: its length is known
		pt.Length = int64(n)
	}
	for k, v := range call.Header {
		w.Header()[k] = v
	}
	writeRelayHeader(w, pt)
	status, failed := pt.Status, s.copyRest(w, src, (*buf)[:n], err == nil)
	switch {
	case src.err != nil:
		o.Err = src.err
	case failed != nil: // the caller went away
		o.Err, status = failed, problem.StatusClientClosed
	}
	if o.Err != nil {
		s.logFailure(r.Context(), call, o.Err)
	}
	s.record(r.Context(), call, o, status)
	if src.err != nil {
		panic(http.ErrAbortHandler) // net/http's way to abort a response
	}
	return nil
}

// peekSize is how much of a relayed body is read before the status is
// sent: a body that ends within it, however it was sent, gets a
// Content-Length, and one over max_response a problem rather than a cut.
const peekSize = 32 << 10

func (s *Server) peekBuffer() *[]byte {
	if b, ok := s.bufs.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, peekSize)
	return &b
}

// copyRest writes what was peeked, then the rest of the body if there is
// more. It returns the caller's write error.
func (s *Server) copyRest(w io.Writer, src io.Reader, peeked []byte, more bool) error {
	if _, err := w.Write(peeked); err != nil || !more {
		return err
	}
	_, err := io.Copy(w, src)
	if err != nil && !errors.Is(err, errRead) {
		return err
	}
	return nil
}

// writeRelayHeader sends the relayed status and headers. The gateway's own
// headers (request id, rate limits) stay as they are.
func writeRelayHeader(w http.ResponseWriter, pt *pipeline.Passthrough) {
	h := w.Header()
	relay(h, pt.Header)
	if h.Get("Content-Type") == "" {
		// Without it net/http would sniff the bytes: say nothing instead.
		h.Set("Content-Type", "application/octet-stream")
	}
	h.Set("X-Content-Type-Options", "nosniff")
	if pt.Length >= 0 && bodyAllowed(pt.Status) {
		h.Set("Content-Length", strconv.FormatInt(pt.Length, 10))
	}
	w.WriteHeader(pt.Status)
}

// bodyAllowed reports whether an answer of status may have a body (RFC
// 9110, sections 15.3.5 and 15.4.5).
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// relay adds relayed headers to h, leaving those the gateway set alone.
func relay(h, relayed http.Header) {
	for k, vs := range relayed {
		if _, set := h[k]; !set {
			h[k] = vs
		}
	}
}

// storable is what the response cache keeps of relayed headers: a shared
// cache never hands one caller's cookies to another.
func storable(h http.Header) http.Header {
	if h == nil {
		return nil
	}
	out := h.Clone()
	out.Del("Set-Cookie")
	return out
}

// readErr remembers the error of the reader, to tell the upstream's
// failure from the caller's in io.Copy.
type readErr struct {
	r   io.Reader
	err error
}

func (e *readErr) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		e.err = err
		return n, errRead
	}
	return n, err
}

// errRead stands for the reader's error inside io.Copy, which cannot tell
// whose error it returns.
var errRead = errors.New("relayed body failed")

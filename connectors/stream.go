package connectors

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
)

// stream answers a Request with Stream set: the body stays unread, for a
// pass-through pipeline to relay. A non-2xx answer is still a
// *StatusError, so that breakers and retries judge it as they judge any
// other, but its Response carries the body too. An announced length over
// the size cap fails at once; an unannounced one fails when a read passes
// the cap.
func (h *HTTP) stream(method string, u *url.URL, resp *http.Response) (*Response, error) {
	out := &Response{Status: resp.StatusCode, Header: resp.Header, Attempts: 1, Length: resp.ContentLength}
	if resp.ContentLength > h.maxBody {
		resp.Body.Close()
		return out, fmt.Errorf("%s %s: %w: %d bytes, limit %d", method, redact(u), ErrResponseTooLarge, resp.ContentLength, h.maxBody)
	}
	if method == http.MethodHead { // Content-Length describes the GET answer
		out.Length = -1
	}
	out.Stream = &cappedBody{body: resp.Body, left: h.maxBody, limit: h.maxBody}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return out, fmt.Errorf("%s %s: %w", method, redact(u), &StatusError{Status: resp.StatusCode})
	}
	return out, nil
}

// cappedBody fails a read past limit bytes with ErrResponseTooLarge.
type cappedBody struct {
	body        io.ReadCloser
	left, limit int64
}

func (c *cappedBody) Read(p []byte) (int, error) {
	if c.left <= 0 {
		var probe [1]byte
		if n, err := c.body.Read(probe[:]); n == 0 {
			return 0, err // the end, exactly at the limit, or a failure
		}
		return 0, fmt.Errorf("%w: more than %d bytes", ErrResponseTooLarge, c.limit)
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.body.Read(p)
	c.left -= int64(n)
	return n, err
}

func (c *cappedBody) Close() error { return c.body.Close() }

// hookedBody runs a hook, once, when the body is closed.
type hookedBody struct {
	io.ReadCloser
	once sync.Once
	hook func()
}

func (b *hookedBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.hook)
	return err
}

// onClose makes hook run when resp's streamed body is closed, and reports
// whether there is such a body; without one the caller runs hook itself.
func onClose(resp *Response, hook func()) bool {
	if resp == nil || resp.Stream == nil {
		return false
	}
	resp.Stream = &hookedBody{ReadCloser: resp.Stream, hook: hook}
	return true
}

// discard closes the streamed body of an answer nobody will read.
func discard(resp *Response) {
	if resp != nil && resp.Stream != nil {
		resp.Stream.Close()
		resp.Stream = nil
	}
}

package connectors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults for the zero values of Config.
const (
	DefaultTimeout     = 5 * time.Second // Config.Timeout
	DefaultMaxResponse = 10 << 20        // Config.MaxResponse, bytes
	DefaultIdleConns   = 64              // idle connections kept when Concurrency is 0
)

// Transport tuning that gateway.yaml does not expose.
const (
	dialTimeout         = 3 * time.Second
	tlsHandshakeTimeout = 5 * time.Second
	idleConnTimeout     = 90 * time.Second
	userAgent           = "manifold"
)

// ErrInvalidRequest is returned, before any network traffic, for a Request
// that cannot be sent: a bad method, a badly escaped path, a path with a
// "." or ".." segment (which could leave the upstream's base path), or a
// GraphQL call without a body. It is the engine's bug, not the upstream's:
// it is never retried and never counts against the breaker.
var ErrInvalidRequest = errors.New("invalid upstream request")

// HTTP is the transport of `kind: http` upstreams: one Do, one HTTP
// exchange, no retries. Redirects are followed only as cfg.FollowRedirects
// allows (else a 3xx is a *StatusError), and the upstream's credentials
// go to its own origin only. It keeps one tuned connection pool per
// upstream and is safe for concurrent use.
type HTTP struct {
	base     *url.URL      // cfg.URL without userinfo and fragment
	basePath string        // escaped base path without trailing slash
	user     *url.Userinfo // cfg.URL's userinfo, sent as basic auth
	headers  http.Header   // canonical keys
	format   string
	maxBody  int64
	rt       http.RoundTripper // the pool, unless Options.Transport wrapped it
	origin   *originTransport  // rt behind the credentials, for the client
	client   *http.Client      // origin behind the redirect policy
	creds    *credentials
	noDetail bool // cfg.NoErrorDetail

	// The values of Accept, User-Agent and a body's Content-Type, shared
	// read-only by every request, as headers' are.
	accept, agent, ctype []string
}

var _ Connector = (*HTTP)(nil)

// NewHTTP returns the transport for cfg. It validates cfg.URL (absolute,
// http or https) and applies the defaults of Config's zero values.
func NewHTTP(cfg Config) (*HTTP, error) {
	if cfg.URL == nil || (cfg.URL.Scheme != "http" && cfg.URL.Scheme != "https") || cfg.URL.Host == "" {
		return nil, fmt.Errorf("upstream %q: url must be absolute http(s)", cfg.Name)
	}
	base := *cfg.URL
	base.User, base.Fragment, base.RawFragment = nil, "", ""
	maxBody := cfg.MaxResponse
	if maxBody <= 0 {
		maxBody = DefaultMaxResponse
	}
	h := &HTTP{
		base:     &base,
		basePath: strings.TrimSuffix(base.EscapedPath(), "/"),
		user:     cfg.URL.User,
		headers:  canonical(cfg.Headers),
		accept:   []string{"application/json"},
		agent:    []string{userAgent},
		ctype:    []string{"application/json"},
		format:   cfg.Format,
		maxBody:  maxBody,
		rt:       newPool(cfg),
		creds:    newCredentials(cfg),
		noDetail: cfg.NoErrorDetail,
	}
	if a, ok := accepts[cfg.Format]; ok {
		h.accept = []string{a}
	}
	origin := originOf(&base)
	policy := &redirectPolicy{origin: origin, follow: cfg.FollowRedirects, allowed: cfg.RedirectHosts, private: privateHeaders(cfg)}
	h.origin = &originTransport{origin: origin, base: &base, creds: h.creds, next: h.rt}
	h.client = &http.Client{Transport: h.origin, CheckRedirect: policy.check}
	return h, nil
}

// newPool builds the upstream's connection pool. Everything is bounded
// by the call's context too; these timeouts only catch a stuck phase early.
func newPool(cfg Config) *http.Transport {
	idle := cfg.Concurrency
	if idle <= 0 {
		idle = DefaultIdleConns
	}
	headerTimeout := cfg.Timeout
	if headerTimeout <= 0 {
		headerTimeout = DefaultTimeout
	}
	dialer := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true, // needed with a custom DialContext
		MaxIdleConns:          idle, // one upstream: one host
		MaxIdleConnsPerHost:   idle,
		IdleConnTimeout:       idleConnTimeout,
		TLSHandshakeTimeout:   tlsHandshakeTimeout,
		TLSClientConfig:       cfg.TLS,
		ResponseHeaderTimeout: headerTimeout,
		ExpectContinueTimeout: time.Second,
	}
}

// Do sends req and reads the answer, at most the size cap. A non-2xx answer
// is a *StatusError; the returned Response then still holds Status, Header
// and Attempts. Errors name the method and the URL without userinfo or
// query, which may hold secrets.
func (h *HTTP) Do(ctx context.Context, req *Request) (*Response, error) {
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	u, err := h.url(req.Path, req.Query)
	if err != nil {
		return &Response{}, fmt.Errorf("%s %s: %w", method, h.target(""), err)
	}
	hreq, err := h.request(ctx, method, u, req)
	if err != nil {
		return &Response{}, fmt.Errorf("%s %s: %w", method, redact(u), err)
	}
	resp, err := h.client.Do(hreq)
	if err != nil {
		return &Response{Attempts: 1}, fmt.Errorf("%s %s: %w", method, redact(u), withCause(ctx, clientError(err)))
	}
	if req.Stream {
		return h.stream(method, u, resp)
	}
	defer resp.Body.Close()
	out := &Response{Status: resp.StatusCode, Header: resp.Header, Attempts: 1}
	if final := resp.Request.URL; final != u && final.String() != u.String() { // u itself unless redirected
		out.URL = h.creds.scrub(shownURL(final, h.creds.redactNames()))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		serr := statusError(resp)
		if h.noDetail { // error_detail: false
			serr.Detail = ""
		}
		// An upstream may echo the credentials it was sent: never pass
		// them on, in its text or in the body output can read.
		serr.Detail = h.creds.scrub(serr.Detail)
		if serr.Body != nil {
			serr.Body = []byte(h.creds.scrub(string(serr.Body)))
		}
		return out, fmt.Errorf("%s %s: %w", method, redact(u), serr)
	}
	if method == http.MethodHead { // Content-Length describes the GET answer
		return out, nil
	}
	out.Body, err = readCapped(resp.Body, resp.ContentLength, h.maxBody)
	if err == nil {
		out.Body, err = toJSON(h.format, out.Body)
	}
	if err != nil {
		return out, fmt.Errorf("%s %s: %w", method, redact(u), withCause(ctx, err))
	}
	return out, nil
}

// clientError is the cause of an http.Client error, without the
// *url.Error that quotes the URL and its query.
func clientError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// request builds the outgoing request. Headers, in increasing precedence:
// the defaults, X-Forwarded-*, the caller's headers the step forwards,
// the upstream's configured headers, the step's headers. Nothing else
// from the gateway's client is ever forwarded.
func (h *HTTP) request(ctx context.Context, method string, u *url.URL, req *Request) (*http.Request, error) {
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body) // also sets ContentLength and GetBody
	}
	hreq, err := http.NewRequestWithContext(ctx, method, "", body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	hreq.URL, hreq.Host = u, ""
	hreq.Header = make(http.Header, 3+len(h.headers)+len(req.Header))
	// Shared values, as the configured headers' below: a header is
	// replaced or deleted, never written in place.
	hreq.Header["Accept"] = h.accept
	hreq.Header["User-Agent"] = h.agent
	if req.Body != nil {
		hreq.Header["Content-Type"] = h.ctype
	}
	addForwarded(hreq.Header, req)
	if h.user != nil {
		pass, _ := h.user.Password()
		hreq.SetBasicAuth(h.user.Username(), pass)
	}
	for k, vs := range h.headers {
		hreq.Header[k] = vs
	}
	for k, vs := range req.Header {
		hreq.Header[http.CanonicalHeaderKey(k)] = vs
	}
	return hreq, nil
}

// url joins the base URL and the request's escaped path and query. Only the
// path below the base path and the query can change: scheme, host and port
// come from the configuration alone.
func (h *HTTP) url(path string, query url.Values) (*url.URL, error) {
	u := *h.base
	if path != "" {
		if path[0] != '/' {
			path = "/" + path
		}
		if hasDotSegment(path) {
			return nil, fmt.Errorf("%w: path has a dot segment", ErrInvalidRequest)
		}
		raw := h.basePath + path
		unescaped, err := url.PathUnescape(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: badly escaped path", ErrInvalidRequest)
		}
		// RawPath keeps escapes like %2F that Path cannot express.
		u.Path, u.RawPath = unescaped, raw
	}
	if q := query.Encode(); q != "" {
		if u.RawQuery != "" {
			q = u.RawQuery + "&" + q
		}
		u.RawQuery = q
	}
	return &u, nil
}

// hasDotSegment reports whether an escaped path has a "." or ".." segment,
// escaped or not (RFC 3986, section 5.2.4).
func hasDotSegment(path string) bool {
	for seg := range strings.SplitSeq(path, "/") {
		if s, err := url.PathUnescape(seg); err == nil && (s == "." || s == "..") {
			return true
		}
	}
	return false
}

// target is the URL of a call to path, as errors may show it.
func (h *HTTP) target(path string) string {
	if u, err := h.url(path, nil); err == nil {
		return redact(u)
	}
	return redact(h.base)
}

// redact is u as errors and logs may show it: no userinfo, no query.
func redact(u *url.URL) string {
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return r.String()
}

// readCapped reads a body of the announced length (-1: unknown), failing
// with ErrResponseTooLarge past limit bytes.
func readCapped(r io.Reader, length, limit int64) ([]byte, error) {
	if length > limit {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrResponseTooLarge, length, limit)
	}
	if length >= 0 {
		b := make([]byte, length)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrResponseTooLarge, limit)
	}
	return b, nil
}

// withCause makes sure an error caused by the end of ctx says why to
// errors.Is, whatever the transport made of it.
func withCause(ctx context.Context, err error) error {
	if cerr := context.Cause(ctx); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w: %w", cerr, err)
	}
	return err
}

// canonical copies h with canonical keys.
func canonical(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for k, vs := range h {
		out[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	return out
}

// Close closes the idle connections of the upstream's pool and of its
// token endpoint's.
func (h *HTTP) Close() {
	if c, ok := h.rt.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
	h.creds.close()
}

// wrapRoundTripper replaces the pool by wrap(pool), below the
// credentials and the redirect policy, which still apply.
func (h *HTTP) wrapRoundTripper(wrap func(http.RoundTripper) http.RoundTripper) {
	h.rt = wrap(h.rt)
	h.origin.next = h.rt
}

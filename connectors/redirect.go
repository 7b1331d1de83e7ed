package connectors

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// RedirectError is a redirect the upstream's configuration does not allow:
// to another origin not in redirect_hosts, from https to http, or past
// follow_redirects. It was not followed. Target is the refused location's
// scheme and host only.
type RedirectError struct {
	Status int // the redirecting answer's status
	Target string
	Limit  int // follow_redirects, when it was reached
}

func (e *RedirectError) Error() string {
	if e.Target == "" {
		return fmt.Sprintf("more than %d redirects", e.Limit)
	}
	return fmt.Sprintf("redirect %d to %s refused: not the upstream's origin nor in its redirect_hosts", e.Status, e.Target)
}

// originTransport puts the upstream's credentials and fixed query on
// requests to its own origin only, so that a redirect elsewhere never
// carries them, and hands every request to the pool.
type originTransport struct {
	origin string
	base   *url.URL // the upstream's URL, whose scheme and host are the origin's
	creds  *credentials
	next   http.RoundTripper
}

// RoundTrip sends r, with the credentials when it goes to the origin. The
// answer's Request is r, so that what the client shows never holds them.
func (t *originTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !t.sameOrigin(r.URL) {
		return t.next.RoundTrip(r)
	}
	out := r
	if t.creds.sent() { // a copy gets them: r is the caller's
		out = r.Clone(r.Context())
		if err := t.creds.apply(out); err != nil {
			if r.Body != nil {
				_ = r.Body.Close()
			}
			return nil, err
		}
	}
	resp, err := t.next.RoundTrip(out)
	if resp != nil {
		resp.Request = r
	}
	return resp, err
}

// sameOrigin reports whether u is on the upstream's origin. Every call
// but a redirected one has the upstream's own scheme and host, which
// tells so without building a string.
func (t *originTransport) sameOrigin(u *url.URL) bool {
	return u.Host == t.base.Host && u.Scheme == t.base.Scheme || originOf(u) == t.origin
}

// redirectPolicy is the http.Client's CheckRedirect of an upstream: none
// is followed unless follow > 0; then only to the same origin or a host
// of allowed, never from https to http. Credentials and the upstream's
// own headers are removed from a request leaving the origin (Go removes
// only Authorization and Cookie, and keeps them for subdomains).
type redirectPolicy struct {
	origin  string
	follow  int
	allowed []string
	private []string // header names that may hold secrets
}

func (p *redirectPolicy) check(req *http.Request, via []*http.Request) error {
	if p.follow <= 0 {
		return http.ErrUseLastResponse // a 3xx is the answer, and an error
	}
	status := 0
	if resp := req.Response; resp != nil {
		status = resp.StatusCode
	}
	if len(via) > p.follow {
		return &RedirectError{Status: status, Limit: p.follow}
	}
	req.Header.Del("Referer") // would tell the next host the previous URL
	if originOf(req.URL) == p.origin {
		return nil
	}
	prev := via[len(via)-1].URL
	if !p.hostAllowed(req.URL) || prev.Scheme == "https" && req.URL.Scheme != "https" {
		return &RedirectError{Status: status, Target: req.URL.Scheme + "://" + req.URL.Host}
	}
	for _, h := range p.private {
		req.Header.Del(h)
	}
	return nil
}

// hostAllowed reports whether u's host is in redirect_hosts: an entry
// with a port matches that port only, one without matches any port.
func (p *redirectPolicy) hostAllowed(u *url.URL) bool {
	host := strings.ToLower(u.Host)
	name := strings.ToLower(u.Hostname())
	return slices.ContainsFunc(p.allowed, func(h string) bool {
		h = strings.ToLower(h)
		return h == host || h == name
	})
}

// originOf is u's scheme, host and port, the port made explicit.
func originOf(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return u.Scheme + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

// shownURL is u as traces show it: no user part, the values of the
// credential and fixed query parameters REDACTED, and those of any
// parameter named like a credential (a presigned link's signature).
func shownURL(u *url.URL, hidden []string) string {
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}
	if r.RawQuery != "" {
		q := r.Query()
		for name := range q {
			if slices.Contains(hidden, name) || sensitiveQuery.MatchString(name) {
				q.Set(name, Redacted)
			}
		}
		r.RawQuery = q.Encode()
	}
	return r.String()
}

// privateHeaders are the request headers that leave with no redirect to
// another origin: credentials, and every header the upstream configures.
func privateHeaders(cfg Config) []string {
	names := []string{"Authorization", "Proxy-Authorization", "Cookie"}
	for k := range cfg.Headers {
		names = append(names, http.CanonicalHeaderKey(k))
	}
	if a := cfg.Auth; a != nil && a.Type == AuthAPIKey && a.In != "query" {
		names = append(names, http.CanonicalHeaderKey(a.Name))
	}
	return names
}

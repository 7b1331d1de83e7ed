package connectors

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/manifoldgw/manifold/internal/waittest"
)

// redirector answers /from with a redirect to location, and records the
// rest.
func redirector(t *testing.T, status int, location func() string, s *seen) string {
	t.Helper()
	return server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/from" || r.URL.Path == "/loop" {
			w.Header().Set("Location", location())
			w.WriteHeader(status)
			return
		}
		s.handler(http.StatusOK)(w, r)
	}).URL
}

// credentialed is an upstream at base with every kind of secret: a
// configured header, an api key in the query and basic auth.
func credentialed(t *testing.T, base string, follow int, hosts ...string) *Upstream {
	t.Helper()
	cfg := config(t, base)
	cfg.Headers = http.Header{"X-Upstream-Secret": {testSecret}}
	cfg.Auth = &AuthConfig{Type: AuthAPIKey, In: "query", Name: "key", Value: testSecret}
	cfg.FollowRedirects, cfg.RedirectHosts = follow, hosts
	return newUpstream(t, cfg, Options{})
}

func TestRedirectOffByDefault(t *testing.T) {
	var s seen
	base := redirector(t, http.StatusFound, func() string { return "/to" }, &s)
	_, err := credentialed(t, base, 0).Do(context.Background(), &Request{Path: "/from"})
	var se *StatusError
	if !errors.As(err, &se) || se.Status != http.StatusFound || len(s.all()) != 0 {
		t.Errorf("error %v, %d calls to /to: want the 302 as a StatusError, not followed", err, len(s.all()))
	}
}

func TestRedirectSameOrigin(t *testing.T) {
	var s seen
	var base string
	base = redirector(t, http.StatusMovedPermanently, func() string { return base + "/to?page=2" }, &s)
	resp, err := credentialed(t, base, 3).Do(context.Background(), &Request{Path: "/from"})
	if err != nil {
		t.Fatal(err)
	}
	r := s.last(t)
	if r.URL.Path != "/to" || r.URL.Query().Get("key") != testSecret || r.Header.Get("X-Upstream-Secret") != testSecret {
		t.Errorf("same-origin redirect: upstream got %s with headers %v: want the credentials", r.URL, r.Header)
	}
	if resp.URL != base+"/to?page=2" {
		t.Errorf("Response.URL = %q, want the final URL %q", resp.URL, base+"/to?page=2")
	}
}

// TestRedirectOtherHostAllowed: redirect_hosts lets the call go on, and
// no credential goes with it.
func TestRedirectOtherHostAllowed(t *testing.T) {
	var other, own seen
	otherURL, _ := url.Parse(server(t, other.handler(http.StatusOK)).URL)
	otherURL.Host = "localhost:" + otherURL.Port()
	loc := otherURL.String() + "/cdn?key=" + testSecret // an upstream that echoes the key
	base := redirector(t, http.StatusFound, func() string { return loc }, &own)
	resp, err := credentialed(t, base, 3, "localhost").Do(context.Background(), &Request{Path: "/from", Header: http.Header{"X-Step": {"v"}}})
	if err != nil {
		t.Fatal(err)
	}
	r := other.last(t)
	if r.Header.Get("X-Upstream-Secret") != "" || r.Header.Get("Authorization") != "" || r.Header.Get("Referer") != "" {
		t.Errorf("other host got headers %v: want no credential and no Referer", r.Header)
	}
	if r.Header.Get("X-Step") != "v" {
		t.Error("the step's own header was dropped")
	}
	if resp.URL != otherURL.String()+"/cdn?key="+Redacted {
		t.Errorf("Response.URL = %q: want the final URL with the key REDACTED", resp.URL)
	}
}

func TestRedirectRefused(t *testing.T) {
	var other, own seen
	otherBase := server(t, other.handler(http.StatusOK)).URL
	tests := []struct {
		name     string
		status   int
		location func(base string) string
		hosts    []string
		want     string
	}{
		{"other host", http.StatusFound, func(string) string { return otherBase + "/x" }, nil,
			"redirect 302 to " + otherBase + " refused: not the upstream's origin nor in its redirect_hosts"},
		{"other port of an allowed host with a port", http.StatusTemporaryRedirect, func(string) string { return otherBase + "/x" },
			[]string{"127.0.0.1:1"}, "redirect 307 to " + otherBase + " refused"},
		{"too many", http.StatusFound, func(base string) string { return base + "/loop" }, nil, "more than 2 redirects"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var base string
			base = redirector(t, tt.status, func() string { return tt.location(base) }, &own)
			u := credentialed(t, base, 2, tt.hosts...)
			_, err := u.Do(context.Background(), &Request{Path: "/from"})
			var re *RedirectError
			if !errors.As(err, &re) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v: want a RedirectError saying %q", err, tt.want)
			}
			if len(other.all()) != 0 {
				t.Error("the refused location was called")
			}
			if u.BreakerState() != "closed" || ErrorType(err) != "redirect" {
				t.Errorf("breaker %s, error.type %s", u.BreakerState(), ErrorType(err))
			}
		})
	}
}

// TestRedirectMethods: 307 and 308 repeat the method and body; 303 (and
// Go's 301/302 rules for POST) turn it into a GET without a body.
func TestRedirectMethods(t *testing.T) {
	for _, tt := range []struct {
		status     int
		wantMethod string
		wantBody   string
	}{
		{http.StatusTemporaryRedirect, "POST", `{"a":1}`},
		{http.StatusPermanentRedirect, "POST", `{"a":1}`},
		{http.StatusSeeOther, "GET", ""},
		{http.StatusFound, "GET", ""},
	} {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			got := make(chan string, 1)
			srv := server(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/from" {
					http.Redirect(w, r, "/to", tt.status)
					return
				}
				b, _ := io.ReadAll(r.Body)
				got <- r.Method + " " + string(b)
				_, _ = w.Write([]byte(`{}`))
			})
			cfg := config(t, srv.URL)
			cfg.FollowRedirects = 1
			h := newUpstream(t, cfg, Options{})
			if _, err := h.Do(context.Background(), &Request{Method: "POST", Path: "/from", Body: []byte(`{"a":1}`)}); err != nil {
				t.Fatal(err)
			}
			if g := waittest.Receive(t, got, "the redirected call"); g != tt.wantMethod+" "+tt.wantBody {
				t.Errorf("redirected call %q, want %q", g, tt.wantMethod+" "+tt.wantBody)
			}
		})
	}
}

// TestRedirectURLHidesSignedQuery: the final URL of a redirect to another
// host (a presigned download link) hides the values of query parameters
// named like credentials, as every shown URL does.
func TestRedirectURLHidesSignedQuery(t *testing.T) {
	var other, own seen
	otherURL, _ := url.Parse(server(t, other.handler(http.StatusOK)).URL)
	otherURL.Host = "localhost:" + otherURL.Port()
	loc := otherURL.String() + "/cdn?X-Amz-Signature=presigned-sig-value&page=2"
	base := redirector(t, http.StatusFound, func() string { return loc }, &own)
	resp, err := credentialed(t, base, 3, "localhost").Do(context.Background(), &Request{Path: "/from"})
	if err != nil {
		t.Fatal(err)
	}
	if want := otherURL.String() + "/cdn?X-Amz-Signature=" + Redacted + "&page=2"; resp.URL != want {
		t.Errorf("Response.URL = %q, want %q", resp.URL, want)
	}
}

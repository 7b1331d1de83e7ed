package connectors

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/manifoldgw/manifold/internal/waittest"
)

const testSecret = "s3cr3t-value-never-shown"

// seen records what an upstream received.
type seen struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (s *seen) handler(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.reqs = append(s.reqs, r.Clone(context.Background()))
		s.mu.Unlock()
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"ok":true}`))
	}
}

func (s *seen) all() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.reqs...)
}

func (s *seen) last(t *testing.T) *http.Request {
	t.Helper()
	all := s.all()
	if len(all) == 0 {
		t.Fatal("the upstream was not called")
	}
	return all[len(all)-1]
}

func TestAuthStaticCredentials(t *testing.T) {
	tests := []struct {
		name  string
		auth  AuthConfig
		query url.Values
		check func(r *http.Request) string // what is wrong, or ""
	}{
		{"api key in query", AuthConfig{Type: AuthAPIKey, In: "query", Name: "key", Value: testSecret}, nil,
			func(r *http.Request) string {
				if r.URL.Query().Get("key") != testSecret || r.URL.Query().Get("q") != "x" {
					return "query " + r.URL.RawQuery
				}
				return ""
			}},
		{"api key replaces a step's value", AuthConfig{Type: AuthAPIKey, In: "query", Name: "q", Value: testSecret}, nil,
			func(r *http.Request) string {
				if got := r.URL.Query()["q"]; len(got) != 1 || got[0] != testSecret {
					return fmt.Sprintf("q = %q", got)
				}
				return ""
			}},
		{"api key in header", AuthConfig{Type: AuthAPIKey, In: "header", Name: "X-Api-Key", Value: testSecret}, nil,
			func(r *http.Request) string { return want(r.Header.Get("X-Api-Key"), testSecret) }},
		{"bearer", AuthConfig{Type: AuthBearer, Token: testSecret}, nil,
			func(r *http.Request) string { return want(r.Header.Get("Authorization"), "Bearer "+testSecret) }},
		{"basic", AuthConfig{Type: AuthBasic, Username: "svc", Password: testSecret}, nil,
			func(r *http.Request) string {
				u, p, ok := r.BasicAuth()
				if !ok || u != "svc" || p != testSecret {
					return fmt.Sprintf("basic %q %q %v", u, p, ok)
				}
				return ""
			}},
		{"fixed query", AuthConfig{Type: AuthBearer, Token: testSecret}, url.Values{"appid": {testSecret}, "units": {"metric"}},
			func(r *http.Request) string {
				q := r.URL.Query()
				if q.Get("appid") != testSecret || q.Get("units") != "metric" || q.Get("q") != "x" {
					return "query " + r.URL.RawQuery
				}
				return ""
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s seen
			srv := server(t, s.handler(http.StatusOK))
			cfg := config(t, srv.URL)
			cfg.Auth, cfg.Query = &tt.auth, tt.query
			u := newUpstream(t, cfg, Options{})
			if _, err := u.Do(context.Background(), &Request{Path: "/v1/x", Query: url.Values{"q": {"x"}}}); err != nil {
				t.Fatal(err)
			}
			if msg := tt.check(s.last(t)); msg != "" {
				t.Error(msg)
			}
		})
	}
}

func want(got, want string) string {
	if got != want {
		return fmt.Sprintf("got %q, want %q", got, want)
	}
	return ""
}

// TestAuthSecretNotInErrors fails calls in every way a transport can and
// looks for the api key in the errors' text.
func TestAuthSecretNotInErrors(t *testing.T) {
	var s seen
	srv := server(t, s.handler(http.StatusInternalServerError))
	for _, base := range []string{srv.URL, refusedURL(t)} {
		cfg := config(t, base)
		cfg.Auth = &AuthConfig{Type: AuthAPIKey, In: "query", Name: "key", Value: testSecret}
		cfg.Query = url.Values{"appid": {testSecret}}
		u := newUpstream(t, cfg, Options{})
		_, err := u.Do(context.Background(), &Request{Path: "/x"})
		if err == nil || strings.Contains(err.Error(), testSecret) {
			t.Errorf("error %v: want a failure that does not quote the key", err)
		}
	}
}

// tokenEndpoint is an OAuth2 token endpoint: it checks the client
// credentials grant and hands out tok-1, tok-2, ... valid for expiresIn.
type tokenEndpoint struct {
	calls     atomic.Int32
	expiresIn int
	status    int           // answer this instead, with an RFC 6749 error
	gate      chan struct{} // when set, each request waits for it
	arrived   chan struct{} // when set, told of each request
	form      chan url.Values
}

func (te *tokenEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := te.calls.Add(1)
	if te.arrived != nil {
		te.arrived <- struct{}{}
	}
	if te.gate != nil {
		<-te.gate
	}
	_ = r.ParseForm()
	id, secret, _ := r.BasicAuth()
	if te.form != nil {
		select {
		case te.form <- r.PostForm:
		default:
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if te.status != 0 || id != "gw" || secret != testSecret || r.PostForm.Get("grant_type") != "client_credentials" {
		w.WriteHeader(max(te.status, http.StatusUnauthorized))
		fmt.Fprintf(w, `{"error":"invalid_client","error_description":"client secret %s is wrong"}`, testSecret)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("tok-%d", n), "token_type": "bearer", "expires_in": te.expiresIn})
}

func oauthUpstream(t *testing.T, te *tokenEndpoint, backend http.HandlerFunc) *Upstream {
	t.Helper()
	idp := server(t, te.ServeHTTP)
	srv := server(t, backend)
	cfg := config(t, srv.URL)
	cfg.Auth = &AuthConfig{Type: AuthClientCredentials, TokenURL: idp.URL + "/oauth/token", ClientID: "gw",
		ClientSecret: testSecret, Scopes: []string{"geo:read", "geo:write"}, Audience: "https://geo.example/api"}
	return newUpstream(t, cfg, Options{})
}

func TestClientCredentialsTokenReused(t *testing.T) {
	var s seen
	te := &tokenEndpoint{expiresIn: 3600, form: make(chan url.Values, 1)}
	u := oauthUpstream(t, te, s.handler(http.StatusOK))
	for range 3 {
		if _, err := u.Do(context.Background(), &Request{Path: "/x"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := te.calls.Load(); n != 1 {
		t.Errorf("token endpoint called %d times for 3 calls, want 1", n)
	}
	for _, r := range s.all() {
		if got := r.Header.Get("Authorization"); got != "Bearer tok-1" {
			t.Errorf("upstream got Authorization %q, want Bearer tok-1", got)
		}
	}
	form := waittest.Receive(t, te.form, "the token request")
	if form.Get("scope") != "geo:read geo:write" || form.Get("audience") != "https://geo.example/api" {
		t.Errorf("token request form %v: want scope and audience", form)
	}
}

// TestClientCredentialsRefreshedBeforeExpiry: a token within 10s of its
// expiry is not used again; the next call gets a fresh one.
func TestClientCredentialsRefreshedBeforeExpiry(t *testing.T) {
	var s seen
	te := &tokenEndpoint{expiresIn: 10}
	u := oauthUpstream(t, te, s.handler(http.StatusOK))
	for range 2 {
		if _, err := u.Do(context.Background(), &Request{Path: "/x"}); err != nil {
			t.Fatal(err)
		}
	}
	got := []string{}
	for _, r := range s.all() {
		got = append(got, r.Header.Get("Authorization"))
	}
	if te.calls.Load() != 2 || strings.Join(got, ",") != "Bearer tok-1,Bearer tok-2" {
		t.Errorf("token fetched %d times, upstream saw %q: want a new token for each call", te.calls.Load(), got)
	}
}

// TestClientCredentialsOneFetchUnderConcurrency: 100 concurrent calls
// while the token endpoint is slow make one token request.
func TestClientCredentialsOneFetchUnderConcurrency(t *testing.T) {
	var s seen
	te := &tokenEndpoint{expiresIn: 3600, gate: make(chan struct{}), arrived: make(chan struct{}, 200)}
	u := oauthUpstream(t, te, s.handler(http.StatusOK))
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Go(func() { // distinct calls: identical ones would be coalesced
			_, err := u.Do(context.Background(), &Request{Path: "/x", Query: url.Values{"i": {fmt.Sprint(i)}}})
			errs <- err
		})
	}
	waittest.Receive(t, te.arrived, "the token request")
	close(te.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n, calls := te.calls.Load(), len(s.all()); n != 1 || calls != 100 {
		t.Errorf("token endpoint called %d times for %d concurrent calls, want 1 for 100", n, calls)
	}
	for _, r := range s.all() {
		if r.Header.Get("Authorization") != "Bearer tok-1" {
			t.Fatalf("upstream got %q", r.Header.Get("Authorization"))
		}
	}
}

func TestClientCredentialsFailure(t *testing.T) {
	var s seen
	te := &tokenEndpoint{status: http.StatusUnauthorized}
	u := oauthUpstream(t, te, s.handler(http.StatusOK))
	for range 10 { // past the breaker's 5 failures
		_, err := u.Do(context.Background(), &Request{Path: "/x"})
		var ae *AuthError
		if !errors.As(err, &ae) || ae.Status != 401 || ae.Code != "invalid_client" || ae.Upstream != "test" {
			t.Fatalf("error %v: want an AuthError with the endpoint's 401 and code", err)
		}
		if strings.Contains(err.Error(), testSecret) || strings.Contains(err.Error(), "wrong") {
			t.Fatalf("error %q quotes the token endpoint's body", err)
		}
	}
	if n := len(s.all()); n != 0 {
		t.Errorf("upstream called %d times without a token", n)
	}
	if st := u.BreakerState(); st != "closed" {
		t.Errorf("breaker %s: a token endpoint's failure is not the upstream's", st)
	}
	if ErrorType(func() error { _, err := u.Do(context.Background(), &Request{}); return err }()) != "upstream_auth" {
		t.Error("error.type is not upstream_auth")
	}

	cfg := config(t, server(t, s.handler(http.StatusOK)).URL)
	cfg.Auth = &AuthConfig{Type: AuthClientCredentials, TokenURL: refusedURL(t), ClientID: "gw", ClientSecret: testSecret}
	_, err := newUpstream(t, cfg, Options{}).Do(context.Background(), &Request{})
	var ae *AuthError
	if !errors.As(err, &ae) || ae.Reason != "unreachable" {
		t.Errorf("error %v: want an AuthError saying the token endpoint is unreachable", err)
	}
}

// TestBasicCredentialsNotEchoed: an upstream that quotes the Authorization
// header it refused (as httpbin-like services do) never gets the encoded
// user and password, from auth: basic or the URL's user part, into the
// error's detail or body.
func TestBasicCredentialsNotEchoed(t *testing.T) {
	echo := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "refused " + r.Header.Get("Authorization")})
	}
	srv := server(t, echo)
	withUser := strings.Replace(srv.URL, "http://", "http://svc:"+testSecret+"@", 1)
	for name, cfg := range map[string]Config{
		"auth": func() Config {
			c := config(t, srv.URL)
			c.Auth = &AuthConfig{Type: AuthBasic, Username: "svc", Password: testSecret}
			return c
		}(),
		"userinfo": config(t, withUser),
	} {
		u := newUpstream(t, cfg, Options{})
		_, err := u.Do(context.Background(), &Request{Path: "/x"})
		var serr *StatusError
		if !errors.As(err, &serr) {
			t.Fatalf("%s: error %v, want a StatusError", name, err)
		}
		encoded := base64.StdEncoding.EncodeToString([]byte("svc:" + testSecret))
		if strings.Contains(serr.Detail, encoded) || strings.Contains(string(serr.Body), encoded) || !strings.Contains(serr.Detail, Redacted) {
			t.Errorf("%s: detail %q, body %s: want the credentials REDACTED", name, serr.Detail, serr.Body)
		}
	}
}

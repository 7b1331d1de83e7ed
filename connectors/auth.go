package connectors

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/sync/singleflight"
)

// Types of upstream credential (AuthConfig.Type).
const (
	AuthAPIKey            = "api_key"
	AuthBearer            = "bearer"
	AuthBasic             = "basic"
	AuthClientCredentials = "oauth2_client_credentials"
)

// tokenTimeout bounds one request to a token endpoint when the upstream
// sets no timeout.
const tokenTimeout = 10 * time.Second

// AuthConfig is an upstream's credential, as gateway.yaml's
// `upstreams.<name>.auth` declares it, secrets already taken from the
// environment. It is sent to the upstream's own origin only.
type AuthConfig struct {
	Type string // one of the Auth* constants

	In, Name, Value string // api_key: "query" or "header", the parameter's name, the key
	Token           string // bearer
	Username        string // basic
	Password        string // basic

	// oauth2_client_credentials (RFC 6749, section 4.4); Audience is sent
	// as the extra "audience" parameter that Auth0 and others expect.
	TokenURL, ClientID, ClientSecret string
	Scopes                           []string
	Audience                         string
}

// AuthError is a credential the gateway could not obtain for an upstream:
// its token endpoint refused or was unreachable. The upstream itself was
// not called. The text names the upstream and the token endpoint's status
// and RFC 6749 error code, never its body, the client secret or the URL.
type AuthError struct {
	Upstream string
	Status   int    // the token endpoint's status; 0: no answer
	Code     string // the token endpoint's RFC 6749 error code, if any
	Reason   string // why there was no answer (Status 0)
}

func (e *AuthError) Error() string {
	switch {
	case e.Status != 0 && e.Code != "":
		return fmt.Sprintf("upstream %s: token endpoint answered %d (%s)", e.Upstream, e.Status, e.Code)
	case e.Status != 0:
		return fmt.Sprintf("upstream %s: token endpoint answered %d", e.Upstream, e.Status)
	}
	return fmt.Sprintf("upstream %s: token endpoint: %s", e.Upstream, e.Reason)
}

// credentials put an upstream's configured credential and fixed query on
// requests to its origin.
type credentials struct {
	auth    *AuthConfig
	query   url.Values             // fixed query, the api key's included when in: query
	tokens  *tokenSource           // oauth2_client_credentials only
	secrets []string               // values an upstream's error text must not echo
	token   atomic.Pointer[string] // the access token last sent, also never echoed
}

func newCredentials(cfg Config) *credentials {
	c := &credentials{auth: cfg.Auth, query: url.Values{}}
	for k, vs := range cfg.Query {
		c.query[k] = append([]string(nil), vs...)
		c.secrets = append(c.secrets, vs...)
	}
	for _, vs := range cfg.Headers {
		c.secrets = append(c.secrets, vs...)
	}
	if a := cfg.Auth; a != nil {
		c.secrets = append(c.secrets, a.Value, a.Token, a.Password, a.ClientSecret)
		if a.Type == AuthBasic {
			c.secrets = append(c.secrets, basicValue(a.Username, a.Password))
		}
	}
	if cfg.URL != nil && cfg.URL.User != nil { // sent as basic auth too
		pass, _ := cfg.URL.User.Password()
		c.secrets = append(c.secrets, cfg.URL.User.Username(), pass, basicValue(cfg.URL.User.Username(), pass))
	}
	if a := cfg.Auth; a != nil && a.Type == AuthAPIKey && a.In == "query" {
		c.query.Set(a.Name, a.Value)
	}
	if a := cfg.Auth; a != nil && a.Type == AuthClientCredentials {
		c.tokens = newTokenSource(cfg.Name, a, orDefault(cfg.Timeout, tokenTimeout))
	}
	return c
}

// basicValue is the encoded user and password that basic auth sends: an
// upstream quoting the Authorization header it got would show it.
func basicValue(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}

// apply adds the credential and the fixed query to r, which the caller
// owns. Fixed values replace a step's values of the same name.
func (c *credentials) apply(r *http.Request) error {
	if len(c.query) > 0 {
		q := r.URL.Query()
		for k, vs := range c.query {
			q[k] = vs
		}
		r.URL.RawQuery = q.Encode()
	}
	a := c.auth
	if a == nil {
		return nil
	}
	switch a.Type {
	case AuthAPIKey:
		if a.In != "query" {
			r.Header.Set(a.Name, a.Value)
		}
	case AuthBearer:
		r.Header.Set("Authorization", "Bearer "+a.Token)
	case AuthBasic:
		r.SetBasicAuth(a.Username, a.Password)
	case AuthClientCredentials:
		tok, err := c.tokens.token(r.Context())
		if err != nil {
			return err
		}
		c.token.Store(&tok.AccessToken)
		tok.SetAuthHeader(r)
	}
	return nil
}

// sent reports whether apply changes a request: a fixed query or auth.
func (c *credentials) sent() bool { return len(c.query) > 0 || c.auth != nil }

// redactNames are the query parameters whose values a shown URL hides.
func (c *credentials) redactNames() []string {
	names := make([]string, 0, len(c.query))
	for k := range c.query {
		names = append(names, k)
	}
	return names
}

// scrub hides the credentials in an upstream's error text: a careless
// upstream may echo the key it refused.
func (c *credentials) scrub(s string) string {
	secrets := c.secrets
	if tok := c.token.Load(); tok != nil {
		secrets = append(secrets[:len(secrets):len(secrets)], *tok)
	}
	for _, sec := range secrets {
		if len(sec) >= 4 { // shorter values are not secrets worth a word's loss
			s = strings.ReplaceAll(s, sec, Redacted)
			s = strings.ReplaceAll(s, url.QueryEscape(sec), Redacted)
		}
	}
	return s
}

func (c *credentials) close() {
	if c.tokens != nil {
		c.tokens.client.CloseIdleConnections()
	}
}

// tokenSource gets client-credentials tokens: oauth2's ReuseTokenSource
// keeps the token and fetches a new one 10s before it expires, holding a
// lock while it does; singleflight lets concurrent callers share that one
// fetch, its failure included, and leave when their own context ends.
type tokenSource struct {
	upstream string
	src      oauth2.TokenSource
	client   *http.Client
	flight   singleflight.Group
}

func newTokenSource(upstream string, a *AuthConfig, timeout time.Duration) *tokenSource {
	cc := &clientcredentials.Config{ClientID: a.ClientID, ClientSecret: a.ClientSecret, TokenURL: a.TokenURL, Scopes: a.Scopes}
	if a.Audience != "" {
		cc.EndpointParams = url.Values{"audience": {a.Audience}}
	}
	client := &http.Client{
		Timeout:   timeout,
		Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, TLSHandshakeTimeout: tlsHandshakeTimeout},
		// A token endpoint that redirects is misconfigured: the client
		// secret is never sent anywhere else.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	// The fetches outlive any one call: they use the gateway's context,
	// bounded by the client's timeout.
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, client)
	return &tokenSource{upstream: upstream, src: cc.TokenSource(ctx), client: client}
}

func (s *tokenSource) token(ctx context.Context) (*oauth2.Token, error) {
	ch := s.flight.DoChan("", func() (any, error) { return s.src.Token() })
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, s.authError(r.Err)
		}
		return r.Val.(*oauth2.Token), nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// authError describes a failed fetch without the endpoint's body (which
// may echo the secret) or URL.
func (s *tokenSource) authError(err error) *AuthError {
	e := &AuthError{Upstream: s.upstream, Reason: "no valid token"}
	var re *oauth2.RetrieveError
	var ne net.Error
	var ue *url.Error
	switch {
	case errors.As(err, &re) && re.Response != nil:
		e.Status, e.Code = re.Response.StatusCode, clip(re.ErrorCode)
	case errors.As(err, &ne) && ne.Timeout():
		e.Reason = "timed out"
	case errors.As(err, &ue):
		e.Reason = "unreachable"
	}
	return e
}

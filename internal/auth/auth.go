package auth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/ratelimit"
	"github.com/manifoldgw/manifold/internal/refusal"
	"github.com/manifoldgw/manifold/internal/server"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// Options are an Authenticator's dependencies; zero fields get defaults.
type Options struct {
	Logger *slog.Logger
	// HTTPClient fetches the JWKS and calls the introspection endpoint;
	// nil: a client with a 5s timeout.
	HTTPClient *http.Client
	// Now is the clock for token times (tests); nil: time.Now.
	Now func() time.Time
	// RefetchEvery bounds JWKS refetches for unknown kids
	// (DefaultRefetchEvery).
	RefetchEvery time.Duration
	// JWKSWait bounds how long New waits for the first JWKS
	// (DefaultJWKSWait).
	JWKSWait time.Duration
	// ClientIP returns a request's client address, as the server sees it
	// behind trusted proxies (server.Options.ClientIP); nil: the TCP
	// peer. Failed credentials are counted per address.
	ClientIP func(r *http.Request) string
	// Refusals counts the requests refused by auth.max_failures (nil:
	// uncounted).
	Refusals *refusal.Counts
}

// LimitMaxFailures is the name refusals by auth.max_failures are counted
// under.
const LimitMaxFailures = "auth.max_failures"

// Authenticator identifies callers as gateway.yaml's auth and consumers
// say. It implements server.Authenticator and is safe for concurrent use.
// It is also a server.Surface that mounts nothing: at each reload it
// takes the new plan's auth and consumers (keeping its JWKS cache when
// they did not change), so keys added to gateway.yaml work without a
// restart.
type Authenticator struct {
	opts Options
	mu   sync.Mutex // serialises updates
	cur  atomic.Pointer[state]
	// failures are the refused credentials per client address; they
	// outlive reloads (a bucket belongs to one auth.max_failures rate).
	failures *ratelimit.Failures
	// pending is the state Mount prepared for a Runtime, switched to by
	// Commit (see stage.go); guarded by mu.
	pending *staged
}

// state is the authentication of one gateway configuration.
type state struct {
	fingerprint [sha256.Size]byte
	enabled     bool
	header      string // API key header; "" when API keys are off
	keys        *apiKeys
	jwt         *jwtVerifier
	introspect  *introspector
	rates       map[*pipeline.Identity]*yamlconf.Rate
	maxFailures *yamlconf.Rate // nil: failures are not limited
}

var (
	_ server.Staged          = (*Authenticator)(nil)
	_ server.IdentityChecker = (*Authenticator)(nil)
)

// Enabled reports whether a configures any authentication. Without it
// there is nothing to check: every caller is anonymous.
func Enabled(a gateway.Auth) bool {
	return a.APIKey != nil || a.JWT != nil || a.Introspection != nil
}

// New builds the Authenticator of gateway.yaml's auth and consumers. With
// a JWKS URL it starts the background refresh (Close stops it) and waits
// briefly for the first fetch; an unreachable JWKS is logged, not fatal.
func New(ctx context.Context, cfg gateway.Auth, consumers map[string]*gateway.Consumer, opts Options) (*Authenticator, error) {
	a := &Authenticator{opts: withDefaults(opts)}
	a.failures = ratelimit.NewFailures(0, a.opts.Now)
	st, err := build(ctx, cfg, consumers, nil, a.opts)
	if err != nil {
		return nil, err
	}
	a.cur.Store(st)
	return a, nil
}

// Update switches to cfg and consumers if they differ from the current
// ones. On error nothing changes.
func (a *Authenticator) Update(ctx context.Context, cfg gateway.Auth, consumers map[string]*gateway.Consumer) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	old := a.cur.Load()
	if old != nil && old.fingerprint == fingerprint(cfg, consumers) {
		return nil
	}
	st, err := build(ctx, cfg, consumers, old, a.opts)
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	a.cur.Store(st)
	if old != nil {
		old.close()
	}
	return nil
}

// fingerprint identifies an auth configuration.
func fingerprint(cfg gateway.Auth, consumers map[string]*gateway.Consumer) [sha256.Size]byte {
	b, _ := json.Marshal(struct {
		Auth      gateway.Auth
		Consumers map[string]*gateway.Consumer
	}{cfg, consumers})
	return sha256.Sum256(b)
}

// build makes the state of cfg and consumers. Consumers unchanged since
// prev (nil at start) keep their identities.
func build(ctx context.Context, cfg gateway.Auth, consumers map[string]*gateway.Consumer, prev *state, opts Options) (*state, error) {
	st := &state{fingerprint: fingerprint(cfg, consumers), enabled: Enabled(cfg), rates: map[*pipeline.Identity]*yamlconf.Rate{},
		maxFailures: cfg.MaxFailures}
	if cfg.APIKey != nil {
		var prevKeys *apiKeys
		if prev != nil {
			prevKeys = prev.keys
		}
		keys, err := newAPIKeys(consumers, prevKeys)
		if err != nil {
			return nil, err
		}
		st.header, st.keys = cfg.APIKey.Header, keys
		for _, c := range keys.consumers {
			st.rates[c.id] = c.rate
		}
	}
	if j := cfg.JWT; j != nil {
		v, err := newJWT(ctx, j, opts.HTTPClient, opts)
		if err != nil {
			return nil, err
		}
		st.jwt = v
	}
	if i := cfg.Introspection; i != nil {
		st.introspect = newIntrospector(i, opts.HTTPClient, opts)
	}
	return st, nil
}

func (st *state) close() {
	if st.jwt != nil {
		st.jwt.close()
	}
}

func withDefaults(o Options) Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{
			Timeout: 5 * time.Second,
			// A redirect would re-send a token being introspected, or
			// fetch keys from elsewhere: never follow one.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RefetchEvery <= 0 {
		o.RefetchEvery = DefaultRefetchEvery
	}
	if o.JWKSWait <= 0 {
		o.JWKSWait = DefaultJWKSWait
	}
	if o.ClientIP == nil {
		o.ClientIP = peerIP
	}
	return o
}

// peerIP is the TCP peer's address, without port.
func peerIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Authenticate implements server.Authenticator: nil for a request without
// credentials, the caller for good ones, and a 401 problem (with its
// WWW-Authenticate challenge) for credentials that are present but wrong.
// A client address that presented too many wrong credentials lately
// (auth.max_failures) is answered 429 before its credential is read.
func (a *Authenticator) Authenticate(r *http.Request) (*pipeline.Identity, error) {
	st := a.cur.Load()
	if !st.enabled || !presents(r.Header, st.header) {
		return nil, nil
	}
	if st.maxFailures == nil {
		return a.identify(st, r)
	}
	client := a.opts.ClientIP(r)
	if wait, over := a.failures.Exhausted(st.maxFailures, client); over {
		a.opts.Refusals.Add(LimitMaxFailures)
		return nil, tooManyFailures(st.maxFailures, wait)
	}
	id, err := a.identify(st, r)
	var f *Failure
	if errors.As(err, &f) { // refused (401), not merely unverifiable (503)
		a.failures.Fail(st.maxFailures, client)
	}
	return id, err
}

// presents reports whether h carries a credential header at all.
func presents(h http.Header, apiKeyHeader string) bool {
	return (apiKeyHeader != "" && len(h.Values(apiKeyHeader)) > 0) || len(h.Values("Authorization")) > 0
}

// identify checks the credential of r under st.
func (a *Authenticator) identify(st *state, r *http.Request) (*pipeline.Identity, error) {
	cred, err := Extract(r.Header, st.header)
	if err != nil {
		return nil, a.failed(r, refuse("invalid_request", reasonOf(err), err))
	}
	switch cred.Kind {
	case None:
		return nil, nil
	case APIKey:
		if c := st.keys.lookup(cred.Value); c != nil {
			return c.id, nil
		}
		return nil, a.failed(r, refuse("invalid_token", "the API key is not valid", ErrUnknownKey))
	}
	id, err := st.bearer(r.Context(), cred.Value)
	if err != nil {
		return nil, a.failed(r, err)
	}
	return id, nil
}

// bearer checks an Authorization: Bearer value: a consumer's API key, a
// JWT (three dot-separated parts) when jwt is configured, otherwise an
// opaque token for introspection.
func (st *state) bearer(ctx context.Context, token string) (*pipeline.Identity, error) {
	if st.keys != nil {
		if c := st.keys.lookup(token); c != nil {
			return c.id, nil
		}
	}
	switch {
	case st.jwt != nil && strings.Count(token, ".") == 2:
		return st.jwt.verify(ctx, token)
	case st.introspect != nil:
		return st.introspect.check(ctx, token)
	case st.keys != nil && st.jwt == nil:
		return nil, refuse("invalid_token", "the API key is not valid", ErrUnknownKey)
	}
	return nil, refuse("invalid_token", "the bearer token is not valid", ErrInvalid)
}

// failed logs a refused credential (never the credential) at debug level:
// an attack must not flood the logs.
func (a *Authenticator) failed(r *http.Request, err error) error {
	var f *Failure
	if errors.As(err, &f) {
		a.opts.Logger.Debug("credentials refused", "path", r.URL.Path, "reason", f.Reason)
	} else {
		a.opts.Logger.Warn("credentials could not be checked", "path", r.URL.Path, "err", err)
	}
	return err
}

func reasonOf(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return "malformed credentials: " + msg
}

// Challenge is the WWW-Authenticate value of a 401 for a caller that sent
// no credentials (RFC 6750, section 3).
func (a *Authenticator) Challenge() string { return challenge("", "") }

// ConsumerRate returns the rate limit of the consumer id stands for, or
// nil (no consumer rate, or not a consumer: a token's subject).
func (a *Authenticator) ConsumerRate(id *pipeline.Identity) *yamlconf.Rate {
	if id == nil {
		return nil
	}
	return a.cur.Load().rates[id]
}

// StillValid implements server.IdentityChecker. An API-key identity is
// valid while the plan being served has its consumer with the same key
// and roles; a token identity until its expiry, while its kind of token
// is still configured. Anonymous callers (nil) and identities of other
// authenticators are left alone.
func (a *Authenticator) StillValid(id *pipeline.Identity) bool {
	if id == nil {
		return true
	}
	st := a.cur.Load()
	switch id.Source {
	case pipeline.IdentityKey:
		c := st.keys.byName(id.Name)
		return c != nil && c.id == id
	case pipeline.IdentityJWT:
		return st.jwt != nil && a.unexpired(id)
	case pipeline.IdentityIntrospection:
		return st.introspect != nil && a.unexpired(id)
	}
	return true
}

// unexpired reports whether id's credential has not expired yet.
func (a *Authenticator) unexpired(id *pipeline.Identity) bool {
	return id.Expires.IsZero() || a.opts.Now().Before(id.Expires)
}

// Close stops the JWKS background refresh.
func (a *Authenticator) Close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.dropPending()
	a.cur.Load().close()
}

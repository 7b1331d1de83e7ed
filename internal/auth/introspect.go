package auth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// Introspection cache bounds.
const (
	// MaxIntrospected bounds the tokens whose answers are kept.
	MaxIntrospected      = 10_000
	maxIntrospectionBody = 64 << 10
)

// introspector checks opaque tokens at an RFC 7662 endpoint and keeps the
// answers (active or not) for a short time, keyed by the token's hash.
type introspector struct {
	cfg    *gateway.IntrospectionAuth
	client *http.Client
	now    func() time.Time
	flight singleflight.Group
	cache  *tokenCache
	// slots bounds the introspection requests in flight: anyone can send
	// random tokens, and each unknown one would otherwise cost the
	// authorization server a request.
	slots chan struct{}
}

// MaxIntrospections is how many introspection requests may be in flight
// at once; a token that finds no slot is answered 503 at once.
const MaxIntrospections = 16

func newIntrospector(cfg *gateway.IntrospectionAuth, client *http.Client, opts Options) *introspector {
	return &introspector{cfg: cfg, client: client, now: opts.Now, cache: newTokenCache(opts.Now),
		slots: make(chan struct{}, MaxIntrospections)}
}

// check returns the caller an active token stands for.
func (in *introspector) check(ctx context.Context, token string) (*pipeline.Identity, error) {
	key := sha256.Sum256([]byte(token))
	if e, ok := in.cache.get(key); ok {
		return answer(e)
	}
	v, err, _ := in.flight.Do(string(key[:]), func() (any, error) {
		select {
		case in.slots <- struct{}{}:
			defer func() { <-in.slots }()
		default:
			return nil, errIntrospectionBusy
		}
		e, err := in.ask(ctx, token)
		if err != nil {
			return nil, err
		}
		in.cache.put(key, e)
		return e, nil
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return answer(v.(cached))
}

func answer(e cached) (*pipeline.Identity, error) {
	if e.id == nil {
		return nil, refuse("invalid_token", "the token is not active", ErrInvalid)
	}
	return e.id, nil
}

// introspection is the part of an RFC 7662 answer the gateway reads.
type introspection struct {
	Active   bool   `json:"active"`
	Sub      string `json:"sub"`
	Username string `json:"username"`
	ClientID string `json:"client_id"`
	Exp      int64  `json:"exp"`
}

// ask posts the token to the endpoint (RFC 7662, section 2.1), with the
// gateway's client credentials (RFC 6749, section 2.3.1).
func (in *introspector) ask(ctx context.Context, token string) (cached, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), in.cfg.Timeout.D())
	defer cancel()
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.cfg.URL, strings.NewReader(form.Encode()))
	if err != nil {
		return cached{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if in.cfg.ClientID != "" {
		req.SetBasicAuth(url.QueryEscape(in.cfg.ClientID), url.QueryEscape(in.cfg.ClientSecret))
	}
	resp, err := in.client.Do(req)
	if err != nil {
		return cached{}, fmt.Errorf("introspection: %w", errors.Unwrap(err)) // *url.Error names the URL only
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return cached{}, fmt.Errorf("introspection: status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxIntrospectionBody))
	if err != nil {
		return cached{}, fmt.Errorf("introspection: %w", err)
	}
	var ans introspection
	var claims map[string]any
	if err := json.Unmarshal(body, &ans); err != nil {
		return cached{}, fmt.Errorf("introspection: the answer is not JSON: %w", err)
	}
	_ = json.Unmarshal(body, &claims)
	now := in.now()
	e := cached{until: now.Add(in.cfg.Cache.D())}
	exp := time.Unix(ans.Exp, 0)
	if !ans.Active || (ans.Exp > 0 && !now.Before(exp)) || !in.meantForUs(claims) {
		return e, nil
	}
	if ans.Exp > 0 && exp.Before(e.until) {
		e.until = exp
	}
	name := firstNonEmpty(ans.Sub, ans.Username, ans.ClientID)
	if name == "" {
		return e, nil // active, but for nobody the gateway can name
	}
	e.id = &pipeline.Identity{Name: name, Roles: RolesFromClaims(claims, in.cfg.RolesClaim), Source: pipeline.IdentityIntrospection,
		Claims: claims} // every member of the answer, active included
	if ans.Exp > 0 {
		e.id.Expires = exp
	}
	return e, nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

var errIntrospectionBusy = errors.New("too many token introspections in flight")

// meantForUs checks the answer's aud and iss against the configured ones
// (RFC 7662, section 2.2): an active token for another API is inactive
// here.
func (in *introspector) meantForUs(claims map[string]any) bool {
	if in.cfg.Issuer != "" && claims["iss"] != in.cfg.Issuer {
		return false
	}
	if in.cfg.Audience == "" {
		return true
	}
	switch aud := claims["aud"].(type) {
	case string:
		return aud == in.cfg.Audience
	case []any:
		for _, a := range aud {
			if a == in.cfg.Audience {
				return true
			}
		}
	}
	return false
}

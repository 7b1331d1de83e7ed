package server

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/problem"
)

// Allowed reports whether id may call p: a public pipeline anyone, else a
// caller holding one of its roles. Surfaces use it to list only what a
// caller may call.
func Allowed(p *pipeline.Compiled, id *pipeline.Identity) bool {
	a := p.Access
	if a == nil || a.Public {
		return true
	}
	if id == nil {
		return false
	}
	if len(a.Roles) == 0 {
		return true // any authenticated caller
	}
	for _, r := range id.Roles {
		if slices.Contains(a.Roles, r) {
			return true
		}
	}
	return false
}

// authorize checks the caller's roles, then the rate limits. Rate-limit
// headers for the answer are kept on the call.
func (s *Server) authorize(ctx context.Context, c *Call) error {
	p, id := c.Pipeline, c.Input.Consumer
	if !Allowed(p, id) {
		if id == nil {
			pr := problem.New("unauthorized", http.StatusUnauthorized, "pipeline "+p.Name+" needs an API key or bearer token")
			if ch, ok := s.opts.Auth.(interface{ Challenge() string }); ok {
				c.Header = http.Header{"Www-Authenticate": {ch.Challenge()}}
			}
			return &problem.Error{P: pr}
		}
		pr := problem.New("forbidden", http.StatusForbidden, "consumer "+id.Name+" lacks a role pipeline "+p.Name+" needs")
		return &problem.Error{P: pr}
	}
	if s.opts.Limiter == nil {
		return nil
	}
	h, err := s.opts.Limiter.Allow(ctx, p, id, c.Client)
	c.Header = h
	return err
}

// setChallenge sets WWW-Authenticate from an authentication error that
// carries a challenge (RFC 6750, section 3).
func setChallenge(h http.Header, err error) {
	var ch interface{ WWWAuthenticate() string }
	if errors.As(err, &ch) {
		h.Set("WWW-Authenticate", ch.WWWAuthenticate())
	}
}

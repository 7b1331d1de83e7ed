package auth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/manifoldgw/manifold/internal/problem"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// Realm is the realm of the gateway's WWW-Authenticate challenges.
const Realm = "manifold"

// Sentinel causes of a refused credential, for errors.Is.
var (
	ErrMalformed   = errors.New("malformed credentials")
	ErrUnknownKey  = errors.New("unknown API key")
	ErrInvalid     = errors.New("invalid token")
	ErrUnavailable = errors.New("authentication service unavailable")
	// ErrTooManyFailures: the client address is over auth.max_failures.
	ErrTooManyFailures = errors.New("too many refused credentials")
)

// Failure is why a credential was refused. It carries the RFC 6750
// challenge the answer sends in WWW-Authenticate; its text names what was
// wrong, never the credential.
type Failure struct {
	Code   string // RFC 6750 error code: invalid_request or invalid_token
	Reason string // for the client and the logs
	Err    error
}

func (f *Failure) Error() string {
	if f.Err != nil {
		return f.Reason + ": " + f.Err.Error()
	}
	return f.Reason
}

func (f *Failure) Unwrap() error { return f.Err }

// WWWAuthenticate is the challenge to send with the 401 answer.
func (f *Failure) WWWAuthenticate() string {
	return challenge(f.Code, f.Reason)
}

// challenge formats a Bearer challenge (RFC 6750, section 3).
func challenge(code, description string) string {
	var b strings.Builder
	b.WriteString(`Bearer realm="` + Realm + `"`)
	if code != "" {
		b.WriteString(`, error="` + code + `"`)
	}
	if description != "" {
		// error_description is restricted to %x20-21 / %x23-5B / %x5D-7E.
		clean := strings.Map(func(r rune) rune {
			if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
				return -1
			}
			return r
		}, description)
		b.WriteString(`, error_description="` + clean + `"`)
	}
	return b.String()
}

// refuse returns the error of a 401 answer: the problem, and the failure
// with its challenge as the cause.
func refuse(code, reason string, cause error) error {
	p := problem.New("invalid-credentials", http.StatusUnauthorized, reason)
	return &problem.Error{P: p, Err: &Failure{Code: code, Reason: reason, Err: cause}}
}

// unavailable is the error when a token cannot be checked right now (the
// introspection endpoint is down): the caller's fault is unknown, so 503.
func unavailable(cause error) error {
	p := problem.New("authentication-unavailable", http.StatusServiceUnavailable, "the token cannot be checked right now; retry shortly")
	p.RetryAfter = 5
	return &problem.Error{P: p, Err: errors.Join(ErrUnavailable, cause)}
}

// tooManyFailures is the 429 answer to a client address over its budget
// of refused credentials (auth.max_failures).
func tooManyFailures(limit *yamlconf.Rate, retryAfter int) error {
	p := problem.New("rate-limited", http.StatusTooManyRequests,
		fmt.Sprintf("too many refused credentials from this address: %s allows %s; retry in %ds", LimitMaxFailures, rateText(limit), retryAfter))
	p.RetryAfter = retryAfter
	return &problem.Error{P: p, Err: ErrTooManyFailures}
}

// rateText is r as gateway.yaml wrote it, or as count/period.
func rateText(r *yamlconf.Rate) string {
	if s := r.String(); s != "" {
		return s
	}
	return fmt.Sprintf("%d/%s", r.Count, r.Per)
}

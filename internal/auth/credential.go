package auth

import (
	"fmt"
	"net/http"
	"strings"
)

// Kind is the kind of credential a request presents.
type Kind int

// Kinds of credential.
const (
	None   Kind = iota // nothing presented: an anonymous caller
	APIKey             // in the API key header
	Bearer             // in Authorization: Bearer (an API key or a token)
)

// MaxCredential bounds a credential's length; real keys and tokens are
// far shorter, and a longer one is refused before any hashing or parsing.
const MaxCredential = 16 << 10

// Credential is what a request presents.
type Credential struct {
	Kind  Kind
	Value string
}

// Extract finds the credential of a request: the API key header (when
// apiKeyHeader is not empty) first, then Authorization: Bearer (RFC 6750,
// section 2.1). Several values of one header, another Authorization
// scheme, or a value that is not a token are errors (ErrMalformed):
// guessing which one was meant would let a wrong credential through.
func Extract(h http.Header, apiKeyHeader string) (Credential, error) {
	if apiKeyHeader != "" {
		if vs := h.Values(apiKeyHeader); len(vs) > 0 {
			v, err := single(vs)
			if err != nil {
				return Credential{}, fmt.Errorf("%s: %w", apiKeyHeader, err)
			}
			return Credential{Kind: APIKey, Value: v}, nil
		}
	}
	vs := h.Values("Authorization")
	if len(vs) == 0 {
		return Credential{}, nil
	}
	v, err := single(vs)
	if err != nil {
		return Credential{}, fmt.Errorf("authorization: %w", err)
	}
	scheme, token, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return Credential{}, fmt.Errorf("%w: only the Bearer scheme is accepted", ErrMalformed)
	}
	token = strings.TrimLeft(token, " ")
	if !b64token(token) {
		return Credential{}, fmt.Errorf("%w: the bearer token has characters a token cannot have", ErrMalformed)
	}
	return Credential{Kind: Bearer, Value: token}, nil
}

// single returns the one non-empty value of a header, trimmed.
func single(vs []string) (string, error) {
	if len(vs) > 1 {
		return "", fmt.Errorf("%w: the header is sent more than once", ErrMalformed)
	}
	v := strings.TrimSpace(vs[0])
	switch {
	case v == "":
		return "", fmt.Errorf("%w: the header is empty", ErrMalformed)
	case len(v) > MaxCredential:
		return "", fmt.Errorf("%w: the credential is too long", ErrMalformed)
	case strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r > 0x7e }):
		return "", fmt.Errorf("%w: the credential has control or non-ASCII characters", ErrMalformed)
	}
	return v, nil
}

// b64token reports whether s is an RFC 6750 b64token:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func b64token(s string) bool {
	if s == "" || len(s) > MaxCredential {
		return false
	}
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~+/", c) >= 0) {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

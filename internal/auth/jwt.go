package auth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// Why a token's signature could not be checked, for errors.Is.
var (
	ErrAlgorithm = errors.New("algorithm not accepted")
	ErrNoKey     = errors.New("no key for the token")
)

// maxKeysTried bounds the keys a token without a kid is tried against.
const maxKeysTried = 4

// jwtVerifier checks the JWTs of one issuer.
type jwtVerifier struct {
	issuer, audience string
	algs             map[string]jwa.SignatureAlgorithm
	static           []jwk.Key
	jwks             *jwksSource // nil without jwks_url
	rolesClaim       string
	leeway           time.Duration
	clock            jwt.Clock
	now              func() time.Time
	verified         *tokenCache
}

func newJWT(ctx context.Context, cfg *gateway.JWTAuth, client *http.Client, opts Options) (*jwtVerifier, error) {
	v := &jwtVerifier{
		issuer: cfg.Issuer, audience: cfg.Audience, rolesClaim: cfg.RolesClaim,
		leeway: cfg.Leeway.D(), algs: map[string]jwa.SignatureAlgorithm{},
		clock: jwt.ClockFunc(opts.Now), now: opts.Now, verified: newTokenCache(opts.Now),
	}
	for _, name := range cfg.Algorithms {
		alg, ok := jwa.LookupSignatureAlgorithm(name)
		if !ok || alg == jwa.NoSignature() {
			return nil, fmt.Errorf("jwt: algorithm %q is not accepted", name)
		}
		v.algs[name] = alg
	}
	for i, k := range cfg.Keys {
		key, err := staticKey(k)
		if err != nil {
			return nil, fmt.Errorf("jwt: keys[%d]: %w", i, err)
		}
		v.static = append(v.static, key)
	}
	if cfg.JWKSURL != "" {
		s, err := newJWKS(ctx, cfg.JWKSURL, cfg.JWKSRefresh.D(), client, opts)
		if err != nil {
			return nil, err
		}
		v.jwks = s
	}
	return v, nil
}

// staticKey parses a configured key: an HMAC secret, or a public key in
// PEM or JWK form (a private key is reduced to its public half).
func staticKey(k *gateway.JWTKey) (jwk.Key, error) {
	var key jwk.Key
	var err error
	switch pk := strings.TrimSpace(k.PublicKey); {
	case k.Secret != "":
		key, err = jwk.Import([]byte(k.Secret))
	case strings.HasPrefix(pk, "{"):
		key, err = jwk.ParseKey([]byte(pk))
	default:
		key, err = jwk.ParseKey([]byte(pk), jwk.WithPEM(true))
	}
	if err != nil {
		return nil, fmt.Errorf("cannot parse the key: %w", err)
	}
	if key.KeyType() != jwa.OctetSeq() {
		if key, err = key.PublicKey(); err != nil {
			return nil, fmt.Errorf("cannot take the public key: %w", err)
		}
	}
	if k.KID != "" {
		if err := key.Set(jwk.KeyIDKey, k.KID); err != nil {
			return nil, err
		}
	}
	return key, nil
}

// verify checks a token's signature, issuer, audience, expiry and
// not-before time, and returns the caller it names. A token verified in
// the last minute is recognised by its hash, until it expires.
func (v *jwtVerifier) verify(ctx context.Context, token string) (*pipeline.Identity, error) {
	key := sha256.Sum256([]byte(token))
	if e, ok := v.verified.get(key); ok {
		return e.id, nil
	}
	id, exp, err := v.check(ctx, token)
	if err != nil {
		return nil, err
	}
	until := v.now().Add(verifiedTTL)
	if exp.Before(until) {
		until = exp
	}
	v.verified.put(key, cached{id: id, until: until})
	return id, nil
}

// check verifies a token with jwx and returns its caller and expiry.
func (v *jwtVerifier) check(ctx context.Context, token string) (*pipeline.Identity, time.Time, error) {
	tok, err := jwt.ParseString(token,
		jwt.WithKeyProvider(keyProvider{v}),
		jwt.WithContext(ctx),
		jwt.WithIssuer(v.issuer),
		jwt.WithAudience(v.audience),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithAcceptableSkew(v.leeway),
		jwt.WithClock(v.clock),
	)
	if err != nil {
		return nil, time.Time{}, refuse("invalid_token", jwtReason(err), errors.Join(ErrInvalid, err))
	}
	name, _ := tok.Subject()
	if name == "" {
		return nil, time.Time{}, refuse("invalid_token", "the token names no subject (sub)", ErrInvalid)
	}
	exp, _ := tok.Expiration()
	roles := rolesAt(func(claim string) (any, bool) {
		var val any
		if !tok.Has(claim) || tok.Get(claim, &val) != nil {
			return nil, false
		}
		return val, true
	}, v.rolesClaim)
	claims, err := tokenClaims(token)
	if err != nil {
		return nil, time.Time{}, refuse("invalid_token", "the token's claims cannot be read", errors.Join(ErrInvalid, err))
	}
	return &pipeline.Identity{Name: name, Roles: roles, Source: pipeline.IdentityJWT, Expires: exp, Claims: claims}, exp, nil
}

// tokenClaims are the claims of a token verified just before: its payload
// as signed, decoded as JSON values (numeric dates stay numbers, aud stays
// a string or an array as written).
func tokenClaims(token string) (map[string]any, error) {
	msg, err := jws.ParseString(token)
	if err != nil {
		return nil, fmt.Errorf("parse claims: %w", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(msg.Payload(), &claims); err != nil {
		return nil, fmt.Errorf("decode claims: %w", err)
	}
	return claims, nil
}

// jwtReason says what was wrong with a token, in words a client can act on.
func jwtReason(err error) string {
	switch {
	case errors.Is(err, jwt.TokenExpiredError()):
		return "the token has expired"
	case errors.Is(err, jwt.TokenNotYetValidError()):
		return "the token is not valid yet (nbf)"
	case errors.Is(err, jwt.InvalidAudienceError()):
		return "the token is not meant for this gateway (aud)"
	case errors.Is(err, jwt.InvalidIssuerError()):
		return "the token is from another issuer (iss)"
	case errors.Is(err, jwt.MissingRequiredClaimError()):
		return "the token has no expiry (exp)"
	case errors.Is(err, ErrAlgorithm):
		return "the token's algorithm is not accepted"
	case errors.Is(err, ErrNoKey):
		return "the token is signed with an unknown key"
	case errors.Is(err, jwt.InvalidIssuedAtError()):
		return "the token is issued in the future (iat)"
	}
	return "the token is not a valid signed JWT"
}

// keyProvider gives jwx the keys a token may be verified with: only for an
// accepted algorithm, and only keys of that algorithm's type, so an RSA
// public key can never serve as an HMAC secret.
type keyProvider struct{ v *jwtVerifier }

// FetchKeys implements jws.KeyProvider.
func (p keyProvider) FetchKeys(ctx context.Context, sink jws.KeySink, sig *jws.Signature, _ *jws.Message) error {
	h := sig.ProtectedHeaders()
	alg, ok := h.Algorithm()
	if !ok {
		return ErrAlgorithm
	}
	pinned, ok := p.v.algs[alg.String()]
	if !ok {
		return fmt.Errorf("%w: %s", ErrAlgorithm, alg.String())
	}
	kid, _ := h.KeyID()
	n := 0
	for _, k := range p.v.candidates(ctx, kid) {
		if n == maxKeysTried {
			break
		}
		if fits(pinned, k) {
			sink.Key(pinned, k)
			n++
		}
	}
	if n == 0 {
		return ErrNoKey
	}
	return nil
}

// candidates are the keys named kid (static first), or every key when the
// token names none. A JWKS is public: a symmetric (oct) key served there
// is a secret anyone can read, so it never verifies anything; HMAC
// secrets come only from the static keys (the environment).
func (v *jwtVerifier) candidates(ctx context.Context, kid string) []jwk.Key {
	var out []jwk.Key
	for _, k := range v.static {
		if id, _ := k.KeyID(); kid == "" || id == kid {
			out = append(out, k)
		}
	}
	if v.jwks == nil {
		return out
	}
	if kid == "" {
		if set := v.jwks.set(); set != nil {
			for i := range min(set.Len(), maxKeysTried) {
				if k, _ := set.Key(i); asymmetric(k) {
					out = append(out, k)
				}
			}
		}
		return out
	}
	if len(out) > 0 {
		return out
	}
	if k, ok := v.jwks.lookup(ctx, kid); ok && asymmetric(k) {
		out = append(out, k)
	}
	return out
}

// asymmetric reports whether k is a public key, not a shared secret.
func asymmetric(k jwk.Key) bool {
	return k != nil && k.KeyType() != jwa.OctetSeq()
}

// fits reports whether key k may verify a signature of alg: its type must
// be alg's family, and a key that declares its own alg must declare alg.
func fits(alg jwa.SignatureAlgorithm, k jwk.Key) bool {
	if ka, ok := k.Algorithm(); ok && ka.String() != alg.String() {
		return false
	}
	if use, ok := k.KeyUsage(); ok && use != "sig" {
		return false
	}
	name, kt := alg.String(), k.KeyType()
	switch {
	case strings.HasPrefix(name, "HS"):
		return kt == jwa.OctetSeq()
	case strings.HasPrefix(name, "RS"), strings.HasPrefix(name, "PS"):
		return kt == jwa.RSA()
	case strings.HasPrefix(name, "ES"):
		return kt == jwa.EC()
	case name == "EdDSA":
		return kt == jwa.OKP()
	}
	return false
}

func (v *jwtVerifier) close() {
	if v.jwks != nil {
		v.jwks.close()
	}
}

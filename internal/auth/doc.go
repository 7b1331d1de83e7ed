// Package auth identifies the callers of the gateway from gateway.yaml's
// `auth` and `consumers`: API keys (X-API-Key or Authorization: Bearer,
// stored only as SHA-256 hashes and compared in constant time), JWT bearer
// tokens verified with lestrrat-go/jwx (a JWKS URL cached and refreshed in
// the background, and static keys; the algorithm pinned, iss, aud, exp and
// nbf checked), and opaque tokens checked by OAuth 2.0 token introspection
// (RFC 7662) with a short cache.
//
// Authenticator implements server.Authenticator: no credentials make an
// anonymous caller (nil Identity), wrong ones a 401 problem with a
// WWW-Authenticate challenge (RFC 6750). Roles come from the consumer, or
// from a configurable claim of the token; the server enforces them.
//
// Every Identity carries its Source (key, jwt, introspection) and, for
// tokens, its expiry; StillValid tells streams whether an identity still
// holds after a reload. A client address that presented more refused
// credentials than auth.max_failures allows is answered 429 before its
// next credential is read: no JWT parsing, no introspection request.
// Keys of a JWKS are public keys only: a JWKS oct key never verifies.
//
// Nothing here logs or returns a credential: errors name what was wrong
// (expired, wrong audience, unknown key), never the value, and URLs are
// logged without their user part.
package auth

package gateway

import (
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"

	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// MaxFollowRedirects bounds an upstream's follow_redirects.
const MaxFollowRedirects = 10

// authFields are the keys each auth type takes, besides type.
var authFields = map[string][]string{
	"api_key":                   {"in", "name", "value"},
	"bearer":                    {"token"},
	"basic":                     {"username", "password"},
	"oauth2_client_credentials": {"token_url", "client_id", "client_secret", "scopes", "audience"},
}

// authSecrets are the keys whose values must come from the environment.
var authSecrets = map[string]bool{"value": true, "token": true, "password": true, "client_secret": true}

// validateUpstreamExtras checks an upstream's credential, fixed query,
// redirects and format. fromEnv holds the keys written as one ${NAME}.
func (l *loader) validateUpstreamExtras(d *yamlconf.Doc, name string, u *Upstream, fromEnv map[string]bool) {
	key := "upstreams." + name
	at := func(keys ...string) ast.Node {
		keys = append([]string{"upstreams", name}, keys...)
		for len(keys) > 1 {
			if v, _ := yamlconf.Lookup(d.Body, keys...); v != nil {
				return v
			}
			keys = keys[:len(keys)-1]
		}
		return nil
	}
	bad := func(k, format string, args ...any) {
		l.Errorf(d.File, at(strings.Split(k, ".")...), key+"."+k, format, args...)
	}
	switch u.Format {
	case "json", "xml", "text":
		if u.Format != "json" && u.Kind == "graphql" {
			bad("format", "a graphql upstream answers json")
		}
	default:
		bad("format", "%q: want json, xml or text", u.Format)
	}
	if u.FollowRedirects < 0 || u.FollowRedirects > MaxFollowRedirects {
		bad("follow_redirects", "want 0 to %d, got %d", MaxFollowRedirects, u.FollowRedirects)
	}
	if len(u.RedirectHosts) > 0 && u.FollowRedirects == 0 {
		bad("redirect_hosts", "has no effect without follow_redirects")
	}
	for _, h := range u.RedirectHosts {
		if !validHost(h) {
			bad("redirect_hosts", "%q: want a host name or host:port, without scheme or path", h)
		}
	}
	for q := range u.Query {
		if q == "" || strings.ContainsAny(q, "\r\n") {
			bad("query", "query parameter names must be non-empty and must not contain CR or LF")
		}
	}
	if u.Auth != nil {
		l.validateAuth(u, fromEnv, key, bad)
	}
}

func (l *loader) validateAuth(u *Upstream, fromEnv map[string]bool, key string, bad func(k, format string, args ...any)) {
	a := u.Auth
	fields := authFields[a.Type]
	if fields == nil {
		bad("auth.type", "%q: want api_key, bearer, basic or oauth2_client_credentials", a.Type)
		return
	}
	set := authValues(a)
	for _, k := range []string{"in", "name", "value", "token", "username", "password", "token_url", "client_id", "client_secret", "scopes", "audience"} {
		if set[k] != "" && !slices.Contains(fields, k) {
			bad("auth."+k, "is not used by type %s (it takes %s)", a.Type, strings.Join(fields, ", "))
		}
	}
	for _, k := range fields {
		required := k != "scopes" && k != "audience"
		switch {
		case required && set[k] == "":
			bad("auth."+k, "is required by type %s", a.Type)
		case authSecrets[k] && !fromEnv[key+".auth."+k]:
			bad("auth."+k, `a secret comes from the environment only: write "${NAME}" and set NAME, never the value`)
		}
	}
	l.checkAuthConflicts(u, bad)
}

// checkAuthConflicts refuses two sources for one credential.
func (l *loader) checkAuthConflicts(u *Upstream, bad func(k, format string, args ...any)) {
	a := u.Auth
	if parsed, err := url.Parse(u.URL); err == nil && parsed.User != nil {
		bad("auth", "url has a user part too: give the credential once")
	}
	header := "Authorization"
	switch a.Type {
	case "api_key":
		if a.In != "header" && a.In != "query" {
			bad("auth.in", "%q: want header or query", a.In)
		}
		if a.In == "query" {
			if _, dup := u.Query[a.Name]; dup {
				bad("auth.name", "query parameter %q is also in query", a.Name)
			}
			return
		}
		if !validHeaderName(a.Name) {
			bad("auth.name", "%q is not a header name", a.Name)
		}
		header = a.Name
	case "oauth2_client_credentials":
		if t, err := url.Parse(a.TokenURL); a.TokenURL != "" && (err != nil || (t.Scheme != "http" && t.Scheme != "https") || t.Host == "" || t.User != nil) {
			bad("auth.token_url", "want an absolute http(s) URL without a user part")
		}
	}
	for h := range u.Headers {
		if strings.EqualFold(h, header) {
			bad("headers", "%s is also set by auth: give the credential once", h)
		}
	}
}

// authValues are a's values by key, "" when not set; scopes joined.
func authValues(a *UpstreamAuth) map[string]string {
	return map[string]string{
		"in": a.In, "name": a.Name, "value": a.Value, "token": a.Token, "username": a.Username,
		"password": a.Password, "token_url": a.TokenURL, "client_id": a.ClientID,
		"client_secret": a.ClientSecret, "scopes": strings.Join(a.Scopes, " "), "audience": a.Audience,
	}
}

// validHost reports whether h is a host name or IP, with an optional port.
func validHost(h string) bool {
	if h == "" || strings.ContainsAny(h, "/?#@ \t\r\n") || strings.Contains(h, "://") {
		return false
	}
	if host, port, err := net.SplitHostPort(h); err == nil {
		return host != "" && isPort(port)
	}
	return !strings.Contains(h, ":") || net.ParseIP(h) != nil
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > 0x7e || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}
